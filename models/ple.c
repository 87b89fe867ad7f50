/* PLE: per-layer embeddings (PAPER.md, "The peers"; Gemma 3n).
 *
 * Per layer l with PLE, for N tokens x with shared embeddings E[x] and residual stream h
 * after the FFN:
 *   e = (T_l[x] + RMSNorm_p(W_l E[x])) / sqrt(2)   [N, p]  ple_l[x]: a function of x only
 *   u = GELU(h W_g^T) * e                           [N, p]
 *   y = RMSNorm_d(u W_p^T)                          [N, d]  added to the residual stream
 * Training form: T_l [V, p] (ROM), W_l [p, d] and the norm gain [p] (absorbed by the fold).
 * Folded form: e = T~_l[x], with T~_l = ple_l computed for all V tokens. */
#include "models/ple.h"
#include "models/memory.h"
#include "formats/romtable.h"
#include "kernels/activation.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "util/alloc.h"
#include "util/error.h"
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float INV_SQRT2 = 0.70710678118654752f;

static PleState *state(const Model *m) { return m->memory; }

/* ---- config ------------------------------------------------------------------------ */

extern const MemoryOps PLE_OPS;   /* at the end of this file; listed in models/memory.c */

_Static_assert(sizeof(PleConfig) <= MEMORY_CONFIG_BYTES, "PleConfig outgrows its block");
_Static_assert(offsetof(PleConfig, layers) == offsetof(PleConfig, layers_spec) + LAYER_SPEC_BYTES,
               "F_LAYERS: the flags follow the spec");

PleConfig *ple_config(const ModelConfig *c) { return memory_config(c, &PLE_OPS); }

static const ConfigField FIELDS[] = {
    {"ple.width", F_INT, offsetof(PleConfig, width), 1, 65536, 0, 0},
    {"ple.layers", F_LAYERS, offsetof(PleConfig, layers_spec), 0, 0, 0, 0},
};

static void config_defaults(void *own, const ModelConfig *c) {
    PleConfig *k = own;
    k->width = c->d_model / 8;
    strcpy(k->layers_spec, "all");
}

static int config_resolve(void *own, const ModelConfig *c) {
    PleConfig *k = own;
    return config_resolve_layers(k->layers, k->layers_spec, c->n_layers, "ple.layers");
}

static int config_check(const void *own, const ModelConfig *c) {
    return config_require(((const PleConfig *)own)->width > 0, "ple width must be positive");
}

/* ---- training form ----------------------------------------------------------------- */

static int declare(Model *m) {
    const ModelConfig *c = &m->cfg;
    PleState *st = calloc(1, sizeof *st);
    m->memory = st;
    st->w = calloc((size_t)c->n_layers, sizeof(PleWeights));
    st->g = calloc((size_t)c->n_layers, sizeof(PleWeights));
    st->acts = calloc((size_t)c->n_layers, sizeof(PleActs));
    if (!st->w || !st->g || !st->acts) return error_set(ERR_FAILURE, "out of memory for PLE");
    st->folded.rows = c->vocab_size;
    st->folded.width = ple_config(c)->width;
    long V = c->vocab_size, d = c->d_model, p = ple_config(c)->width;
    char name[96];
    for (int l = 0; l < c->n_layers; l++) {
        if (!ple_config(c)->layers[l]) continue;
        PleWeights *w = &st->w[l], *g = &st->g[l];
        w->active = g->active = 1;
#define ADD(field, suffix, d0, d1, init, std, decay, rom)                                \
    snprintf(name, sizeof name, "layers.%d.ple." suffix, l);                             \
    params_add(&m->params, name, d0, d1, 0, init, std, decay, rom, &w->field, &g->field)
        if (!m->folded) {
            /* rom 1: the table that stays in storage; rom 2: what the fold absorbs into it.
             * The table starts at the scale of the other weights, not at unit rows: on the
             * tiny preset (200k tokens, 2 seeds) val loss 4.88 against 4.93 with std 1. */
            ADD(table, "table", V, p, INIT_NORMAL, 0.02f, 0, 1);
            ADD(proj, "proj.weight", p, d, INIT_NORMAL, 0.02f, 1, 2);
            ADD(proj_norm, "proj_norm.weight", p, 0, INIT_ONES, 0, 0, 2);
        }
        ADD(w_gate, "gate.weight", p, d, INIT_NORMAL, 0.02f, 1, 0);
        ADD(w_out, "out.weight", d, p, INIT_NORMAL, 0.02f, 1, 0);
        ADD(out_norm, "out_norm.weight", d, 0, INIT_ONES, 0, 0, 0);
#undef ADD
    }
    return OK;
}

