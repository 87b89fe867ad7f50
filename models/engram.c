/* Engram: memory indexed by hashed n-grams (PAPER.md, "The peers"; arXiv:2601.07372).
 *
 * Per layer l with Engram, for the token x_t (normalised, optionally) and residual stream h_t:
 *   for n = 2..N and head k < K (head j = (n-2) K + k, H = (N-1) K heads):
 *     hash_j = XOR_{i<n} x_{t-i} * mult[l, j, i]   (64-bit, odd multipliers; pad before t = 0)
 *     row_j  = offset_j + hash_j mod prime_j        (distinct primes >= table_size)
 *   k     = concat_j table_l[row_j]                 [H*w]
 *   a     = sigmoid(signed_sqrt(<RMSNorm(W_key k), RMSNorm(h)> / sqrt(d)))
 *   v     = a * W_value k                           [d]
 *   y     = v + conv(v)   causal depthwise, kernel 4, dilation N, over the sequence
 * and y is added to the residual stream before attention.
 * The heads' tables of a layer are stacked into one [sum of primes, w] table, so one
 * gather of H rows per token gives k, and the ROM file holds one table per layer.
 * There is no fold: rows depend on the context; the tables go to the ROM file as they are.
 *
 * Token normalisation is a [V] map stored with the model as the parameter
 * engram.token_map (canonical id - id, so zeros mean no merging; never trained: its
 * gradient stays zero and it has no decay; it counts in ram_params, as V values resident
 * at deployment). engram_set_token_map fills it from the vocabulary once, before training;
 * checkpoints and bundles then carry it. */
#include "models/engram.h"
#include "models/memory.h"
#include "formats/romtable.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "kernels/activation.h"
#include "kernels/conv1d.h"
#include "kernels/embedding.h"
#include "kernels/gate.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/rng.h"
#include "formats/prefetch.h"
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static EngramState *state(const Model *m) { return m->memory; }

/* ---- config ------------------------------------------------------------------------ */

extern const MemoryOps ENGRAM_OPS;   /* at the end of this file; listed in models/memory.c */

_Static_assert(sizeof(EngramConfig) <= MEMORY_CONFIG_BYTES, "EngramConfig outgrows its block");
_Static_assert(offsetof(EngramConfig, layers) == offsetof(EngramConfig, layers_spec) + LAYER_SPEC_BYTES,
               "F_LAYERS: the flags follow the spec");

EngramConfig *engram_config(const ModelConfig *c) { return memory_config(c, &ENGRAM_OPS); }

#define OFF(f) offsetof(EngramConfig, f)
static const ConfigField FIELDS[] = {
    {"engram.max_ngram", F_INT, OFF(max_ngram), 2, 8, 0, 0},
    {"engram.heads", F_INT, OFF(heads), 1, 64, 0, 0},
    {"engram.table_size", F_INT, OFF(table_size), 2, 1 << 26, 0, 0},
    {"engram.width", F_INT, OFF(width), 1, 65536, 0, 0},
    {"engram.normalize_tokens", F_BOOL, OFF(normalize_tokens), 0, 1, 0, 0},
    {"engram.layers", F_LAYERS, OFF(layers_spec), 0, 0, 0, 0},
};
#undef OFF

static void config_defaults(void *own, const ModelConfig *c) {
    EngramConfig *e = own;
    e->max_ngram = 3;
    e->heads = 4;
    e->table_size = 4093;
    /* d/32: with tables of 4093 rows this matches MeKi's ROM weights (d_mem = d/8,
     * every layer) within 1% at the tiny and small presets (table2.ini) */
    e->width = c->d_model / 32;
    strcpy(e->layers_spec, "default");
}

/* "default": layer 1 and the middle layer, as the Engram paper places it. */
static int config_resolve(void *own, const ModelConfig *c) {
    EngramConfig *e = own;
    if (!strcmp(e->layers_spec, "default")) {
        memset(e->layers, 0, MAX_LAYERS);
        e->layers[1 % c->n_layers] = 1;
        e->layers[c->n_layers / 2] = 1;
        return OK;
    }
    return config_resolve_layers(e->layers, e->layers_spec, c->n_layers, "engram.layers");
}

