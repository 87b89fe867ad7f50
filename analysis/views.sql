-- Views over the results store (results/schema.sql) for the report and for ad-hoc queries.
-- They are TEMP views: they live in the connection only, so the results database is never
-- modified and a read-only connection can use them:
--   sqlite3 -readonly results/meki.db -cmd '.read analysis/views.sql' \
--           'SELECT experiment, variant, n, val_loss_mean, val_loss_std FROM variant_summary'
-- Only finished runs (status = 'done') are counted, except in run_failures.
-- A run belongs to every experiment listed in run_experiments, so one configuration
-- shared by two experiments appears under both.

DROP VIEW IF EXISTS temp.run_membership;
DROP VIEW IF EXISTS temp.run_config;
DROP VIEW IF EXISTS temp.run_metrics;
DROP VIEW IF EXISTS temp.preset_sizes;
DROP VIEW IF EXISTS temp.run_figures;
DROP VIEW IF EXISTS temp.variant_summary;
DROP VIEW IF EXISTS temp.curve_summary;
DROP VIEW IF EXISTS temp.lens_kl;
DROP VIEW IF EXISTS temp.lens_kl_summary;
DROP VIEW IF EXISTS temp.dtype_figures;
DROP VIEW IF EXISTS temp.dtype_summary;
DROP VIEW IF EXISTS temp.run_failures;

-- Every (run, experiment, variant): run_experiments, plus the experiment that first ran
-- the run in case an older writer did not link it.
CREATE TEMP VIEW run_membership AS
SELECT hash, experiment, variant FROM run_experiments
UNION ALL
SELECT r.hash, r.experiment, r.variant FROM runs r
WHERE NOT EXISTS (SELECT 1 FROM run_experiments e WHERE e.hash = r.hash AND e.experiment = r.experiment);

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
       coalesce(json_extract(j, '$.measure.table_dtypes'), json_extract(j, '$."bench.table_dtypes"')) AS table_dtypes
FROM (SELECT r.*, j, coalesce(json_extract(j, '$.model.memory'), json_extract(j, '$."memory.kind"'),
                             json_extract(j, '$.memory.kind'), 'none') AS kind
      FROM (SELECT runs.*, CASE WHEN json_valid(config_json) THEN config_json ELSE '{}' END AS j FROM runs) r);

-- One row per run, a column per metric the report uses (NULL when not measured).
CREATE TEMP VIEW run_metrics AS
SELECT hash,
       max(CASE name WHEN 'val_loss' THEN value END) AS val_loss,
       max(CASE name WHEN 'val_ppl' THEN value END) AS val_ppl,
       max(CASE name WHEN 'train_loss' THEN value END) AS train_loss,
       max(CASE name WHEN 'cloze_acc' THEN value END) AS cloze_acc,
       max(CASE name WHEN 'choice_acc' THEN value END) AS choice_acc,
       max(CASE name WHEN 'choice_acc_norm' THEN value END) AS choice_acc_norm,
       max(CASE name WHEN 'train_tok_s' THEN value END) AS train_tok_s,
       max(CASE name WHEN 'mfu' THEN value END) AS mfu,
       max(CASE name WHEN 'ram_params' THEN value END) AS ram_params,
       max(CASE name WHEN 'rom_weights' THEN value END) AS rom_weights,
       max(CASE name WHEN 'train_flops_per_token' THEN value END) AS train_flops_per_token,
       max(CASE name WHEN 'inference_flops_per_token' THEN value END) AS inference_flops_per_token,
       max(CASE name WHEN 'dense_decode_tok_s' THEN value END) AS dense_decode_tok_s,
       max(CASE name WHEN 'folded_decode_tok_s' THEN value END) AS folded_decode_tok_s,
       max(CASE name WHEN 'unfolded_decode_tok_s' THEN value END) AS unfolded_decode_tok_s,
       max(CASE name WHEN 'folded_over_dense' THEN value END) AS folded_over_dense,
       max(CASE name WHEN 'unfolded_over_dense' THEN value END) AS unfolded_over_dense,
       max(CASE name WHEN 'prefill_tok_s' THEN value END) AS prefill_tok_s,
       max(CASE name WHEN 'peak_rss_bytes' THEN value END) AS peak_rss_bytes,
       max(CASE name WHEN 'table_resident_bytes' THEN value END) AS table_resident_bytes,
       max(CASE name WHEN 'cold_prefetch_decode_tok_s' THEN value END) AS cold_prefetch_decode_tok_s
FROM metrics GROUP BY hash;

