#include "bench/measure.h"
#include "kernels/gemm.h"
#include "train/checkpoint.h"
#include "bench/decode_bench.h"
#include "bench/decode_processes.h"
#include "train/eval.h"
#include "data/dataset.h"
#include "deploy/fold.h"
#include "infer/engine.h"
#include "kernels/wquant.h"
#include "models/memory.h"
#include "train/record.h"
#include "train/train.h"
#include "train/zeroshot.h"
#include "util/error.h"
#include "util/fileio.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const int TASK_ITEMS = 400;

static int downstream(const RunSettings *s, const char *data_dir, Model *m, const TokenFile *val,
                      MetricList *out) {
    DownstreamResult x = {0};
    int rc = evaluate_downstream(m, data_dir, val, s->eval.zero_shot, ZERO_SHOT_ALL, s->eval.logit_lens, TASK_ITEMS, &x);
    for (int k = 0; !rc && s->eval.zero_shot && k < ZERO_SHOT_TASKS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_acc", ZERO_SHOT_TASK[k].name);
        metrics_add(out, name, x.task[k].accuracy, "fraction");
        if (ZERO_SHOT_TASK[k].norm) {
            snprintf(name, sizeof name, "%s_acc_norm", ZERO_SHOT_TASK[k].name);
            metrics_add(out, name, x.task[k].accuracy_norm, "fraction");
        }
        snprintf(name, sizeof name, "%s_items", ZERO_SHOT_TASK[k].name);
        metrics_add(out, name, x.task[k].count, "items");
        /* each item's correctness, for intervals with items as the unit (runner/store.h) */
        for (int i = 0; i < x.task[k].n_items; i++)
            if (x.task[k].items[i] >= 0) {
                snprintf(name, sizeof name, "%s%s:%d", METRIC_ITEM_PREFIX, ZERO_SHOT_TASK[k].name, i);
                metrics_add(out, name, x.task[k].items[i], "item");
            }
    }
    if (!rc && s->eval.logit_lens)
        for (int r = 0; r < LENS_READINGS; r++)
            for (int l = 0; l < m->cfg.n_layers; l++) {
                char name[64];
                lens_metric_name(name, sizeof name, r, l);
                metrics_add(out, name, x.kl[r][l], "nats");
            }
    downstream_free(&x);
    return rc;
}

static int dtype_list(unsigned mask, TableDtype *out) {
    int n = 0;
    for (int d = TABLE_F32; d <= TABLE_Q4; d++)
        if (mask & (1u << d)) out[n++] = (TableDtype)d;
    return n;
}

/* The suffix of a weights dtype's metrics: none for f32, whose names predate
 * [bench] weights_dtypes (old databases and the report read them), else "_weights_q8_0". */
static void weights_suffix(char *out, size_t size, int weights) {
    if (weights == WEIGHTS_F32) out[0] = 0;
    else snprintf(out, size, "_weights_%s", weights_dtype_name((WeightsDtype)weights));
}

/* The held-out loss of the bundle through one table dtype, with the RAM weights rounded
 * through a weights dtype (what a decode in it computes; f32: unchanged), over the windows
 * the run's own val_loss scored (train_final_tokens, spread): comparable to it, and as
 * cheap on a large held-out split as the final evaluation. */
static int bundle_loss(const RunSettings *s, const char *bundle, TableDtype table, int weights,
                       const TokenFile *val, double *loss) {
    Model m;
    int rc = bundle_load(&m, bundle, table);
    if (rc) return rc;
    long cap = train_final_tokens(&s->train, val->count - 1);
    if (!(rc = model_roundtrip_weights(&m, weights)))
        *loss = evaluate_loss_spread(&m, val->ids, val->count, 8, m.cfg.seq_len, cap, NULL);
    model_free(&m);
    return rc;
}

/* Folds into dir/bundle, then the held-out perplexity through each table dtype (f32 RAM
 * weights), and through the f32 table with each other weights dtype. */