static int config_check(const void *own, const ModelConfig *c) {
    const EngramConfig *e = own;
    int rc;
    if ((rc = config_require(e->max_ngram >= 2, "engram max_ngram must be >= 2")) ||
        (rc = config_require(e->heads > 0, "engram heads must be positive")) ||
        (rc = config_require(e->table_size > 1, "engram table_size must be > 1")) ||
        (rc = config_require(e->width > 0, "engram width must be positive")))
        return rc;
    return OK;
}

/* ---- training form ----------------------------------------------------------------- */

int engram_head_count(const ModelConfig *c) { return (engram_config(c)->max_ngram - 1) * engram_config(c)->heads; }

static int is_prime(long n) {
    if (n < 2) return 0;
    for (long f = 2; f * f <= n; f++)
        if (n % f == 0) return 0;
    return 1;
}

/* Head j's table has the j-th prime >= table_size rows: distinct, so heads of the same
 * n-gram order collide on different n-grams. */
static int choose_primes(EngramState *st, const ModelConfig *c) {
    long candidate = engram_config(c)->table_size, total = 0;
    for (int j = 0; j < st->heads; j++) {
        while (!is_prime(candidate)) candidate++;
        st->prime[j] = (int)candidate;
        st->offset[j] = total;
        total += candidate++;
    }
    if (total * engram_config(c)->width > (1L << 31) - 1)
        return error_set(ERR_INPUT, "engram: %d heads of %d rows x %d are too large a table",
                         st->heads, engram_config(c)->table_size, engram_config(c)->width);
    st->rows = (int)total;
    return OK;
}

/* mult[l, j, i]: from the fixed seed and (layer, order, head, position) alone, so hashes
 * agree across runs, machines and the set of other layers. */
static void derive_multipliers(EngramState *st, const ModelConfig *c) {
    int N = engram_config(c)->max_ngram, K = engram_config(c)->heads;
    for (int l = 0; l < c->n_layers; l++)
        for (int j = 0; j < st->heads; j++)
            for (int i = 0; i < N; i++) {
                uint64_t x = hash64(ENGRAM_HASH_SEED ^ (uint64_t)l);
                x = hash64(x ^ (uint64_t)(2 + j / K));
                x = hash64(x ^ (uint64_t)(j % K));
                st->multipliers[((long)l * st->heads + j) * N + i] = hash64(x ^ (uint64_t)i) | 1;
            }
}

static int declare(Model *m) {
    const ModelConfig *c = &m->cfg;
    const EngramConfig *e = engram_config(c);
    EngramState *st = calloc(1, sizeof *st);
    m->memory = st;
    if (!st) return error_set(ERR_FAILURE, "out of memory for Engram");
    st->heads = engram_head_count(c);
    int rc = choose_primes(st, c);
    if (rc) return rc;
    st->w = calloc((size_t)c->n_layers, sizeof(EngramWeights));
    st->g = calloc((size_t)c->n_layers, sizeof(EngramWeights));
    st->acts = calloc((size_t)c->n_layers, sizeof(EngramActs));
    st->multipliers = calloc((size_t)c->n_layers * st->heads * e->max_ngram, sizeof(uint64_t));
    if (!st->w || !st->g || !st->acts || !st->multipliers)
        return error_set(ERR_FAILURE, "out of memory for Engram");
    derive_multipliers(st, c);
    st->tables.rows = st->rows;
    st->tables.width = e->width;
    long d = c->d_model, D = (long)st->heads * e->width;
    char name[96];
    if (e->normalize_tokens)
        params_add(&m->params, "engram.token_map", c->vocab_size, 0, 0, INIT_ZEROS, 0, 0, 0,
                   &st->token_map, NULL);
    for (int l = 0; l < c->n_layers; l++) {
        if (!e->layers[l]) continue;
        EngramWeights *w = &st->w[l], *g = &st->g[l];
        w->active = g->active = 1;
#define ADD(field, suffix, d0, d1, init, std, decay, rom)                                \
    snprintf(name, sizeof name, "layers.%d.engram." suffix, l);                          \
    params_add(&m->params, name, d0, d1, 0, init, std, decay, rom, &w->field, &g->field)
        /* Rows start at the scale of the other weights: unit rows, hashed with collisions,
         * swamp the 0.02-scale residual stream early on (tiny preset, 200k tokens: val
         * loss 5.29 with std 1 against 4.89 with 0.02, dense 4.94). */
        if (!m->folded) { ADD(table, "table", st->rows, e->width, INIT_NORMAL, 0.02f, 0, 1); }
        ADD(w_key, "key.weight", d, D, INIT_NORMAL, 0.02f, 1, 0);
        ADD(w_value, "value.weight", d, D, INIT_NORMAL, 0.02f, 1, 0);
        ADD(key_norm, "key_norm.weight", d, 0, INIT_ONES, 0, 0, 0);
        ADD(query_norm, "query_norm.weight", d, 0, INIT_ONES, 0, 0, 0);
        /* zeros: the convolution starts as the identity of y = v + conv(v) */
        ADD(conv, "conv.weight", d, ENGRAM_CONV_KERNEL, INIT_ZEROS, 0, 0, 0);
#undef ADD
    }
    return OK;
}

