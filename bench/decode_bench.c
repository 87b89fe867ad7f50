#include "bench/decode_bench.h"
#include "util/progress.h"
#include "data/tokens.h"
#include "kernels/wquant.h"
#include "train/checkpoint.h"
#include "infer/engine.h"
#include "deploy/fold.h"
#include "infer/sampler.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/sysmem.h"
#include "util/timer.h"
#include "models/memory.h"
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *const VARIANT_NAMES[VARIANT_COUNT] = {
    "dense", "unfolded", "folded", "folded_noprefetch", "cold_folded", "cold_thread_folded",
    "cold_noprefetch_folded", "cold_topk_folded",
};

const char *decode_variant_name(DecodeVariant v) {
    return v >= 0 && v < VARIANT_COUNT ? VARIANT_NAMES[v] : "?";
}

/* ---- process figures ------------------------------------------------------------- */


/* ---- one timed run ---------------------------------------------------------------- */

typedef struct {
    double prefill_seconds, decode_seconds, decode_cpu_seconds;
    PageFaults decode_faults, prefill_faults;
} RunTimes;

static PageFaults faults_since(PageFaults start) {
    PageFaults now = page_faults();
    return (PageFaults){now.minor - start.minor, now.major - start.major};
}

/* Prefill stream[0..context), then decode the next `tokens` one by one. Cold runs evict the
 * table before each phase, so both start from storage. Returns a checksum of the argmaxes
 * so the work cannot be optimised away. */
static long run_once(Engine *e, const int32_t *stream, int context, int tokens, int cold,
                     RunTimes *out) {
    int V = e->model->cfg.vocab_size;
    long sink = 0;
    if (cold) engine_table_evict(e);
    PageFaults f = page_faults();
    double start = now_seconds();
    const float *logits = engine_prefill(e, stream, context, 0);
    out->prefill_seconds = now_seconds() - start;
    out->prefill_faults = faults_since(f);
    sink += sample_argmax(logits, V);
    if (cold) engine_table_evict(e);
    f = page_faults();
    double cpu_start = cpu_seconds();
    start = now_seconds();
    for (int i = 0; i < tokens; i++) {
        logits = engine_forward(e, stream[context + i], context + i);
        sink += sample_argmax(logits, V);
    }
    out->decode_seconds = now_seconds() - start;
    out->decode_cpu_seconds = cpu_seconds() - cpu_start;
    out->decode_faults = faults_since(f);
    return sink;
}

typedef struct {
    Engine *engines[DECODE_BENCH_MAX_PLACEMENTS];   /* one per placement (the unfolded: one) */
    int placements;
    int cold, topk;
    PrefetchMode prefetch;
    long topk_steps, topk_hits;             /* sums over the timed runs */
    double prefill_seconds[DECODE_BENCH_MAX_REPEATS], decode_seconds[DECODE_BENCH_MAX_REPEATS];
    double decode_cpu_seconds[DECODE_BENCH_MAX_REPEATS];
    PageFaults decode_faults, prefill_faults;   /* sums over the timed runs */
} Variant;

/* Round `round` (0 at the first warm-up round) runs on placement round % placements, so the
 * timed rounds visit every placement alike. */
