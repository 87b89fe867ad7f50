-- Views over the results store (results/schema.sql) for the report and for ad-hoc queries.
-- They are TEMP views: they live in the connection only, so the results database is never
-- modified and a read-only connection can use them:
--   sqlite3 -readonly results/meki.db -cmd '.read analysis/views.sql' \
--           "SELECT experiment, variant, n, mean, std FROM variant_values WHERE name = 'val_loss'"
-- Metrics are read by name from the metrics table: a metric the runner records shows in
-- run_values and variant_values with nothing to add here.
-- Only finished runs (status = 'done') are counted, except in run_failures.
-- A run belongs to every experiment listed in run_experiments, so one configuration
-- shared by two experiments appears under both.

DROP VIEW IF EXISTS temp.run_membership;
DROP VIEW IF EXISTS temp.run_config;
DROP VIEW IF EXISTS temp.preset_sizes;
DROP VIEW IF EXISTS temp.run_figures;
DROP VIEW IF EXISTS temp.run_states;
DROP VIEW IF EXISTS temp.run_values;
DROP VIEW IF EXISTS temp.variant_summary;
DROP VIEW IF EXISTS temp.variant_values;
DROP VIEW IF EXISTS temp.curve_summary;
DROP VIEW IF EXISTS temp.lens_kl;
DROP VIEW IF EXISTS temp.lens_kl_summary;
DROP VIEW IF EXISTS temp.dtype_figures;
DROP VIEW IF EXISTS temp.dtype_summary;
DROP VIEW IF EXISTS temp.weights_figures;
DROP VIEW IF EXISTS temp.parity_figures;
DROP VIEW IF EXISTS temp.run_failures;

-- Every (run, experiment, variant): run_experiments, plus the experiment that first ran
-- the run in case an older writer did not link it. corpus names the run's corpus from its
-- identity ("bible", or "files:" and the first 8 hex digits of the content hash). An
-- experiment whose runs span more than one corpus gets the corpus in its variant labels,
-- so that no table, curve or verdict pools runs of two corpora.
CREATE TEMP VIEW run_membership AS
WITH m AS (SELECT hash, experiment, variant FROM run_experiments
           UNION ALL
           SELECT r.hash, r.experiment, r.variant FROM runs r
           WHERE NOT EXISTS (SELECT 1 FROM run_experiments e WHERE e.hash = r.hash AND e.experiment = r.experiment)),
     c AS (SELECT hash, CASE WHEN NOT json_valid(config_json) THEN 'unknown'
                             WHEN coalesce(json_extract(config_json, '$.corpus'), 'bible') = 'bible' THEN 'bible'
                             ELSE json_extract(config_json, '$.corpus') || ':' ||
                                  substr(coalesce(json_extract(config_json, '$.corpus_hash'), '?'), 1, 8) END AS corpus
           FROM runs),
     n AS (SELECT m.experiment, count(DISTINCT c.corpus) AS corpora FROM m JOIN c ON c.hash = m.hash GROUP BY m.experiment)
SELECT m.hash, m.experiment,
       CASE WHEN n.corpora > 1 THEN m.variant || ' corpus=' || c.corpus ELSE m.variant END AS variant, c.corpus
FROM m JOIN c ON c.hash = m.hash JOIN n ON n.experiment = m.experiment;