static void free_acts(EngramActs *a) {
    float *all[] = {a->in, a->k, a->kp, a->kn, a->k_rstd, a->hn, a->h_rstd, a->score, a->gate,
                    a->vp, a->value};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(a->rows);
    memset(a, 0, sizeof *a);
}

/* Buffers for N rows of one layer's module. */
static int alloc_acts(EngramActs *a, const ModelConfig *c, int heads, long N) {
    long d = c->d_model, D = (long)heads * engram_config(c)->width;
    free_acts(a);
    Allocs al = {0};
    a->rows = malloc(sizeof(int32_t) * (size_t)(N * heads));
    a->in = floats_zeroed(&al, N * d); a->k = floats_zeroed(&al, N * D); a->kp = floats_zeroed(&al, N * d); a->kn = floats_zeroed(&al, N * d);
    a->k_rstd = floats_zeroed(&al, N); a->hn = floats_zeroed(&al, N * d); a->h_rstd = floats_zeroed(&al, N); a->score = floats_zeroed(&al, N);
    a->gate = floats_zeroed(&al, N); a->vp = floats_zeroed(&al, N * d); a->value = floats_zeroed(&al, N * d);
    return a->rows && !al.failed ? OK : error_set(ERR_FAILURE, "out of memory for Engram activations");
}

static int reserve(Model *m, int B, int T) {
    const ModelConfig *c = &m->cfg;
    EngramState *st = state(m);
    long N = (long)B * T, d = c->d_model, D = (long)st->heads * engram_config(c)->width;
    for (int l = 0; l < c->n_layers; l++)
        if (st->w[l].active && alloc_acts(&st->acts[l], c, st->heads, N)) return ERR_FAILURE;
    float **bufs[] = {&st->d_wide, &st->d_wide2, &st->d_wide3, &st->d_key, &st->y};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(*bufs[i]);
    Allocs al = {0};
    st->d_wide = floats_zeroed(&al, N * d); st->d_wide2 = floats_zeroed(&al, N * d); st->d_wide3 = floats_zeroed(&al, N * d);
    st->d_key = floats_zeroed(&al, N * D); st->y = floats_zeroed(&al, N * d);
    return al.failed ? error_set(ERR_FAILURE, "out of memory for Engram gradients") : OK;
}

static MemorySite site(const Model *m, int l) {
    return state(m)->w[l].active ? SITE_BEFORE_ATTN : SITE_NONE;
}

int32_t engram_normalized_token(const EngramState *st, int vocab_size, int32_t token) {
    if (!st->token_map) return token;
    int32_t canonical = token + (int32_t)lrintf(st->token_map[token]);
    return canonical >= 0 && canonical < vocab_size ? canonical : token;
}