void ple_acts_free(PleActs *a) {
    float *all[] = {a->in, a->s, a->q, a->q_rstd, a->qn, a->e, a->gpre, a->gact, a->u,
                    a->o, a->o_rstd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    memset(a, 0, sizeof *a);
}

int ple_acts_create(PleActs *a, const ModelConfig *c, long N) {
    long d = c->d_model, p = ple_config(c)->width;
    ple_acts_free(a);
    Allocs al = {0};
    a->in = floats_zeroed(&al, N * d); a->s = floats_zeroed(&al, N * p); a->q = floats_zeroed(&al, N * p); a->q_rstd = floats_zeroed(&al, N);
    a->qn = floats_zeroed(&al, N * p); a->e = floats_zeroed(&al, N * p); a->gpre = floats_zeroed(&al, N * p);
    a->gact = floats_zeroed(&al, N * p); a->u = floats_zeroed(&al, N * p); a->o = floats_zeroed(&al, N * d); a->o_rstd = floats_zeroed(&al, N);
    return al.failed ? error_set(ERR_FAILURE, "out of memory for PLE activations") : OK;
}

static int reserve(Model *m, int B, int T) {
    const ModelConfig *c = &m->cfg;
    PleState *st = state(m);
    long N = (long)B * T, d = c->d_model, p = ple_config(c)->width;
    for (int l = 0; l < c->n_layers; l++)
        if (st->w[l].active && ple_acts_create(&st->acts[l], c, N)) return ERR_FAILURE;
    float **bufs[] = {&st->d_small, &st->d_small2, &st->d_small3, &st->d_wide};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(*bufs[i]);
    Allocs al = {0};
    st->d_small = floats_zeroed(&al, N * p); st->d_small2 = floats_zeroed(&al, N * p); st->d_small3 = floats_zeroed(&al, N * p);
    st->d_wide = floats_zeroed(&al, N * d);
    return al.failed ? error_set(ERR_FAILURE, "out of memory for PLE gradients") : OK;
}

static MemorySite site(const Model *m, int l) {
    return state(m)->w[l].active ? SITE_AFTER_FFN : SITE_NONE;
}

void ple_embedding_forward(const ModelConfig *c, const PleWeights *w, const int32_t *tokens,
                           const float *u, int N, PleActs *a) {
    int d = c->d_model, p = ple_config(c)->width;
    long n = (long)N * p;
    embedding_forward(a->s, w->table, tokens, N, p);
    matmul_forward(a->q, u, w->proj, N, d, p, 0);
    rmsnorm_forward(a->qn, a->q_rstd, a->q, w->proj_norm, N, p, c->norm_eps);
    for (long i = 0; i < n; i++) a->e[i] = (a->s[i] + a->qn[i]) * INV_SQRT2;
}

void ple_rows_forward(const Model *m, int l, const int32_t *tokens, const uint8_t *const *rom_rows,
                      const float *embedded,
                      const float *in, float *out, int n, PleActs *a, float *y) {
    const ModelConfig *c = &m->cfg;
    const PleState *st = state(m);
    const PleWeights *w = &st->w[l];
    int d = c->d_model, p = ple_config(c)->width;
    long np = (long)n * p;
    memcpy(a->in, in, sizeof(float) * n * d);   /* in may alias out */
    if (m->folded) memory_tables_gather(&st->folded, l, tokens, rom_rows, n, a->e);
    else ple_embedding_forward(c, w, tokens, embedded, n, a);
    matmul_forward(a->gpre, a->in, w->w_gate, n, d, p, 0);
    activation_forward(ACT_GELU, a->gact, a->gpre, np);
    for (long i = 0; i < np; i++) a->u[i] = a->gact[i] * a->e[i];
    matmul_forward(a->o, a->u, w->w_out, n, p, d, 0);
    rmsnorm_forward(y, a->o_rstd, a->o, w->out_norm, n, d, c->norm_eps);
    vector_add(out, y, (long)n * d);
}

static void forward(Model *m, int l, const float *in, float *out, int B, int T) {
    PleState *st = state(m);
    /* d_wide is free during the forward */
    ple_rows_forward(m, l, m->tokens, NULL, m->embedded, in, out, B * T, &st->acts[l], st->d_wide);
}

static void zero(float *p, long n) { memset(p, 0, sizeof(float) * n); }

/* de[N, p]: gradient of ple_l[x]; T_l, W_l, the norm gain and m->d_embedded receive theirs. */
static void embedding_backward_training(Model *m, int l, float *de, int N) {
    const ModelConfig *c = &m->cfg;
    PleState *st = state(m);
    const PleWeights *w = &st->w[l];
    PleWeights *g = &st->g[l];
    const PleActs *a = &st->acts[l];
    int d = c->d_model, p = ple_config(c)->width;
    long n = (long)N * p;
    vector_scale(de, INV_SQRT2, n);   /* now the gradient of both T_l[x] and the norm output */
    embedding_backward(g->table, de, m->tokens, N, p);
    float *dq = st->d_small3;
    zero(dq, n);
    rmsnorm_backward(dq, g->proj_norm, de, a->q, w->proj_norm, a->q_rstd, N, p);
    matmul_backward(m->d_embedded, g->proj, dq, m->embedded, w->proj, N, d, p);
}

static void backward(Model *m, int l, const float *dout, float *din, int B, int T) {
    const ModelConfig *c = &m->cfg;
    PleState *st = state(m);
    const PleWeights *w = &st->w[l];
    PleWeights *g = &st->g[l];
    const PleActs *a = &st->acts[l];
    int N = B * T, d = c->d_model, p = ple_config(c)->width;
    long n = (long)N * p;
    float *d_o = st->d_wide, *du = st->d_small, *de = st->d_small2, *dgpre = st->d_small3;
    /* dout is read here only, so din (which may alias it) can be added to afterwards */
    zero(d_o, (long)N * d);
    rmsnorm_backward(d_o, g->out_norm, dout, a->o, w->out_norm, a->o_rstd, N, d);
    zero(du, n);
    matmul_backward(du, g->w_out, d_o, a->u, w->w_out, N, p, d);
    for (long i = 0; i < n; i++) { de[i] = du[i] * a->gact[i]; du[i] *= a->e[i]; }
    zero(dgpre, n);
    activation_backward(ACT_GELU, dgpre, du, a->gpre, n);
    matmul_backward(din, g->w_gate, dgpre, a->in, w->w_gate, N, d, p);
    if (!m->folded) embedding_backward_training(m, l, de, N);
}

/* Folding in chunks: the training-form rows of `n` tokens, into out[n, p]. */
static void fold_rows(const Model *m, int layer, const int32_t *tokens, const float *embedded,
                      int n, float *out, void *scratch) {
    PleActs *a = scratch;
    ple_embedding_forward(&m->cfg, &state(m)->w[layer], tokens, embedded, n, a);
    memcpy(out, a->e, sizeof(float) * (size_t)n * ple_config(&m->cfg)->width);
}

static int fold(Model *trained, Model *folded) {
    const ModelConfig *c = &trained->cfg;
    PleState *dst = state(folded);
    enum { CHUNK = 256 };
    PleActs a = {0};
    int rc = ple_acts_create(&a, c, CHUNK);
    for (int l = 0; l < c->n_layers && !rc; l++)
        if (state(trained)->w[l].active)
            rc = memory_tables_compute(&dst->folded, trained, l, fold_rows, &a, CHUNK);
    ple_acts_free(&a);
    return rc;
}

static void accounting(const Model *m, Accounting *acc) {
    const ModelConfig *c = &m->cfg;
    double d = c->d_model, p = ple_config(c)->width;
    int layers = 0;
    for (int l = 0; l < c->n_layers; l++) layers += ple_config(c)->layers[l] != 0;
    /* multiply-adds of the matmuls, as the dense part is counted: W_g and W_p, and in
     * training also W_l (the fold turns it into the lookup) */
    double inference_macs = 2 * d * p, training_macs = inference_macs + d * p;
    acc->rom_weights += (long)layers * c->vocab_size * ple_config(c)->width;
    acc->train_flops_per_token += 3 * 2 * layers * training_macs;
    acc->inference_flops_per_token += 2 * layers * inference_macs;
}

static void rom_tables(const Model *m, RomTableList *list) {
    memory_tables_list(&state(m)->folded, ple_config(&m->cfg)->layers, m->cfg.n_layers, list);
}

static void attach_rom(Model *m, const RomTable *rom) { state(m)->folded.rom = rom; }

static void release(Model *m) {
    PleState *st = state(m);
    if (!st) return;
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (st->acts) ple_acts_free(&st->acts[l]);
    float *bufs[] = {st->d_small, st->d_small2, st->d_small3, st->d_wide};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    memory_tables_free(&st->folded);
    free(st->acts);
    free(st->w);
    free(st->g);
    free(st);
    m->memory = NULL;
}

/* ---- decoding: the training forward's rows, with buffers for `rows` rows -------------- */

typedef struct {
    PleActs a;
    float *y;   /* [rows, d] the module's output */
} PleInfer;

static void infer_free(void *p) {
    PleInfer *s = p;
    if (!s) return;
    ple_acts_free(&s->a);
    free(s->y);
    free(s);
}

static int infer_create(const Model *m, int context, int rows, void **out) {
    PleInfer *s = calloc(1, sizeof *s);
    if (!s || !(s->y = floats_zeroed(NULL, (size_t)rows * m->cfg.d_model))) {
        infer_free(s);
        return error_set(ERR_FAILURE, "engine: out of memory");
    }
    int rc = ple_acts_create(&s->a, &m->cfg, rows);
    if (rc) { infer_free(s); return rc; }
    *out = s;
    return OK;
}

static void infer(const Model *m, void *p, int layer, const int32_t *tokens, const float *embedded,
                  const float *in, float *out, int n, int pos, const uint8_t *const *rom_rows) {
    PleInfer *s = p;
    ple_rows_forward(m, layer, tokens, rom_rows, embedded, in, out, n, &s->a, s->y);
}

const MemoryOps PLE_OPS = {
    .name = "ple",
    .fields = FIELDS,
    .n_fields = sizeof FIELDS / sizeof FIELDS[0],
    .config_defaults = config_defaults,
    .config_resolve = config_resolve,
    .config_check = config_check,
    .infer_create = infer_create,
    .infer_free = infer_free,
    .infer = infer,
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