static int bundles(const RunSettings *s, const Model *trained, const TokenFile *val, const char *bundle,
                   MetricList *out) {
    TableDtype dtypes[5];
    int n = dtype_list(s->bench.table_dtypes, dtypes), rc;
    Model folded;
    if ((rc = model_fold(trained, &folded))) return rc;
    rc = bundle_write(&folded, bundle, dtypes, n);
    model_free(&folded);
    for (int i = 0; i < n && !rc; i++) {
        char name[64], path[4400];
        double loss;
        if ((rc = bundle_loss(s, bundle, dtypes[i], WEIGHTS_F32, val, &loss))) break;
        bundle_table_path(path, sizeof path, bundle, dtypes[i]);
        snprintf(name, sizeof name, "bundle_val_loss_%s", table_dtype_name(dtypes[i]));
        metrics_add(out, name, loss, "nats");
        snprintf(name, sizeof name, "bundle_val_ppl_%s", table_dtype_name(dtypes[i]));
        metrics_add(out, name, exp(loss), "ppl");
        snprintf(name, sizeof name, "rom_bytes_%s", table_dtype_name(dtypes[i]));
        metrics_add(out, name, (double)file_size(path), "bytes");
    }
    for (int w = WEIGHTS_F32 + 1; w <= WEIGHTS_Q8_0 && !rc; w++) {
        if (!(s->bench.weights_dtypes & (1u << w))) continue;
        char name[64], suffix[32];
        double loss;
        if ((rc = bundle_loss(s, bundle, TABLE_F32, w, val, &loss))) break;
        weights_suffix(suffix, sizeof suffix, w);
        snprintf(name, sizeof name, "bundle_val_loss%s", suffix);
        metrics_add(out, name, loss, "nats");
        snprintf(name, sizeof name, "bundle_val_ppl%s", suffix);
        metrics_add(out, name, exp(loss), "ppl");
    }
    return rc;
}

/* The folded bundle against its dense twin, decoding with one weights dtype and one table
 * dtype. f32 and f32 measure everything, the unfolded checkpoint and the cold table
 * included; another weights dtype (f32 table) the figures it changes: speed and the RAM
 * weights' bytes; another table dtype (f32 weights) the speeds, suffixed _table_<dtype>. */
/* Paired rounds per decode measurement: the most bench decode allows. A tiny model decodes
 * its 32 tokens in about a millisecond, so one round's ratio moves by 5-10% (quiet,
 * 2026-12-07); with 5 rounds Table 1's three runs read 0.970, 1.031, 1.046, too spread to
 * place against its 0.95 bound. A round costs milliseconds at tiny, about 0.4 s at large. */
enum { DECODE_REPEATS = DECODE_BENCH_MAX_REPEATS };
/* Copies of each model, on their own pages, visited in turn: eight calls of one binary on
 * one tiny bundle gave folded / dense 0.896-1.042 (2026-12-07), each call steady within
 * itself: the spread is each process's page placement, which the copies average over. */
enum { DECODE_PLACEMENTS = 8 };
/* Fresh processes whose median gives the speed figures: with 8 placements a call still moves
 * by about +-3% (tiny, 10 calls 0.966-1.033, 2026-12-07), so Table 1's three runs read
 * 0.996, 0.981, 0.941 measured in the sweep's own process. The process is the sample. */
enum { DECODE_PROCESSES = 5 };

static double min_of(const double *x, int n) {
    double m = x[0];
    for (int i = 1; i < n; i++) m = x[i] < m ? x[i] : m;
    return m;
}