void engram_rows_at(const EngramState *st, const ModelConfig *c, int layer,
                    const int32_t *window, int32_t *rows) {
    int N = engram_config(c)->max_ngram, K = engram_config(c)->heads;
    const uint64_t *mult = st->multipliers + (long)layer * st->heads * N;
    for (int j = 0; j < st->heads; j++, mult += N) {
        uint64_t hash = 0;
        for (int i = 0; i < 2 + j / K; i++) hash ^= (uint64_t)window[i] * mult[i];
        rows[j] = (int32_t)(st->offset[j] + (long)(hash % (uint64_t)st->prime[j]));
    }
}

void engram_hash_rows(const EngramState *st, const ModelConfig *c, int layer,
                      const int32_t *tokens, int B, int T, int32_t *rows) {
    int N = engram_config(c)->max_ngram, V = c->vocab_size;
#pragma omp parallel for collapse(2) if ((long)B * T > 1024)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int32_t window[8];
            for (int i = 0; i < N; i++)
                window[i] = t - i >= 0 ? engram_normalized_token(st, V, tokens[b * T + t - i]) : V;
            engram_rows_at(st, c, layer, window, rows + ((long)b * T + t) * st->heads);
        }
}

/* A map that was never filled (all zeros) means the training path skipped
 * engram_set_token_map: say so once rather than silently train without normalisation. */
static void check_token_map(EngramState *st, int V) {
    if (!st->token_map || st->warned_unset_map) return;
    for (int v = 0; v < V; v++)
        if (st->token_map[v] != 0.0f) return;
    st->warned_unset_map = 1;
    fprintf(stderr, "engram: normalize_tokens is on but no token map was set "
                    "(engram_set_token_map); token ids are used as they are\n");
}

/* a->value[n, d] for rows whose table rows (a->rows) and stream (a->in) are in place:
 * k, the gate and W_value k, saving what the backward needs. */
static void value_rows(const Model *m, int l, int n, EngramActs *a) {
    const ModelConfig *c = &m->cfg;
    const EngramState *st = state(m);
    const EngramWeights *w = &st->w[l];
    int d = c->d_model, width = engram_config(c)->width, D = st->heads * width;
    if (m->folded) memory_tables_gather(&st->tables, l, a->rows, NULL, n * st->heads, a->k);
    else embedding_forward(a->k, w->table, a->rows, n * st->heads, width);
    matmul_forward(a->kp, a->k, w->w_key, n, D, d, 0);
    rmsnorm_forward(a->kn, a->k_rstd, a->kp, w->key_norm, n, d, c->norm_eps);
    rmsnorm_forward(a->hn, a->h_rstd, a->in, w->query_norm, n, d, c->norm_eps);
    dot_gate_forward(a->gate, a->score, a->kn, a->hn, n, d, 1.0f / sqrtf((float)d));
    matmul_forward(a->vp, a->k, w->w_value, n, D, d, 0);
    for (int r = 0; r < n; r++)
        for (int i = 0; i < d; i++) a->value[(long)r * d + i] = a->gate[r] * a->vp[(long)r * d + i];
}

static void forward(Model *m, int l, const float *in, float *out, int B, int T) {
    const ModelConfig *c = &m->cfg;
    EngramState *st = state(m);
    EngramActs *a = &st->acts[l];
    int N = B * T, d = c->d_model;
    memcpy(a->in, in, sizeof(float) * N * d);   /* in may alias out */
    check_token_map(st, c->vocab_size);
    engram_hash_rows(st, c, l, m->tokens, B, T, a->rows);
    value_rows(m, l, N, a);
    memcpy(st->y, a->value, sizeof(float) * N * d);
    causal_conv1d_forward(st->y, a->value, st->w[l].conv, B, T, d, ENGRAM_CONV_KERNEL,
                          engram_config(c)->max_ngram);
    vector_add(out, st->y, (long)N * d);
}

static void zero(float *p, long n) { memset(p, 0, sizeof(float) * n); }