-- The preset a variant label names ("model.preset=small ..."), or NULL.
-- Experiments that fix the preset in [model] do not name it in their labels; the model
-- sizes that some other label names lend them its name (see run_figures.scale).
CREATE TEMP VIEW preset_sizes AS
SELECT c.d_model, c.n_layers, min(substr(m.rest, 1, instr(m.rest || ' ', ' ') - 1)) AS preset
FROM (SELECT hash, replace(substr(variant, instr(variant, 'model.preset=') + 13), ',', ' ') AS rest
      FROM run_membership WHERE instr(variant, 'model.preset=') > 0) m
JOIN run_config c ON c.hash = m.hash
GROUP BY c.d_model, c.n_layers;

-- The pivot: one row per (experiment, finished run). scale is the model preset named by the
-- variant label, else by the config, else by another run of the same size, else
-- "d<width> L<layers>".
-- zero_shot_avg averages the two task accuracies (the 4-way choice length-normalised, as
-- lm-evaluation-harness reports HellaSwag), like the paper's average over its tasks.
CREATE TEMP VIEW run_figures AS
SELECT m.experiment, m.variant, c.hash, c.seed, c.git_revision, c.host, c.threads,
       coalesce(CASE WHEN instr(m.variant, 'model.preset=') > 0
                     THEN substr(m.rest, 1, instr(m.rest || ' ', ' ') - 1) END,
                c.config_preset,
                (SELECT p.preset FROM preset_sizes p WHERE p.d_model = c.d_model AND p.n_layers = c.n_layers),
                'd' || coalesce(c.d_model, '?') || ' L' || coalesce(c.n_layers, '?')) AS scale,
       c.d_model, c.n_layers, c.memory_kind, c.d_mem, c.meki_memory, c.meki_position, c.meki_fusion,
       c.meki_projector, c.meki_layers, c.table_dtypes,
       x.val_loss, x.val_ppl, x.train_loss, x.cloze_acc, x.choice_acc, x.choice_acc_norm,
       CASE WHEN x.cloze_acc IS NOT NULL AND coalesce(x.choice_acc_norm, x.choice_acc) IS NOT NULL
            THEN (x.cloze_acc + coalesce(x.choice_acc_norm, x.choice_acc)) / 2 END AS zero_shot_avg,
       x.train_tok_s, x.mfu, x.ram_params, x.rom_weights, x.train_flops_per_token,
       x.inference_flops_per_token, x.dense_decode_tok_s, x.folded_decode_tok_s,
       x.unfolded_decode_tok_s, x.folded_over_dense, x.unfolded_over_dense, x.prefill_tok_s,
       x.peak_rss_bytes, x.table_resident_bytes, x.cold_prefetch_decode_tok_s
FROM (SELECT hash, experiment, variant,
             replace(substr(variant, instr(variant, 'model.preset=') + 13), ',', ' ') AS rest
      FROM run_membership) m
JOIN run_config c ON c.hash = m.hash AND c.status = 'done'
LEFT JOIN run_metrics x ON x.hash = m.hash;