-- The attributes the tables group by, read from the canonical config. The runner writes
-- nested keys ({"model": {"d_model": .., "memory": "meki", "meki": {"d_mem": ..}}});
-- flat "section.key" spellings are read too, and a malformed config reads as empty.
-- A MeKi run missing a MeKi key gets the documented default (DESIGN.md).
CREATE TEMP VIEW run_config AS
SELECT hash, status, seed, git_revision, host, threads, environment, error, started_at, finished_at,
       CAST(coalesce(json_extract(j, '$.model.d_model'), json_extract(j, '$."model.d_model"')) AS INTEGER) AS d_model,
       CAST(coalesce(json_extract(j, '$.model.n_layers'), json_extract(j, '$."model.n_layers"')) AS INTEGER) AS n_layers,
       coalesce(json_extract(j, '$.model.preset'), json_extract(j, '$."model.preset"')) AS config_preset,
       kind AS memory_kind,
       CASE WHEN kind = 'meki' THEN CAST(coalesce(json_extract(j, '$.model.meki.d_mem'), json_extract(j, '$."meki.d_mem"')) AS INTEGER) END AS d_mem,
       CASE WHEN kind = 'meki' THEN coalesce(json_extract(j, '$.model.meki.memory'), json_extract(j, '$."meki.memory"'), 'both') END AS meki_memory,
       CASE WHEN kind = 'meki' THEN coalesce(json_extract(j, '$.model.meki.position'), json_extract(j, '$."meki.position"'), 'parallel_ffn') END AS meki_position,
       CASE WHEN kind = 'meki' THEN coalesce(json_extract(j, '$.model.meki.fusion'), json_extract(j, '$."meki.fusion"'), 'add_sigmoid') END AS meki_fusion,
       CASE WHEN kind = 'meki' THEN coalesce(json_extract(j, '$.model.meki.projector'), json_extract(j, '$."meki.projector"'), 'swiglu') END AS meki_projector,
       CASE WHEN kind = 'meki' THEN CAST(coalesce(json_extract(j, '$.model.meki.layers'), json_extract(j, '$."meki.layers"'), 'all') AS TEXT) END AS meki_layers,
       coalesce(json_extract(j, '$.measure.table_dtypes'), json_extract(j, '$."bench.table_dtypes"')) AS table_dtypes,
       CAST(json_extract(j, '$.train.tokens') AS INTEGER) AS train_tokens,
       -- the training recipe (issue 15): the harness's (keys absent: their defaults, q/k norm
       -- on) or the reference's (Megatron: decay on every matrix, std 0.014 scaled, no q/k norm)
       CASE WHEN coalesce(json_extract(j, '$.train.weight_decay_embeddings'), 0) = 0
                 AND coalesce(json_extract(j, '$.train.init_std'), 0.02) = 0.02
                 AND coalesce(json_extract(j, '$.train.scaled_init'), 0) = 0
                 AND coalesce(json_extract(j, '$.model.qk_norm'), 'on') IN ('on', 1) THEN 'harness'
            WHEN json_extract(j, '$.train.weight_decay_embeddings') = 1
                 AND json_extract(j, '$.train.init_std') = 0.014
                 AND json_extract(j, '$.train.scaled_init') = 1
                 AND json_extract(j, '$.model.qk_norm') IN ('off', 0) THEN 'reference'
            ELSE 'other' END AS recipe
FROM (SELECT r.*, j, coalesce(json_extract(j, '$.model.memory'), json_extract(j, '$."memory.kind"'),
                             json_extract(j, '$.memory.kind'), 'none') AS kind
      FROM (SELECT runs.*, CASE WHEN json_valid(config_json) THEN config_json ELSE '{}' END AS j FROM runs) r);

-- The preset a variant label names ("model.preset=small ..."), or NULL.
-- Experiments that fix the preset in [model] do not name it in their labels; the model
-- sizes that some other label names lend them its name (see run_figures.scale).
CREATE TEMP VIEW preset_sizes AS
SELECT c.d_model, c.n_layers, min(substr(m.rest, 1, instr(m.rest || ' ', ' ') - 1)) AS preset
FROM (SELECT hash, replace(substr(variant, instr(variant, 'model.preset=') + 13), ',', ' ') AS rest
      FROM run_membership WHERE instr(variant, 'model.preset=') > 0) m
JOIN run_config c ON c.hash = m.hash
GROUP BY c.d_model, c.n_layers;

-- One row per (experiment, run of any status) with the attributes the tables group by and
-- its status: the report counts failed, diverged and unfinished runs per comparison from it. scale is
-- the model preset named by the variant label, else by the config, else by another run of
-- the same size, else "d<width> L<layers>". meki_layers is the placement as the variant
-- wrote it ("last:1"), else the config's resolved layer list ("1").
CREATE TEMP VIEW run_states AS
SELECT m.experiment, m.variant, m.corpus, c.hash, c.status, c.seed, c.git_revision, c.host, c.threads,
       coalesce(CASE WHEN instr(m.variant, 'model.preset=') > 0
                     THEN substr(m.rest, 1, instr(m.rest || ' ', ' ') - 1) END,
                c.config_preset,
                (SELECT p.preset FROM preset_sizes p WHERE p.d_model = c.d_model AND p.n_layers = c.n_layers),
                'd' || coalesce(c.d_model, '?') || ' L' || coalesce(c.n_layers, '?')) AS scale,
       c.d_model, c.n_layers, c.memory_kind, c.d_mem, c.meki_memory, c.meki_position, c.meki_fusion,
       c.meki_projector,
       CASE WHEN c.memory_kind = 'meki' AND instr(' ' || m.variant, ' meki.layers=') > 0
            THEN substr(m.layers_rest, 1, instr(m.layers_rest || ' ', ' ') - 1) ELSE c.meki_layers END AS meki_layers,
       c.table_dtypes, c.train_tokens, c.recipe