static int run_variant(Variant *v, const int32_t *stream, const DecodeBenchOptions *o, int round, int repeat,
                       long *sink) {
    RunTimes t;
    long steps, hits;
    Engine *e = v->engines[round % v->placements];
    /* a page another copy's mapping holds stays in the page cache: a cold run evicts them all */
    for (int p = 0; v->cold && p < v->placements; p++) engine_table_evict(v->engines[p]);
    int rc = engine_set_prefetch(e, v->prefetch);
    if (!rc) rc = engine_set_prefetch_topk(e, v->topk);
    if (rc) return rc;
    if (!v->cold) engine_table_populate(e);   /* warm: every page mapped, untimed */
    *sink += run_once(e, stream, o->context, o->tokens, v->cold, &t);
    engine_prefetch_hits(e, &steps, &hits);
    if ((rc = engine_set_prefetch(e, PREFETCH_MADVISE)) ||
        (rc = engine_set_prefetch_topk(e, ENGINE_DEFAULT_PREFETCH_TOPK)) || repeat < 0)
        return rc;
    v->topk_steps += steps;
    v->topk_hits += hits;
    v->prefill_seconds[repeat] = t.prefill_seconds;
    v->decode_seconds[repeat] = t.decode_seconds;
    v->decode_cpu_seconds[repeat] = t.decode_cpu_seconds;
    v->decode_faults.minor += t.decode_faults.minor;
    v->decode_faults.major += t.decode_faults.major;
    v->prefill_faults.major += t.prefill_faults.major;
    return OK;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double decode_bench_median(double *values, int n) {
    qsort(values, (size_t)n, sizeof(double), compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/* Speed of v relative to base, round by round (the two ran a moment apart, under the same
 * load), then the median: steadier than a ratio of medians on a shared machine. */
static double paired_ratio(const Variant *v, const Variant *base, int n) {
    double ratios[DECODE_BENCH_MAX_REPEATS];
    for (int i = 0; i < n; i++) ratios[i] = base->decode_seconds[i] / v->decode_seconds[i];
    return decode_bench_median(ratios, n);
}

/* Before summarize, which sorts the samples. */
static void ratios(Variant *v, const int *active, int n_active, int repeats, DecodeBenchResult *r) {
    for (int i = 0; i < n_active; i++) {
        int a = active[i];
        r->v[a].over_dense = paired_ratio(&v[a], &v[VARIANT_DENSE], repeats);
        r->v[a].over_warm = paired_ratio(&v[a], &v[VARIANT_FOLDED], repeats);
    }
}

static void summarize(Variant *v, const DecodeBenchOptions *o, VariantFigures *f) {
    int n = o->repeats;
    f->measured = 1;
    f->prefill_tok_s = o->context / decode_bench_median(v->prefill_seconds, n);
    f->decode_tok_s = o->tokens / decode_bench_median(v->decode_seconds, n);   /* sorted now */
    f->decode_min_tok_s = o->tokens / v->decode_seconds[n - 1];
    f->decode_max_tok_s = o->tokens / v->decode_seconds[0];
    f->decode_cpu_tok_s = o->tokens / decode_bench_median(v->decode_cpu_seconds, n);
    f->decode_minor_faults = (double)v->decode_faults.minor / n;
    f->decode_major_faults = (double)v->decode_faults.major / n;
    f->prefill_major_faults = (double)v->prefill_faults.major / n;
    f->prefetch_topk = v->topk;
    f->topk_steps = v->topk_steps;
    f->topk_hits = v->topk_hits;
    f->topk_hit_rate = v->topk_steps ? (double)v->topk_hits / v->topk_steps : -1;
}

/* ---- the models ------------------------------------------------------------------- */

/* The checkpoint must be the model the bundle was folded from: same config, field by field. */
static int check_same_config(const Model *folded, const Model *unfolded, const DecodeBenchOptions *o) {
    char a[256], b[256];
    for (int i = 0; i < model_config_field_count(); i++) {
        model_config_field_value(&folded->cfg, i, a, sizeof a);
        model_config_field_value(&unfolded->cfg, i, b, sizeof b);
        if (strcmp(a, b))
            return error_set(ERR_INPUT, "%s is not the model %s was folded from: %s is %s there, %s here",
                             o->checkpoint, o->bundle, model_config_field_key(i), b, a);
    }
    if (unfolded->folded)
        return error_set(ERR_INPUT, "%s holds a folded model: give the training checkpoint", o->checkpoint);
    return OK;
}

static int dense_twin(const Model *m, Model *dense, uint64_t seed) {
    ModelConfig c = m->cfg;
    c.memory = MEMORY_NONE;
    int rc = model_create(dense, &c, 0, 0);
    if (!rc) model_init_weights(dense, seed);
    return rc;
}

/* Placement p of the folded model and of its dense twin: a copy loaded (built) on its own,
 * so each lands on other physical pages. [0] is the one the footprint figures describe. */
typedef struct {
    Model folded[DECODE_BENCH_MAX_PLACEMENTS], unfolded, dense[DECODE_BENCH_MAX_PLACEMENTS];
    Engine folded_e[DECODE_BENCH_MAX_PLACEMENTS], unfolded_e, dense_e[DECODE_BENCH_MAX_PLACEMENTS];
    int loaded_folded, loaded_dense, has_unfolded;   /* models held: counts, and 0/1 */
    int made_folded, made_dense, made_unfolded;      /* engines made: counts, and 0/1 */
} Models;

static void release(Models *s) {
    for (int p = 0; p < s->made_folded; p++) engine_free(&s->folded_e[p]);
    for (int p = 0; p < s->made_dense; p++) engine_free(&s->dense_e[p]);
    if (s->made_unfolded) engine_free(&s->unfolded_e);
    for (int p = 0; p < s->loaded_folded; p++) model_free(&s->folded[p]);
    for (int p = 0; p < s->loaded_dense; p++) model_free(&s->dense[p]);
    if (s->has_unfolded) model_free(&s->unfolded);
}

static int placements(const DecodeBenchOptions *o) { return o->placements > 0 ? o->placements : 1; }

static int check_options(const DecodeBenchOptions *o) {
    if (o->context < 1 || o->tokens < 1)
        return error_set(ERR_INPUT, "--context and --tokens must be positive");
    if (o->repeats < 1 || o->repeats > DECODE_BENCH_MAX_REPEATS)
        return error_set(ERR_INPUT, "--repeats must be in 1..%d", DECODE_BENCH_MAX_REPEATS);
    if (o->warmup < 0) return error_set(ERR_INPUT, "warm-up rounds must be >= 0");
    if (o->placements < 0 || o->placements > DECODE_BENCH_MAX_PLACEMENTS)
        return error_set(ERR_INPUT, "--placements must be in 1..%d", DECODE_BENCH_MAX_PLACEMENTS);
    if (o->prefetch_topk < 0) return error_set(ERR_INPUT, "--prefetch-topk must be >= 0");
    if (o->context > INT_MAX - o->tokens)   /* both are positive here */
        return error_set(ERR_INPUT, "--context %d + --tokens %d overflows an int", o->context, o->tokens);
    return OK;
}

/* Each model has one engine, and the rest of the bench reads only its config and parameter
 * count: with packed weights its f32 copies can leave, so the RSS figures are a deployment's. */
static int set_weights(Engine *e, Model *m, const DecodeBenchOptions *o) {
    if (o->weights_dtype == WEIGHTS_F32) return OK;
    return engine_set_weights_dtype_release(e, m, o->weights_dtype);
}

/* The engine of placement p of the bundle, loaded. */
static int folded_engine(Models *s, const DecodeBenchOptions *o, int p) {
    int rc = engine_create(&s->folded_e[p], &s->folded[p], o->context + o->tokens, o->chunk);
    if (rc) return rc;
    s->made_folded = p + 1;
    return set_weights(&s->folded_e[p], &s->folded[p], o);
}

static int load_folded(Models *s, const DecodeBenchOptions *o) {
    int rc = bundle_load(&s->folded[0], o->bundle, o->dtype);
    if (rc) return rc;
    s->loaded_folded = 1;
    if (s->folded[0].cfg.memory == MEMORY_NONE || !s->folded[0].rom)
        return error_set(ERR_INPUT, "%s: a bundle of a memory model with a ROM table is needed", o->bundle);
    if (engine_check_context(&s->folded[0].cfg, (long)o->context + o->tokens, o->chunk)) {
        char why[1024];   /* error_set must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", error_message());
        return error_set(ERR_INPUT, "--context %d + --tokens %d: %s", o->context, o->tokens, why);
    }
    return folded_engine(s, o, 0);
}

static void rss_split(RssSplit *out, const RomTable *t) {
    out->private_bytes = process_status_bytes("RssAnon");
    out->file_bytes = process_status_bytes("RssFile");
    out->table_bytes = mapping_resident_bytes(t->base);
}

/* The folded model's RSS is taken first, alone, after one warm run; then the others load. */
static int load_others(Models *s, const DecodeBenchOptions *o, const int32_t *stream, DecodeBenchResult *r) {
    int rc, context = o->context + o->tokens;
    TrainState state;
    RunTimes t;
    run_once(&s->folded_e[0], stream, o->context, o->tokens, 0, &t);   /* as deployed */
    r->deploy_peak_rss_bytes = peak_rss_bytes();
    rss_split(&r->deployed, s->folded[0].rom);
    engine_table_populate(&s->folded_e[0]);
    run_once(&s->folded_e[0], stream, o->context, o->tokens, 0, &t);
    r->folded_rss_bytes = process_status_bytes("VmRSS");
    rss_split(&r->warm, s->folded[0].rom);
    if (o->checkpoint) {
        if ((rc = checkpoint_load(&s->unfolded, o->checkpoint, 0, &state))) return rc;
        s->has_unfolded = 1;
        if ((rc = check_same_config(&s->folded[0], &s->unfolded, o))) return rc;
        if ((rc = engine_create(&s->unfolded_e, &s->unfolded, context, o->chunk))) return rc;
        s->made_unfolded = 1;
        if ((rc = set_weights(&s->unfolded_e, &s->unfolded, o))) return rc;
    }
    for (int p = 0; p < placements(o); p++) {   /* the dense twins interleaved with the copies */
        if (p > 0) {
            if ((rc = bundle_load(&s->folded[p], o->bundle, o->dtype))) return rc;
            s->loaded_folded = p + 1;
            if ((rc = folded_engine(s, o, p))) return rc;
        }
        if ((rc = dense_twin(&s->folded[0], &s->dense[p], o->seed))) return rc;
        s->loaded_dense = p + 1;
        if ((rc = engine_create(&s->dense_e[p], &s->dense[p], context, o->chunk))) return rc;
        s->made_dense = p + 1;
        if ((rc = set_weights(&s->dense_e[p], &s->dense[p], o))) return rc;
        if (p == 0) r->peak_rss_bytes = peak_rss_bytes();   /* one copy of each model */
    }
    return OK;
}

/* The decode's RAM weights split: the block matrices, the head and the memory's decode
 * matrices it packs (MemoryOps.packed_values: the folded MeKi's gate and output) in the
 * weights dtype (packed bytes), and the parameters outside them and the embedding (norms,
 * the rest of the memory's RAM part), which stay f32. */
static double packed_weights(const Model *m, int dtype, double *other_params) {
    const ModelConfig *c = &m->cfg;
    int d = c->d_model, F = c->ffn_hidden, V = c->vocab_size;
    long q = (long)c->n_heads * c->head_dim, kv = (long)c->n_kv_heads * c->head_dim;
    double matrices = 0, matrix_params = 0;
    for (int l = 0; l < c->n_layers; l++) {
        matrices += weights_bytes(dtype, q, d) + 2.0 * weights_bytes(dtype, kv, d) +
                    weights_bytes(dtype, d, (int)q) + 2.0 * weights_bytes(dtype, F, d) + weights_bytes(dtype, d, F);
        matrix_params += (double)d * (2 * q + 2 * kv) + 3.0 * d * F;
    }
    if (dtype != WEIGHTS_F32 && m->ops && m->ops->packed_values) {
        size_t bytes;
        matrix_params += (double)m->ops->packed_values(m, dtype, &bytes);
        matrices += (double)bytes;
    }
    *other_params = (double)m->params.total - matrix_params - (double)V * d * (c->tie_embeddings ? 1 : 2);
    return matrices + weights_bytes(dtype, V, d);
}

/* What a deploy decoding in the weights dtype holds in RAM: the packed matrices and head,
 * the rest f32 (an untied embedding too; a tied one is the packed head). */
static size_t ram_weights_bytes(const Model *m, int dtype) {
    double other, packed = packed_weights(m, dtype, &other);
    double embedding = m->cfg.tie_embeddings ? 0 : (double)m->cfg.vocab_size * m->cfg.d_model;
    return (size_t)(packed + sizeof(float) * (other + embedding));
}

/* Weights once, the block matrices and head in the decode's weights dtype (the embedding
 * table only by one row), the KV cache at the mean decode position. */
static double bytes_per_token(const Model *m, const DecodeBenchOptions *o) {
    const ModelConfig *c = &m->cfg;
    long kv = (long)c->n_kv_heads * c->head_dim;
    double other, packed = packed_weights(m, o->weights_dtype, &other);
    double positions = o->context + (o->tokens + 1) / 2.0;
    return sizeof(float) * (other + c->d_model) + packed + sizeof(float) * 2.0 * c->n_layers * positions * kv;
}

static void describe(const Models *s, const DecodeBenchOptions *o, DecodeBenchResult *r) {
    const ModelConfig *c = &s->folded[0].cfg;
    const RomTable *t = s->folded[0].rom;
    r->d_model = c->d_model;
    r->n_layers = c->n_layers;
    r->d_mem = t->width;   /* the table's width: d_mem, PLE's p, or Engram's head width */
    r->vocab_size = c->vocab_size;
    r->meki_layers = t->n_tables;
    r->context = o->context;
    r->tokens = o->tokens;
    r->repeats = o->repeats;
    r->rom_bytes = t->file_bytes;
    r->row_bytes = t->row_bytes;
    r->dense_weights_bytes = sizeof(float) * (size_t)s->dense[0].params.total;
    r->folded_weights_bytes = sizeof(float) * (size_t)s->folded[0].params.total;
    r->unfolded_weights_bytes = s->has_unfolded ? sizeof(float) * (size_t)s->unfolded.params.total : 0;
    r->kv_cache_bytes = sizeof(float) * 2 * (size_t)c->n_layers * (o->context + o->tokens) *
                        c->n_kv_heads * c->head_dim;
    r->engine_bytes = engine_bytes(&s->folded_e[0]);
    r->dense_ram_weights_bytes = ram_weights_bytes(&s->dense[0], o->weights_dtype);
    r->folded_ram_weights_bytes = ram_weights_bytes(&s->folded[0], o->weights_dtype);
    r->dense_bytes_per_token = bytes_per_token(&s->dense[0], o);
    r->folded_bytes_per_token = bytes_per_token(&s->folded[0], o) + (double)t->n_tables * t->row_bytes;
    r->placements = placements(o);
}

/* Which variants run, on which engines, in which state. */
static int plan(Models *s, const DecodeBenchOptions *o, Variant *v, int *active) {
    int n = 0, P = placements(o);
    Variant folded = {.placements = P, .prefetch = PREFETCH_MADVISE}, dense = folded;
    for (int p = 0; p < P; p++) folded.engines[p] = &s->folded_e[p], dense.engines[p] = &s->dense_e[p];
    v[VARIANT_DENSE] = dense;
    v[VARIANT_UNFOLDED] = (Variant){.engines = {&s->unfolded_e}, .placements = 1, .prefetch = PREFETCH_MADVISE};
    v[VARIANT_FOLDED] = folded;
    v[VARIANT_FOLDED_NOPREFETCH] = folded;
    v[VARIANT_FOLDED_NOPREFETCH].prefetch = PREFETCH_OFF;
    v[VARIANT_COLD_FOLDED] = folded;
    v[VARIANT_COLD_FOLDED].cold = 1;
    v[VARIANT_COLD_THREAD_FOLDED] = v[VARIANT_COLD_FOLDED];
    v[VARIANT_COLD_THREAD_FOLDED].prefetch = PREFETCH_THREAD;
    v[VARIANT_COLD_NOPREFETCH_FOLDED] = v[VARIANT_COLD_FOLDED];
    v[VARIANT_COLD_NOPREFETCH_FOLDED].prefetch = PREFETCH_OFF;
    v[VARIANT_COLD_TOPK_FOLDED] = v[VARIANT_COLD_FOLDED];
    v[VARIANT_COLD_TOPK_FOLDED].topk = o->prefetch_topk;
    for (int i = 0; i < VARIANT_COUNT; i++) {
        if (i == VARIANT_UNFOLDED && !s->has_unfolded) continue;
        if (i == VARIANT_COLD_TOPK_FOLDED && !o->prefetch_topk) continue;
        /* cold runs need the table's pages under the engine's control (not Engram's yet) */
        if (v[i].cold && (!o->cold || !engine_has_rom(&s->folded_e[0]))) continue;
        active[n++] = i;
    }
    return n;
}

/* The warm state at the end: RSS split, table residency; then one cold decode to see how
 * much of the table decoding really needs. */
static void footprint(Models *s, const DecodeBenchOptions *o, const int32_t *stream, DecodeBenchResult *r) {
    Engine *folded = &s->folded_e[0];
    RunTimes t;
    engine_table_populate(folded);
    run_once(folded, stream, o->context, o->tokens, 0, &t);
    r->table_resident_bytes = engine_table_resident_bytes(folded);
    r->anon_resident_bytes = process_status_bytes("RssAnon");
    r->file_resident_bytes = process_status_bytes("RssFile");
    if (o->cold && engine_has_rom(folded)) {
        for (int p = placements(o) - 1; p >= 0; p--)   /* every copy's mapping, [0] last */
            r->evicted_resident_bytes = engine_table_evict(&s->folded_e[p]);
        run_once(folded, stream, o->context, o->tokens, 1, &t);
        r->cold_table_resident_bytes = engine_table_resident_bytes(folded);
    }
}

static int fill_stream(int32_t *stream, int n, const DecodeBenchOptions *o, int vocab_size) {
    if (!o->stream_path) {
        Rng rng;
        rng_seed(&rng, o->seed);
        for (int i = 0; i < n; i++) stream[i] = (int32_t)rng_below(&rng, (uint64_t)vocab_size);
        return OK;
    }
    TokenFile tf;
    int rc = token_file_open(&tf, o->stream_path);
    if (rc) return rc;
    if (tf.vocab_size != vocab_size || tf.count < n)
        rc = error_set(ERR_INPUT, "%s: %ld tokens of a %d-token vocabulary; the run needs %d of %d",
                       o->stream_path, tf.count, tf.vocab_size, n, vocab_size);
    for (int i = 0; !rc && i < n; i++) stream[i] = tf.ids[i];
    token_file_close(&tf);
    return rc;
}

/* Round-robin over the variants; each round starts one variant later, so none always
 * follows the cold runs. */
static int measure(Models *s, const DecodeBenchOptions *o, Variant *variants, const int32_t *stream,
                   DecodeBenchResult *r) {
    int active[VARIANT_COUNT], n = plan(s, o, variants, active), rc = OK;
    long sink = 0;
    describe(s, o, r);
    Progress progress;
    int warm = o->warmup * placements(o);   /* every placement warmed alike */
    progress_begin_after(&progress, "decode bench", (double)(warm + o->repeats) * n, 5);
    for (int repeat = -warm; !rc && repeat < o->repeats; repeat++)
        for (int i = 0; !rc && i < n; i++) {
            progress_update(&progress, (double)(repeat + warm) * n + i, "");
            rc = run_variant(&variants[active[(i + repeat + warm) % n]], stream, o, repeat + warm, repeat, &sink);
        }
    progress_end(&progress);
    if (rc) return rc;
    ratios(variants, active, n, o->repeats, r);
    for (int i = 0; i < n; i++) summarize(&variants[active[i]], o, &r->v[active[i]]);
    footprint(s, o, stream, r);
    r->argmax_checksum = sink;
    return OK;
}

int decode_bench_run(const DecodeBenchOptions *o, DecodeBenchResult *r) {
    memset(r, 0, sizeof *r);
    int rc = check_options(o);
    if (rc) return rc;
    int n_stream = o->context + o->tokens;
    int32_t *stream = malloc(sizeof(int32_t) * n_stream);
    Variant *variants = calloc(VARIANT_COUNT, sizeof(Variant));
    Models *s = calloc(1, sizeof *s);
    if (!stream || !variants || !s) {
        free(stream); free(variants); free(s);
        return error_set(ERR_FAILURE, "out of memory");
    }
    /* the peaks below are this benchmark's: in a sweep the process trained a model before */
    peak_rss_reset();
    if ((rc = load_folded(s, o)) || (rc = fill_stream(stream, n_stream, o, s->folded[0].cfg.vocab_size)))
        goto done;
    rc = load_others(s, o, stream, r);
    if (!rc) rc = measure(s, o, variants, stream, r);
done:
    release(s);
    free(s);
    free(variants);
    free(stream);
    return rc;
}