static void backward(Model *m, int l, const float *dout, float *din, int B, int T) {
    const ModelConfig *c = &m->cfg;
    EngramState *st = state(m);
    const EngramWeights *w = &st->w[l];
    EngramWeights *g = &st->g[l];
    const EngramActs *a = &st->acts[l];
    int N = B * T, d = c->d_model, width = engram_config(c)->width, D = st->heads * width;
    float *dvalue = st->d_wide, *dkn = st->d_wide2, *dhn = st->d_wide3, *dk = st->d_key;
    /* dout is read here only, so din (which may alias it) can be added to afterwards */
    memcpy(dvalue, dout, sizeof(float) * N * d);
    causal_conv1d_backward(dvalue, g->conv, dout, a->value, w->conv, B, T, d,
                           ENGRAM_CONV_KERNEL, engram_config(c)->max_ngram);
    float *dgate = st->y;   /* [N], free in the backward */
    for (int n = 0; n < N; n++) {
        double dot = 0;
        for (int i = 0; i < d; i++) dot += (double)dvalue[(long)n * d + i] * a->vp[(long)n * d + i];
        dgate[n] = (float)dot;
        for (int i = 0; i < d; i++) dvalue[(long)n * d + i] *= a->gate[n];   /* now d vp */
    }
    zero(dk, (long)N * D);
    matmul_backward(dk, g->w_value, dvalue, a->k, w->w_value, N, D, d);
    zero(dkn, (long)N * d);
    zero(dhn, (long)N * d);
    dot_gate_backward(dkn, dhn, dgate, a->score, a->kn, a->hn, N, d, 1.0f / sqrtf((float)d));
    float *dkp = dvalue;   /* d vp is consumed */
    zero(dkp, (long)N * d);
    rmsnorm_backward(dkp, g->key_norm, dkn, a->kp, w->key_norm, a->k_rstd, N, d);
    matmul_backward(dk, g->w_key, dkp, a->k, w->w_key, N, D, d);
    rmsnorm_backward(din, g->query_norm, dhn, a->in, w->query_norm, a->h_rstd, N, d);
    if (!m->folded) embedding_backward(g->table, dk, a->rows, N * st->heads, width);
}

/* No re-parameterisation: the folded model reads the trained tables as they are. */
static int fold(Model *trained, Model *folded) {
    int rc = OK;
    for (int l = 0; l < trained->cfg.n_layers && !rc; l++)
        if (state(trained)->w[l].active)
            rc = memory_tables_copy(&state(folded)->tables, l, state(trained)->w[l].table);
    return rc;
}

static void accounting(const Model *m, Accounting *acc) {
    const ModelConfig *c = &m->cfg;
    const EngramState *st = state(m);
    double d = c->d_model, D = (double)st->heads * engram_config(c)->width;
    int layers = 0;
    for (int l = 0; l < c->n_layers; l++) layers += st->w[l].active;
    /* W_key and W_value, the gate's dot product and the convolution's taps */
    double macs = 2 * d * D + d + d * ENGRAM_CONV_KERNEL;
    acc->rom_weights += (long)layers * st->rows * engram_config(c)->width;
    acc->train_flops_per_token += 3 * 2 * layers * macs;
    acc->inference_flops_per_token += 2 * layers * macs;
}

static void rom_tables(const Model *m, RomTableList *list) {
    memory_tables_list(&state(m)->tables, engram_config(&m->cfg)->layers, m->cfg.n_layers, list);
}

static void attach_rom(Model *m, const RomTable *rom) { state(m)->tables.rom = rom; }

static void release(Model *m) {
    EngramState *st = state(m);
    if (!st) return;
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (st->acts) free_acts(&st->acts[l]);
    float *bufs[] = {st->d_wide, st->d_wide2, st->d_wide3, st->d_key, st->y};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    memory_tables_free(&st->tables);
    free(st->multipliers);
    free(st->acts);
    free(st->w);
    free(st->g);
    free(st);
    m->memory = NULL;
}

/* ------------------------------------------------------------ decoding */

int engram_stream_create(EngramStream *s, const Model *m, int context, int rows) {
    const ModelConfig *c = &m->cfg;
    memset(s, 0, sizeof *s);
    s->context = context;
    s->rows = rows;
    s->tokens = malloc(sizeof(int32_t) * (size_t)context);
    s->values = calloc((size_t)c->n_layers * context * c->d_model, sizeof(float));
    s->y = floats_zeroed(NULL, (size_t)rows * c->d_model);
    if (!s->tokens || !s->values || !s->y || alloc_acts(&s->a, c, state(m)->heads, rows)) {
        engram_stream_free(s);
        return error_set(ERR_FAILURE, "engram: out of memory for a context of %d", context);
    }
    return OK;
}