FROM (SELECT hash, experiment, variant, corpus,
             replace(substr(variant, instr(variant, 'model.preset=') + 13), ',', ' ') AS rest,
             substr(' ' || variant, instr(' ' || variant, ' meki.layers=') + 13) AS layers_rest
      FROM run_membership) m
JOIN run_config c ON c.hash = m.hash;

-- The finished runs: every figure and verdict reads these.
CREATE TEMP VIEW run_figures AS SELECT * FROM run_states WHERE status = 'done';

-- The long form: one row per (experiment, finished run, measured metric), with the run's
-- attributes to filter on. zero_shot_avg is derived here, the one figure not recorded as
-- such: the mean of the two task accuracies (the 4-way choice length-normalised, as
-- lm-evaluation-harness reports HellaSwag), like the paper's average over its tasks.
CREATE TEMP VIEW run_values AS
SELECT f.*, m.name, m.value, m.unit
FROM run_figures f JOIN metrics m ON m.hash = f.hash
WHERE m.value IS NOT NULL
UNION ALL
SELECT f.*, 'zero_shot_avg', (c.value + coalesce(cn.value, ch.value)) / 2, 'fraction'
FROM run_figures f
JOIN metrics c ON c.hash = f.hash AND c.name = 'cloze_acc'
LEFT JOIN metrics cn ON cn.hash = f.hash AND cn.name = 'choice_acc_norm'
LEFT JOIN metrics ch ON ch.hash = f.hash AND ch.name = 'choice_acc'
WHERE c.value IS NOT NULL AND coalesce(cn.value, ch.value) IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM metrics z WHERE z.hash = f.hash AND z.name = 'zero_shot_avg');

-- Per (experiment, variant): finished runs and the attributes they share.
CREATE TEMP VIEW variant_summary AS
SELECT experiment, variant, count(*) AS n, min(corpus) AS corpus,
       min(scale) AS scale, min(d_model) AS d_model, min(n_layers) AS n_layers,
       min(memory_kind) AS memory_kind, min(d_mem) AS d_mem, min(meki_memory) AS meki_memory,
       min(meki_position) AS meki_position, min(meki_fusion) AS meki_fusion,
       min(meki_projector) AS meki_projector, min(meki_layers) AS meki_layers,
       min(train_tokens) AS train_tokens
FROM run_figures GROUP BY experiment, variant;

-- Per (experiment, variant, metric): the runs that measured it, their mean and sample
-- standard deviation over seeds (std NULL below two). The std takes deviations from the
-- group mean (two passes) rather than E[x^2] - E[x]^2, which cancels badly for losses.
CREATE TEMP VIEW variant_values AS
SELECT v.experiment, v.variant, v.name, min(v.unit) AS unit, count(*) AS n, avg(v.value) AS mean,
       CASE WHEN count(*) > 1 THEN sqrt(sum((v.value - g.mean) * (v.value - g.mean)) / (count(*) - 1)) END AS std
FROM run_values v
JOIN (SELECT experiment, variant, name, avg(value) AS mean FROM run_values GROUP BY experiment, variant, name) g
  ON g.experiment = v.experiment AND g.variant = v.variant AND g.name = v.name
GROUP BY v.experiment, v.variant, v.name;

-- Validation-loss curves: mean and std over seeds at each step that validated.
CREATE TEMP VIEW curve_summary AS
SELECT p.experiment, p.variant, p.step, avg(p.tokens) AS tokens, count(*) AS n,
       avg(p.val_loss) AS val_loss_mean,
       CASE WHEN count(*) > 1 THEN sqrt(sum((p.val_loss - g.mean) * (p.val_loss - g.mean)) / (count(*) - 1)) END
           AS val_loss_std,
       avg(p.train_loss) AS train_loss_mean
FROM (SELECT m.experiment, m.variant, c.*
      FROM run_membership m
      JOIN runs r ON r.hash = m.hash AND r.status = 'done'
      JOIN curves c ON c.hash = m.hash
      WHERE c.val_loss IS NOT NULL) p