-- Per (experiment, variant): runs, then mean and sample standard deviation over seeds of
-- each figure (std NULL below two measured runs). The std takes deviations from the
-- group mean (two passes) rather than E[x^2] - E[x]^2, which cancels badly for losses.
CREATE TEMP VIEW variant_summary AS
SELECT f.experiment, f.variant, count(*) AS n,
       min(f.scale) AS scale, min(f.d_model) AS d_model, min(f.n_layers) AS n_layers,
       min(f.memory_kind) AS memory_kind, min(f.d_mem) AS d_mem, min(f.meki_memory) AS meki_memory,
       min(f.meki_position) AS meki_position, min(f.meki_fusion) AS meki_fusion,
       min(f.meki_projector) AS meki_projector, min(f.meki_layers) AS meki_layers,
       avg(f.ram_params) AS ram_params, avg(f.rom_weights) AS rom_weights,
       avg(f.peak_rss_bytes) AS peak_rss_bytes,
       avg(f.val_loss) AS val_loss_mean,
       CASE WHEN count(f.val_loss) > 1 THEN sqrt(sum((f.val_loss - g.val_loss) * (f.val_loss - g.val_loss)) / (count(f.val_loss) - 1)) END AS val_loss_std,
       avg(f.val_ppl) AS val_ppl_mean,
       CASE WHEN count(f.val_ppl) > 1 THEN sqrt(sum((f.val_ppl - g.val_ppl) * (f.val_ppl - g.val_ppl)) / (count(f.val_ppl) - 1)) END AS val_ppl_std,
       avg(f.train_loss) AS train_loss_mean,
       CASE WHEN count(f.train_loss) > 1 THEN sqrt(sum((f.train_loss - g.train_loss) * (f.train_loss - g.train_loss)) / (count(f.train_loss) - 1)) END AS train_loss_std,
       avg(f.cloze_acc) AS cloze_acc_mean,
       CASE WHEN count(f.cloze_acc) > 1 THEN sqrt(sum((f.cloze_acc - g.cloze_acc) * (f.cloze_acc - g.cloze_acc)) / (count(f.cloze_acc) - 1)) END AS cloze_acc_std,
       avg(f.choice_acc) AS choice_acc_mean,
       CASE WHEN count(f.choice_acc) > 1 THEN sqrt(sum((f.choice_acc - g.choice_acc) * (f.choice_acc - g.choice_acc)) / (count(f.choice_acc) - 1)) END AS choice_acc_std,
       avg(f.choice_acc_norm) AS choice_acc_norm_mean,
       CASE WHEN count(f.choice_acc_norm) > 1 THEN sqrt(sum((f.choice_acc_norm - g.choice_acc_norm) * (f.choice_acc_norm - g.choice_acc_norm)) / (count(f.choice_acc_norm) - 1)) END AS choice_acc_norm_std,
       avg(f.zero_shot_avg) AS zero_shot_avg_mean,
       CASE WHEN count(f.zero_shot_avg) > 1 THEN sqrt(sum((f.zero_shot_avg - g.zero_shot_avg) * (f.zero_shot_avg - g.zero_shot_avg)) / (count(f.zero_shot_avg) - 1)) END AS zero_shot_avg_std,
       avg(f.train_tok_s) AS train_tok_s_mean,
       CASE WHEN count(f.train_tok_s) > 1 THEN sqrt(sum((f.train_tok_s - g.train_tok_s) * (f.train_tok_s - g.train_tok_s)) / (count(f.train_tok_s) - 1)) END AS train_tok_s_std,
       avg(f.mfu) AS mfu_mean,
       CASE WHEN count(f.mfu) > 1 THEN sqrt(sum((f.mfu - g.mfu) * (f.mfu - g.mfu)) / (count(f.mfu) - 1)) END AS mfu_std,
       avg(f.dense_decode_tok_s) AS dense_decode_tok_s_mean,
       CASE WHEN count(f.dense_decode_tok_s) > 1 THEN sqrt(sum((f.dense_decode_tok_s - g.dense_decode_tok_s) * (f.dense_decode_tok_s - g.dense_decode_tok_s)) / (count(f.dense_decode_tok_s) - 1)) END AS dense_decode_tok_s_std,
       avg(f.folded_decode_tok_s) AS folded_decode_tok_s_mean,
       CASE WHEN count(f.folded_decode_tok_s) > 1 THEN sqrt(sum((f.folded_decode_tok_s - g.folded_decode_tok_s) * (f.folded_decode_tok_s - g.folded_decode_tok_s)) / (count(f.folded_decode_tok_s) - 1)) END AS folded_decode_tok_s_std,
       avg(f.unfolded_decode_tok_s) AS unfolded_decode_tok_s_mean,
       CASE WHEN count(f.unfolded_decode_tok_s) > 1 THEN sqrt(sum((f.unfolded_decode_tok_s - g.unfolded_decode_tok_s) * (f.unfolded_decode_tok_s - g.unfolded_decode_tok_s)) / (count(f.unfolded_decode_tok_s) - 1)) END AS unfolded_decode_tok_s_std,
       avg(f.folded_over_dense) AS folded_over_dense_mean,
       CASE WHEN count(f.folded_over_dense) > 1 THEN sqrt(sum((f.folded_over_dense - g.folded_over_dense) * (f.folded_over_dense - g.folded_over_dense)) / (count(f.folded_over_dense) - 1)) END AS folded_over_dense_std,
       avg(f.unfolded_over_dense) AS unfolded_over_dense_mean,
       CASE WHEN count(f.unfolded_over_dense) > 1 THEN sqrt(sum((f.unfolded_over_dense - g.unfolded_over_dense) * (f.unfolded_over_dense - g.unfolded_over_dense)) / (count(f.unfolded_over_dense) - 1)) END AS unfolded_over_dense_std,
       avg(f.prefill_tok_s) AS prefill_tok_s_mean,
       CASE WHEN count(f.prefill_tok_s) > 1 THEN sqrt(sum((f.prefill_tok_s - g.prefill_tok_s) * (f.prefill_tok_s - g.prefill_tok_s)) / (count(f.prefill_tok_s) - 1)) END AS prefill_tok_s_std