void engram_stream_free(EngramStream *s) {
    free(s->tokens);
    free(s->values);
    free(s->y);
    free_acts(&s->a);
    memset(s, 0, sizeof *s);
}

void engram_stream_forward(const Model *m, int l, const int32_t *tokens, int pos,
                           const float *in, float *out, int n, EngramStream *s) {
    const ModelConfig *c = &m->cfg;
    const EngramState *st = state(m);
    int d = c->d_model, N = engram_config(c)->max_ngram;
    EngramActs *a = &s->a;
    for (int i = 0; i < n; i++) s->tokens[pos + i] = engram_normalized_token(st, c->vocab_size, tokens[i]);
    for (int i = 0; i < n; i++) {
        int32_t window[8];
        for (int j = 0; j < N; j++) window[j] = pos + i - j >= 0 ? s->tokens[pos + i - j] : c->vocab_size;
        engram_rows_at(st, c, l, window, a->rows + (long)i * st->heads);
    }
    memcpy(a->in, in, sizeof(float) * n * d);   /* in may alias out */
    value_rows(m, l, n, a);
    float *history = s->values + (long)l * s->context * d;
    memcpy(history + (long)pos * d, a->value, sizeof(float) * n * d);
    memcpy(s->y, a->value, sizeof(float) * n * d);
    for (int i = 0; i < n; i++)
        causal_conv1d_step(s->y + (long)i * d, history, pos + i, st->w[l].conv, d,
                           ENGRAM_CONV_KERNEL, N);
    vector_add(out, s->y, (long)n * d);
}

/* ------------------------------------------------------------ token normalisation */

typedef struct {
    const unsigned char *bytes;
    int length, id;
} TokenKey;

/* The key of a token: its bytes without one leading space, compared ASCII-case-blind. */
static void token_key(TokenKey *k, const unsigned char *bytes, int length, int id) {
    int skip = length > 1 && bytes[0] == ' ';
    k->bytes = bytes + skip;
    k->length = length - skip;
    k->id = id;
}

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

static int compare_keys(const void *pa, const void *pb) {
    const TokenKey *a = pa, *b = pb;
    int n = a->length < b->length ? a->length : b->length;
    for (int i = 0; i < n; i++) {
        int x = lower(a->bytes[i]), y = lower(b->bytes[i]);
        if (x != y) return x - y;
    }
    if (a->length != b->length) return a->length - b->length;
    return a->id - b->id;
}

static int same_key(const TokenKey *a, const TokenKey *b) {
    if (a->length != b->length) return 0;
    for (int i = 0; i < a->length; i++)
        if (lower(a->bytes[i]) != lower(b->bytes[i])) return 0;
    return 1;
}

int engram_set_token_map(Model *m, const unsigned char *const *bytes, const int *lengths, int V) {
    EngramState *st = m->ops == &ENGRAM_OPS ? state(m) : NULL;
    if (!st || !st->token_map)
        return error_set(ERR_INPUT, "engram token map: the model has no engram.normalize_tokens");
    if (V != m->cfg.vocab_size)
        return error_set(ERR_INPUT, "engram token map: vocabulary of %d tokens, model has %d",
                         V, m->cfg.vocab_size);
    TokenKey *keys = malloc(sizeof(TokenKey) * (size_t)V);
    if (!keys) return error_set(ERR_FAILURE, "out of memory for the token map");
    for (int v = 0; v < V; v++) token_key(&keys[v], bytes[v], lengths[v], v);
    /* sorted by key then id: each run of equal keys maps to its first (smallest) id */
    qsort(keys, (size_t)V, sizeof *keys, compare_keys);
    for (int i = 0, first = 0; i < V; i++) {
        if (!same_key(&keys[i], &keys[first])) first = i;
        st->token_map[keys[i].id] = (float)(keys[first].id - keys[i].id);
    }
    free(keys);
    st->warned_unset_map = 0;
    return OK;
}