JOIN (SELECT m.experiment, m.variant, c.step, avg(c.val_loss) AS mean
      FROM run_membership m
      JOIN runs r ON r.hash = m.hash AND r.status = 'done'
      JOIN curves c ON c.hash = m.hash
      WHERE c.val_loss IS NOT NULL
      GROUP BY m.experiment, m.variant, c.step) g
  ON g.experiment = p.experiment AND g.variant = p.variant AND g.step = p.step
GROUP BY p.experiment, p.variant, p.step;

-- Logit lens (Fig. 7): one row per (experiment, run, reading, layer) from the metrics
-- lens_kl_<layer> (reading after_block, the first definition) and lens_kl_<reading>_<layer>
-- (train/zeroshot.c LENS_READING names the readings).
CREATE TEMP VIEW lens_kl AS
SELECT f.experiment, f.variant, f.hash, f.seed, f.scale, f.memory_kind,
       CASE WHEN rtrim(substr(m.name, 9), '0123456789') = '' THEN 'after_block'
            ELSE rtrim(rtrim(substr(m.name, 9), '0123456789'), '_') END AS reading,
       CAST(substr(m.name, 9 + length(rtrim(substr(m.name, 9), '0123456789'))) AS INTEGER) AS layer,
       m.value AS kl
FROM run_figures f
JOIN metrics m ON m.hash = f.hash AND m.name LIKE 'lens\_kl\_%' ESCAPE '\'
WHERE m.value IS NOT NULL AND m.name GLOB '*[0-9]';

CREATE TEMP VIEW lens_kl_summary AS
SELECT l.experiment, l.variant, l.reading, l.layer, min(l.memory_kind) AS memory_kind, count(*) AS n,
       avg(l.kl) AS kl_mean,
       CASE WHEN count(*) > 1 THEN sqrt(sum((l.kl - g.mean) * (l.kl - g.mean)) / (count(*) - 1)) END AS kl_std
FROM lens_kl l
JOIN (SELECT experiment, variant, reading, layer, avg(kl) AS mean FROM lens_kl GROUP BY experiment, variant, reading, layer) g
  ON g.experiment = l.experiment AND g.variant = l.variant AND g.reading = l.reading AND g.layer = l.layer
GROUP BY l.experiment, l.variant, l.reading, l.layer;

-- Folded bundles per ROM-table dtype: perplexity, bytes on disk, decode speed, and the
-- perplexity change against the same run's f32 table. Decode speed is the per-dtype metric
-- folded_decode_tok_s_<dtype> when recorded; else the run's folded_decode_tok_s, which the
-- sweep measures through the f32 table (bench/measure.c), or through the one dtype of a
-- run that benchmarked a single dtype.
CREATE TEMP VIEW dtype_figures AS
WITH dtypes(dtype, position) AS (VALUES ('f32', 0), ('f16', 1), ('bf16', 2), ('q8_0', 3), ('q4_0', 4), ('q8', 5), ('q4', 6)),
     cells AS (
       SELECT f.experiment, f.variant, f.hash, f.seed, d.dtype, d.position,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'bundle_val_ppl_' || d.dtype) AS bundle_val_ppl,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'rom_bytes_' || d.dtype) AS rom_bytes,
              coalesce((SELECT value FROM metrics WHERE hash = f.hash AND name = 'folded_decode_tok_s_' || d.dtype),
                       CASE WHEN f.table_dtypes = d.dtype OR (d.dtype = 'f32' AND f.table_dtypes LIKE '%,%')
                            THEN (SELECT value FROM metrics WHERE hash = f.hash AND name = 'folded_decode_tok_s') END)
                  AS decode_tok_s,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'bundle_val_ppl_f32') AS f32_ppl
       FROM run_figures f CROSS JOIN dtypes d)
SELECT experiment, variant, hash, seed, dtype, position, bundle_val_ppl, rom_bytes, decode_tok_s,
       bundle_val_ppl / f32_ppl - 1 AS ppl_change
FROM cells
WHERE bundle_val_ppl IS NOT NULL OR rom_bytes IS NOT NULL OR decode_tok_s IS NOT NULL;