static double max_of(const double *x, int n) {
    double m = x[0];
    for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static int decode_speed(const RunSettings *s, const char *dir, const char *bundle, int weights,
                        TableDtype table, MetricList *out) {
    int half = s->model.seq_len / 2, f32 = weights == WEIGHTS_F32 && table == TABLE_F32;
    DecodeBenchOptions o = {
        .bundle = bundle, .checkpoint = f32 ? dir : NULL, .dtype = table,
        .context = half, .tokens = s->bench.decode_tokens < half ? s->bench.decode_tokens : half,
        .repeats = DECODE_REPEATS, .warmup = 1, .placements = DECODE_PLACEMENTS, .chunk = 64, .cold = f32 && s->bench.cold, .seed = 1, .weights_dtype = weights,
    };
    DecodeBenchResult r;
    char name[80], suffix[32];
    kernels_set_threads(1);   /* decoding is matrix-vector work: one thread, as bench decode */
    int rc = decode_bench_run(&o, &r);
    if (rc) return rc;
    const VariantFigures *dense = &r.v[VARIANT_DENSE], *folded = &r.v[VARIANT_FOLDED];
    const VariantFigures *unfolded = &r.v[VARIANT_UNFOLDED];
    /* the speeds of the sweep's own process, unless fresh ones can be started (main sets the
       executable; a test binary has none) */
    DecodeProcessFigures p = {.processes = 1, .over_dense = {folded->over_dense}, .median_over_dense = folded->over_dense,
                              .dense_tok_s = dense->decode_tok_s, .folded_tok_s = folded->decode_tok_s,
                              .dense_cpu_tok_s = dense->decode_cpu_tok_s, .folded_cpu_tok_s = folded->decode_cpu_tok_s};
    if (decode_processes_executable()) {
        DecodeBenchOptions warm = o;
        warm.checkpoint = NULL;
        warm.cold = 0;
        if ((rc = decode_in_processes(&warm, DECODE_PROCESSES, &p))) return rc;
    }
    weights_suffix(suffix, sizeof suffix, weights);
    if (table != TABLE_F32) snprintf(suffix, sizeof suffix, "_table_%s", table_dtype_name(table));
#define ADD(base, value, unit) (snprintf(name, sizeof name, "%s%s", base, suffix), metrics_add(out, name, value, unit))
    ADD("dense_decode_tok_s", p.dense_tok_s, "tok/s");
    ADD("folded_decode_tok_s", p.folded_tok_s, "tok/s");
    ADD("folded_over_dense", p.median_over_dense, "ratio");
    /* per CPU second too: wall time on a shared machine counts other processes' turns */
    ADD("dense_decode_cpu_tok_s", p.dense_cpu_tok_s, "tok/s");
    ADD("folded_decode_cpu_tok_s", p.folded_cpu_tok_s, "tok/s");
    /* the spread over processes, beside the median: how far one process's figure can be */
    ADD("folded_over_dense_low", min_of(p.over_dense, p.processes), "ratio");
    ADD("folded_over_dense_high", max_of(p.over_dense, p.processes), "ratio");
    if (table == TABLE_F32) {
        ADD("dense_ram_weights_bytes", (double)r.dense_ram_weights_bytes, "bytes");
        ADD("folded_ram_weights_bytes", (double)r.folded_ram_weights_bytes, "bytes");
    }
#undef ADD
    if (!f32) return OK;
    metrics_add(out, "decode_processes", p.processes, "processes");
    metrics_add(out, "dense_prefill_tok_s", dense->prefill_tok_s, "tok/s");
    metrics_add(out, "prefill_tok_s", folded->prefill_tok_s, "tok/s");
    if (unfolded->measured) {
        metrics_add(out, "unfolded_decode_tok_s", unfolded->decode_tok_s, "tok/s");
        metrics_add(out, "unfolded_over_dense", unfolded->over_dense, "ratio");
    }
    if (s->bench.cold && r.v[VARIANT_COLD_FOLDED].measured) {
        metrics_add(out, "cold_prefetch_decode_tok_s", r.v[VARIANT_COLD_FOLDED].decode_tok_s, "tok/s");
        metrics_add(out, "cold_over_warm", r.v[VARIANT_COLD_FOLDED].over_warm, "ratio");
    }
    metrics_add(out, "peak_rss_bytes", (double)r.peak_rss_bytes, "bytes");
    metrics_add(out, "deploy_peak_rss_bytes", (double)r.deploy_peak_rss_bytes, "bytes");
    metrics_add(out, "deploy_private_bytes", (double)r.deployed.private_bytes, "bytes");
    metrics_add(out, "deploy_file_bytes", (double)r.deployed.file_bytes, "bytes");
    metrics_add(out, "deploy_table_mapped_bytes", (double)r.deployed.table_bytes, "bytes");
    metrics_add(out, "table_resident_bytes", (double)r.table_resident_bytes, "bytes");
    metrics_add(out, "rom_bytes", (double)r.rom_bytes, "bytes");
    return OK;
}

int measure_run(const RunSettings *s, const char *data_dir, const char *dir, int threads, MetricList *m) {
    char bundle[4400];
    TokenFile val;
    int rc = dataset_open_split(data_dir, "val", 0, &val);
    if (rc) return rc;
    kernels_set_threads(threads);
    const MemoryOps *ops = memory_ops(s->model.memory);
    int foldable = ops && ops->fold, wants_bundle = foldable && s->bench.table_dtypes;
    if (s->eval.zero_shot || s->eval.logit_lens || wants_bundle) {   /* the checkpoint, read once */
        Model trained;
        TrainState state;
        char checked[4096];   /* the run's own data: the tokenizer it was trained with */
        if ((rc = checkpoint_load(&trained, dir, 0, &state))) {
            token_file_close(&val);
            return rc;
        }
        if ((rc = record_data_dir(trained.record, data_dir, data_dir, checked, sizeof checked))) {
            model_free(&trained);
            token_file_close(&val);
            return rc;
        }
        if (s->eval.zero_shot || s->eval.logit_lens) rc = downstream(s, data_dir, &trained, &val, m);
        snprintf(bundle, sizeof bundle, "%s/bundle", dir);
        if (!rc && wants_bundle) rc = bundles(s, &trained, &val, bundle, m);
        model_free(&trained);
    }
    int decodes = wants_bundle && s->bench.decode_tokens > 0;
    for (int w = WEIGHTS_F32; w <= WEIGHTS_Q8_0 && !rc && decodes; w++)
        if (w == WEIGHTS_F32 || (s->bench.weights_dtypes & (1u << w)))
            rc = decode_speed(s, dir, bundle, w, TABLE_F32, m);
    for (int t = TABLE_F32 + 1; t < TABLE_DTYPE_COUNT && !rc && decodes; t++)   /* parity per table dtype */
        if (s->bench.table_dtypes & (1u << t)) rc = decode_speed(s, dir, bundle, WEIGHTS_F32, (TableDtype)t, m);
    kernels_set_threads(threads);
    token_file_close(&val);
    return rc;
}