int engram_set_token_map_from_tokenizer(Model *m, const Tokenizer *tok) {
    int V = tokenizer_vocab_size(tok), rc;
    const unsigned char **bytes = malloc(sizeof(char *) * (size_t)V);
    int *lengths = malloc(sizeof(int) * (size_t)V);
    if (!bytes || !lengths) {
        free(bytes); free(lengths);
        return error_set(ERR_FAILURE, "out of memory for the token map");
    }
    for (int v = 0; v < V; v++) bytes[v] = tokenizer_token_bytes(tok, v, &lengths[v]);
    rc = engram_set_token_map(m, bytes, lengths, V);
    free(bytes);
    free(lengths);
    return rc;
}

/* Training a new model: the normalisation map needs the tokenizer's bytes; it is then
 * stored with the model, so checkpoints and bundles carry it. */
static int prepare(Model *m, const char *data_dir) {
    if (!engram_config(&m->cfg)->normalize_tokens) return OK;
    char path[4096];
    Tokenizer *tok;
    snprintf(path, sizeof path, "%s/tokenizer.bin", data_dir);
    DataSummary summary;
    if (dataset_summary_load(data_dir, &summary) != OK) error_clear();   /* tokenizer_load says what is wrong */
    else if (summary.no_tokenizer)
        return error_set(ERR_INPUT, "engram.normalize_tokens needs the tokenizer's bytes, and %s holds token "
                         "shards (no tokenizer): set engram.normalize_tokens=0", data_dir);
    int rc = tokenizer_load(&tok, path);
    if (rc) return rc;
    rc = engram_set_token_map_from_tokenizer(m, tok);
    tokenizer_free(tok);
    return rc;
}

/* ---- decoding: the stream's state per engine ----------------------------------------- */

static int infer_create(const Model *m, int context, int rows, void **out) {
    EngramStream *s = calloc(1, sizeof *s);
    if (!s) return error_set(ERR_FAILURE, "engram: out of memory");
    int rc = engram_stream_create(s, m, context, rows);
    if (rc) { free(s); return rc; }
    *out = s;
    return OK;
}

static void infer_free(void *s) {
    if (s) engram_stream_free(s);
    free(s);
}

static void infer(const Model *m, void *s, int layer, const int32_t *tokens, const float *embedded,
                  const float *in, float *out, int n, int pos, const uint8_t *const *rom_rows) {
    engram_stream_forward(m, layer, tokens, pos, in, out, n, s);
}

/* Engram's rows hang on the last N tokens, not on the token alone: the rows of the new
 * positions in every Engram layer, from the stream's earlier tokens and the new ones. */
static void prefetch(const Model *m, const void *stream, Prefetcher *p, const int32_t *tokens,
                     int n, int pos) {
    const ModelConfig *c = &m->cfg;
    const EngramConfig *e = engram_config(c);
    const EngramState *st = m->memory;
    const EngramStream *s = stream;
    int N = e->max_ngram, V = c->vocab_size, H = engram_head_count(c);
    int32_t window[8], rows[512];   /* N <= 8 and heads <= 64 (config ranges) */
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < N; k++) {
            int q = pos + i - k;
            window[k] = q < 0 ? V : q >= pos ? engram_normalized_token(st, V, tokens[q - pos])
                                             : s->tokens[q];
        }
        for (int l = 0; l < c->n_layers; l++) {
            if (!e->layers[l]) continue;
            engram_rows_at(st, c, l, window, rows);
            prefetcher_request_rows(p, l, rows, H);
        }
    }
}

const MemoryOps ENGRAM_OPS = {
    .name = "engram",
    .fields = FIELDS,
    .n_fields = sizeof FIELDS / sizeof FIELDS[0],
    .config_defaults = config_defaults,
    .config_resolve = config_resolve,
    .config_check = config_check,
    .prepare = prepare,
    .infer_create = infer_create,
    .infer_free = infer_free,
    .infer = infer,
    .prefetch = prefetch,
    .declare = declare,
    .reserve = reserve,
    .site = site,
    .forward = forward,
    .backward = backward,
    .fold = fold,
    .accounting = accounting,
    .rom_tables = rom_tables,
    .attach_rom = attach_rom,
    .release = release,
};