CREATE TEMP VIEW dtype_summary AS
SELECT d.experiment, d.dtype, min(d.position) AS position, count(*) AS n,
       avg(d.rom_bytes) AS rom_bytes,
       avg(d.bundle_val_ppl) AS ppl_mean,
       CASE WHEN count(d.bundle_val_ppl) > 1 THEN sqrt(sum((d.bundle_val_ppl - g.ppl) * (d.bundle_val_ppl - g.ppl))
                                                    / (count(d.bundle_val_ppl) - 1)) END AS ppl_std,
       avg(d.ppl_change) AS ppl_change_mean,
       avg(d.decode_tok_s) AS decode_tok_s_mean,
       CASE WHEN count(d.decode_tok_s) > 1 THEN sqrt(sum((d.decode_tok_s - g.tok_s) * (d.decode_tok_s - g.tok_s))
                                                   / (count(d.decode_tok_s) - 1)) END AS decode_tok_s_std
FROM dtype_figures d
JOIN (SELECT experiment, dtype, avg(bundle_val_ppl) AS ppl, avg(decode_tok_s) AS tok_s
      FROM dtype_figures GROUP BY experiment, dtype) g
  ON g.experiment = d.experiment AND g.dtype = d.dtype
GROUP BY d.experiment, d.dtype;

-- Runs measured with [bench] weights_dtypes (issue 18), one row per RAM weights dtype of
-- the decode: f32's figures are the metrics without a suffix, another dtype's end in
-- _weights_<dtype> (bench/measure.c); the perplexity is the f32 table's. The speed ratio
-- and the perplexity change are per run, against the same run's f32 weights.
CREATE TEMP VIEW weights_figures AS
WITH dtypes(dtype, position, suffix) AS (VALUES ('f32', 0, ''), ('bf16', 1, '_weights_bf16'), ('q8_0', 2, '_weights_q8_0')),
     cells AS (
       SELECT f.experiment, f.variant, f.hash, f.seed, d.dtype, d.position,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'folded_decode_tok_s' || d.suffix) AS folded_tok_s,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'dense_decode_tok_s' || d.suffix) AS dense_tok_s,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'folded_ram_weights_bytes' || d.suffix) AS ram_bytes,
              (SELECT value FROM metrics WHERE hash = f.hash
                 AND name = CASE WHEN d.suffix = '' THEN 'bundle_val_ppl_f32' ELSE 'bundle_val_ppl' || d.suffix END) AS ppl,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'folded_decode_tok_s') AS f32_tok_s,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'bundle_val_ppl_f32') AS f32_ppl
       FROM run_figures f CROSS JOIN dtypes d
       WHERE f.hash IN (SELECT hash FROM metrics WHERE name GLOB '*_weights_bf16' OR name GLOB '*_weights_q8_0'))
SELECT experiment, variant, hash, seed, dtype, position, folded_tok_s, dense_tok_s, ram_bytes, ppl,
       folded_tok_s / f32_tok_s AS tok_s_ratio, ppl / f32_ppl - 1 AS ppl_change
FROM cells
WHERE folded_tok_s IS NOT NULL OR ppl IS NOT NULL;

-- Decode parity (issue 24): folded / dense decode speed of each run, paired and interleaved
-- in one benchmark, per RAM weights dtype (f32 table) and per table dtype (f32 weights):
-- bench/measure.c's folded_over_dense with its suffix. position orders the combinations.
CREATE TEMP VIEW parity_figures AS
WITH combos(combo, position, suffix) AS (VALUES
       ('weights f32, table f32', 0, ''), ('weights bf16, table f32', 1, '_weights_bf16'),
       ('weights q8_0, table f32', 2, '_weights_q8_0'), ('weights f32, table f16', 3, '_table_f16'),
       ('weights f32, table bf16', 4, '_table_bf16'), ('weights f32, table q8_0', 5, '_table_q8_0'),
       ('weights f32, table q4_0', 6, '_table_q4_0'))
SELECT f.experiment, f.scale, f.d_model, f.n_layers, f.hash, f.seed, c.combo, c.position, m.value AS ratio
FROM run_figures f CROSS JOIN combos c
JOIN metrics m ON m.hash = f.hash AND m.name = 'folded_over_dense' || c.suffix
WHERE m.value IS NOT NULL;

-- Runs that did not finish well, with the reason, for the report's header.
CREATE TEMP VIEW run_failures AS
SELECT m.experiment, m.variant, r.hash, r.seed, r.status, coalesce(r.error, '') AS error, r.started_at
FROM run_membership m JOIN runs r ON r.hash = m.hash
WHERE r.status IN ('failed', 'diverged');