FROM run_figures f
JOIN (SELECT experiment, variant,
             avg(val_loss) AS val_loss,
             avg(val_ppl) AS val_ppl,
             avg(train_loss) AS train_loss,
             avg(cloze_acc) AS cloze_acc,
             avg(choice_acc) AS choice_acc,
             avg(choice_acc_norm) AS choice_acc_norm,
             avg(zero_shot_avg) AS zero_shot_avg,
             avg(train_tok_s) AS train_tok_s,
             avg(mfu) AS mfu,
             avg(dense_decode_tok_s) AS dense_decode_tok_s,
             avg(folded_decode_tok_s) AS folded_decode_tok_s,
             avg(unfolded_decode_tok_s) AS unfolded_decode_tok_s,
             avg(folded_over_dense) AS folded_over_dense,
             avg(unfolded_over_dense) AS unfolded_over_dense,
             avg(prefill_tok_s) AS prefill_tok_s
      FROM run_figures GROUP BY experiment, variant) g
  ON g.experiment = f.experiment AND g.variant = f.variant
GROUP BY f.experiment, f.variant;

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

-- Logit lens (Fig. 7): one row per (experiment, run, layer) from the lens_kl_<layer> metrics.
CREATE TEMP VIEW lens_kl AS
SELECT f.experiment, f.variant, f.hash, f.scale, f.memory_kind,
       CAST(substr(m.name, 9) AS INTEGER) AS layer, m.value AS kl
FROM run_figures f
JOIN metrics m ON m.hash = f.hash AND m.name LIKE 'lens\_kl\_%' ESCAPE '\'
WHERE m.value IS NOT NULL;

CREATE TEMP VIEW lens_kl_summary AS
SELECT l.experiment, l.variant, l.layer, min(l.memory_kind) AS memory_kind, count(*) AS n,
       avg(l.kl) AS kl_mean,
       CASE WHEN count(*) > 1 THEN sqrt(sum((l.kl - g.mean) * (l.kl - g.mean)) / (count(*) - 1)) END AS kl_std
FROM lens_kl l
JOIN (SELECT experiment, variant, layer, avg(kl) AS mean FROM lens_kl GROUP BY experiment, variant, layer) g
  ON g.experiment = l.experiment AND g.variant = l.variant AND g.layer = l.layer
GROUP BY l.experiment, l.variant, l.layer;

-- Folded bundles per ROM-table dtype: perplexity, bytes on disk, decode speed, and the
-- perplexity change against the same run's f32 table. Decode speed is the per-dtype metric
-- folded_decode_tok_s_<dtype> when recorded; else the run's folded_decode_tok_s, which the
-- sweep measures through the f32 table (runner/measure.c), or through the one dtype of a
-- run that benchmarked a single dtype.
CREATE TEMP VIEW dtype_figures AS
WITH dtypes(dtype, position) AS (VALUES ('f32', 0), ('f16', 1), ('bf16', 2), ('q8_0', 3), ('q4_0', 4), ('q8', 5), ('q4', 6)),
     cells AS (
       SELECT f.experiment, f.variant, f.hash, d.dtype, d.position,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'bundle_val_ppl_' || d.dtype) AS bundle_val_ppl,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'rom_bytes_' || d.dtype) AS rom_bytes,
              coalesce((SELECT value FROM metrics WHERE hash = f.hash AND name = 'folded_decode_tok_s_' || d.dtype),
                       CASE WHEN f.table_dtypes = d.dtype OR (d.dtype = 'f32' AND f.table_dtypes LIKE '%,%')
                            THEN f.folded_decode_tok_s END) AS decode_tok_s,
              (SELECT value FROM metrics WHERE hash = f.hash AND name = 'bundle_val_ppl_f32') AS f32_ppl
       FROM run_figures f CROSS JOIN dtypes d)
SELECT experiment, variant, hash, dtype, position, bundle_val_ppl, rom_bytes, decode_tok_s,
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

-- Runs that did not finish well, with the reason, for the report's header.
CREATE TEMP VIEW run_failures AS
SELECT m.experiment, m.variant, r.hash, r.seed, r.status, coalesce(r.error, '') AS error, r.started_at
FROM run_membership m JOIN runs r ON r.hash = m.hash
WHERE r.status IN ('failed', 'diverged');
