/* MeKi: per-layer token-indexed memory (PAPER.md, "Training form" and "Re-parameterisation").
 *
 * Training form, per layer with memory, for N tokens x with shared embeddings u = E[x]:
 *   s = M[x]                       [N, m]   static table (V x m)
 *   q = G(u)                       [N, m]   SwiGLU d -> d/2 -> m, or linear d -> m
 *   e = alpha * RMSNorm_m(s + beta q)       (static only: s; dynamic only: beta q)
 *   g = act(h W_gate^T)            [N, m]   act: sigmoid or SiLU
 *   v = e + g  or  e * g
 *   y = RMSNorm_d(v W_out^T)       [N, d]   added to the residual stream
 * Folded form: e = M~[x], with M~ = alpha RMSNorm_m(M + beta G(E)) computed for all V rows. */
#include "models/meki.h"
#include "models/memory.h"
#include "kernels/activation.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/inference.h"
#include "kernels/rmsnorm.h"
#include "formats/romtable.h"
#include "util/alloc.h"
#include "util/error.h"
#include "models/meki_infer.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MekiState *state(const Model *m) { return m->memory; }

/* ---- config ------------------------------------------------------------------------ */

extern const MemoryOps MEKI_OPS;   /* at the end of this file; listed in models/memory.c */

_Static_assert(sizeof(MekiConfig) <= MEMORY_CONFIG_BYTES, "MekiConfig outgrows its block");
_Static_assert(offsetof(MekiConfig, layers) == offsetof(MekiConfig, layers_spec) + LAYER_SPEC_BYTES,
               "F_LAYERS: the flags follow the spec");

MekiConfig *meki_config(const ModelConfig *c) { return memory_config(c, &MEKI_OPS); }

static const char *MEMORY_NAMES[] = {"", "static", "dynamic", "both"};
static const char *POSITION_NAMES[] = {"parallel_ffn", "parallel_attn", "after_attn", "after_ffn"};
static const char *FUSION_NAMES[] = {"add_sigmoid", "mul_sigmoid", "add_silu", "mul_silu"};
static const char *PROJECTOR_NAMES[] = {"swiglu", "linear"};

static int find(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (names[i][0] && strcmp(names[i], s) == 0) return i;
    return -1;
}

const char *meki_memory_name(MekiMemory m) { return MEMORY_NAMES[m]; }
const char *meki_position_name(MekiPosition p) { return POSITION_NAMES[p]; }
const char *meki_fusion_name(MekiFusion f) { return FUSION_NAMES[f]; }
const char *meki_projector_name(MekiProjector p) { return PROJECTOR_NAMES[p]; }
int meki_memory_parse(const char *s) { return find(MEMORY_NAMES, 4, s); }
int meki_position_parse(const char *s) { return find(POSITION_NAMES, 4, s); }
int meki_fusion_parse(const char *s) { return find(FUSION_NAMES, 4, s); }
int meki_projector_parse(const char *s) { return find(PROJECTOR_NAMES, 2, s); }
static const char *memory_name(int v) { return meki_memory_name((MekiMemory)v); }
static const char *position_name(int v) { return meki_position_name((MekiPosition)v); }
static const char *fusion_name(int v) { return meki_fusion_name((MekiFusion)v); }
static const char *projector_name(int v) { return meki_projector_name((MekiProjector)v); }

#define OFF(f) offsetof(MekiConfig, f)
static const ConfigField FIELDS[] = {
    {"meki.d_mem", F_INT, OFF(d_mem), 1, 65536, 0, 0},
    {"meki.memory", F_ENUM, OFF(memory), 0, 0, meki_memory_parse, memory_name},
    {"meki.position", F_ENUM, OFF(position), 0, 0, meki_position_parse, position_name},
    {"meki.fusion", F_ENUM, OFF(fusion), 0, 0, meki_fusion_parse, fusion_name},
    {"meki.projector", F_ENUM, OFF(projector), 0, 0, meki_projector_parse, projector_name},
    {"meki.layers", F_LAYERS, OFF(layers_spec), 0, 0, 0, 0},
};
#undef OFF

static const ReportColumn REPORT_COLUMNS[] = {
    {"meki.d_mem", "d_mem", NULL, "INTEGER", 1},
    {"meki.memory", "meki_memory", "'both'", NULL, 0},
    {"meki.position", "meki_position", "'parallel_ffn'", NULL, 0},
    {"meki.fusion", "meki_fusion", "'add_sigmoid'", NULL, 0},
    {"meki.projector", "meki_projector", "'swiglu'", NULL, 0},
    {"meki.layers", "meki_layers", "'all'", "TEXT", 0},
};

static void config_defaults(void *own, const ModelConfig *c) {
    MekiConfig *k = own;
    k->d_mem = c->d_model / 8;
    k->memory = MEKI_BOTH;
    k->position = POS_PARALLEL_FFN;
    k->fusion = FUSION_ADD_SIGMOID;
    k->projector = PROJECTOR_SWIGLU;
    strcpy(k->layers_spec, "all");
}

static int config_resolve(void *own, const ModelConfig *c) {
    MekiConfig *k = own;
    return config_resolve_layers(k->layers, k->layers_spec, c->n_layers, "meki.layers");
}

static int config_check(const void *own, const ModelConfig *c) {
    const MekiConfig *k = own;
    int rc;
    if ((rc = config_require(k->d_mem > 0, "meki d_mem must be positive")) ||
        (rc = config_require(k->memory >= MEKI_STATIC && k->memory <= MEKI_BOTH, "meki memory")))
        return rc;
    return OK;
}

/* ---- training form ----------------------------------------------------------------- */

static int has_own_norm(const MekiConfig *c) {
    return c->position == POS_AFTER_ATTN || c->position == POS_AFTER_FFN;
}

static int projector_hidden(const ModelConfig *c) { return c->d_model / 2; }

static int declare(Model *m) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = meki_config(c);
    MekiState *st = calloc(1, sizeof *st);
    m->memory = st;
    st->w = calloc((size_t)c->n_layers, sizeof(MekiWeights));
    st->g = calloc((size_t)c->n_layers, sizeof(MekiWeights));
    st->acts = calloc((size_t)c->n_layers, sizeof(MekiActs));
    st->folded.rows = c->vocab_size;
    st->folded.width = meki_config(c)->d_mem;
    long V = c->vocab_size, d = c->d_model, dm = k->d_mem, hidden = projector_hidden(c);
    char name[96];
    for (int l = 0; l < c->n_layers; l++) {
        if (!k->layers[l]) continue;
        MekiWeights *w = &st->w[l], *g = &st->g[l];
        w->active = g->active = 1;
#define ADD(field, suffix, d0, d1, init, std, decay, rom)                                \
    snprintf(name, sizeof name, "layers.%d.meki." suffix, l);                            \
    params_add(&m->params, name, d0, d1, 0, init, std, decay, rom, &w->field, &g->field)
        if (!m->folded) {
            /* Training-only tensors: rom 1 is the table that stays in storage, rom 2 what
             * the fold absorbs into it. */
            if (k->memory & MEKI_STATIC) { ADD(table, "table", V, dm, INIT_NORMAL, 0.02f, 0, 1); }
            if (k->memory & MEKI_DYNAMIC) {
                if (k->projector == PROJECTOR_SWIGLU) {
                    ADD(proj_gate, "proj.gate_proj.weight", hidden, d, INIT_NORMAL, 0.02f, 1, 2);
                    ADD(proj_up, "proj.up_proj.weight", hidden, d, INIT_NORMAL, 0.02f, 1, 2);
                    ADD(proj_down, "proj.down_proj.weight", dm, hidden, INIT_NORMAL, 0.02f, 1, 2);
                    params_mark_output(&m->params);   /* the reference scales it (recipe) */
                } else {
                    ADD(proj_down, "proj.weight", dm, d, INIT_NORMAL, 0.02f, 1, 2);
                }
                ADD(beta, "beta", 1, 0, INIT_ONES, 0, 0, 2);
            }
            ADD(alpha, "alpha", 1, 0, INIT_ONES, 0, 0, 2);
            ADD(mix_norm, "mix_norm.weight", dm, 0, INIT_ONES, 0, 0, 2);
        }
        if (has_own_norm(k)) { ADD(in_norm, "in_norm.weight", d, 0, INIT_ONES, 0, 0, 0); }
        ADD(w_gate, "gate.weight", dm, d, INIT_NORMAL, 0.02f, 1, 0);
        /* folded: transposed, so a decoded row is d_mem axpy passes (linear_forward_t)
         * instead of d dot products d_mem long; the fold writes it from out.weight */
        if (m->folded) {
            ADD(w_out_t, "out_t.weight", dm, d, INIT_NORMAL, 0.02f, 1, 0);
            params_mark_folded_only(&m->params);
        }
        else { ADD(w_out, "out.weight", d, dm, INIT_NORMAL, 0.02f, 1, 0); }
        ADD(out_norm, "out_norm.weight", d, 0, INIT_ONES, 0, 0, 0);
#undef ADD
    }
    return OK;
}

static void free_acts(MekiActs *a) {
    float *all[] = {a->in, a->h, a->in_rstd, a->s, a->p_gate, a->p_up, a->p_act, a->q, a->mix,
                    a->mix_rstd, a->r, a->e, a->gpre, a->gact, a->v, a->o, a->o_rstd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    memset(a, 0, sizeof *a);
}

/* Buffers for N rows of one layer's module. */
static int alloc_acts(MekiActs *a, const ModelConfig *c, long N) {
    long d = c->d_model, dm = meki_config(c)->d_mem, hidden = projector_hidden(c);
    free_acts(a);
    Allocs al = {0};
    a->in = floats_zeroed(&al, N * d); a->h = floats_zeroed(&al, N * d); a->in_rstd = floats_zeroed(&al, N);
    a->s = floats_zeroed(&al, N * dm); a->p_gate = floats_zeroed(&al, N * hidden); a->p_up = floats_zeroed(&al, N * hidden);
    a->p_act = floats_zeroed(&al, N * hidden); a->q = floats_zeroed(&al, N * dm); a->mix = floats_zeroed(&al, N * dm);
    a->mix_rstd = floats_zeroed(&al, N); a->r = floats_zeroed(&al, N * dm); a->e = floats_zeroed(&al, N * dm);
    a->gpre = floats_zeroed(&al, N * dm); a->gact = floats_zeroed(&al, N * dm); a->v = floats_zeroed(&al, N * dm);
    a->o = floats_zeroed(&al, N * d); a->o_rstd = floats_zeroed(&al, N);
    return al.failed ? error_set(ERR_FAILURE, "out of memory for MeKi activations") : OK;
}

static int reserve(Model *m, int B, int T) {
    const ModelConfig *c = &m->cfg;
    MekiState *st = state(m);
    long N = (long)B * T, d = c->d_model, dm = meki_config(c)->d_mem, hidden = projector_hidden(c);
    for (int l = 0; l < c->n_layers; l++)
        if (st->w[l].active && alloc_acts(&st->acts[l], c, N)) return ERR_FAILURE;
    float **bufs[] = {&st->d_small, &st->d_small2, &st->d_e, &st->d_hidden, &st->d_hidden2,
                      &st->d_wide, &st->d_wide2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(*bufs[i]);
    Allocs al = {0};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        long width = i < 3 ? dm : i < 5 ? hidden : d;   /* d_small, d_small2, d_e | d_hidden* | d_wide* */
        *bufs[i] = floats_zeroed(&al, (size_t)(N * width));
    }
    return al.failed ? error_set(ERR_FAILURE, "out of memory for MeKi gradients") : OK;
}

static MemorySite site(const Model *m, int l) {
    if (!state(m)->w[l].active) return SITE_NONE;
    switch (meki_config(&m->cfg)->position) {
    case POS_PARALLEL_FFN: return SITE_PARALLEL_FFN;
    case POS_PARALLEL_ATTN: return SITE_PARALLEL_ATTN;
    case POS_AFTER_ATTN: return SITE_AFTER_ATTN;
    case POS_AFTER_FFN: return SITE_AFTER_FFN;
    }
    return SITE_NONE;
}

void meki_expert_forward(const ModelConfig *c, const MekiWeights *w, const int32_t *tokens,
                         const float *u, int N, MekiActs *a) {
    const MekiConfig *k = meki_config(c);
    int d = c->d_model, dm = k->d_mem, hidden = projector_hidden(c);
    long n = (long)N * dm;
    if (k->memory & MEKI_STATIC) embedding_forward(a->s, w->table, tokens, N, dm);
    else memset(a->s, 0, sizeof(float) * n);
    if (k->memory & MEKI_DYNAMIC) {
        if (k->projector == PROJECTOR_SWIGLU) {
            matmul_forward(a->p_gate, u, w->proj_gate, N, d, hidden, 0);
            matmul_forward(a->p_up, u, w->proj_up, N, d, hidden, 0);
            swiglu_forward(a->p_act, a->p_gate, a->p_up, (long)N * hidden);
            matmul_forward(a->q, a->p_act, w->proj_down, N, hidden, dm, 0);
        } else {
            matmul_forward(a->q, u, w->proj_down, N, d, dm, 0);
        }
    }
    float beta = (k->memory & MEKI_DYNAMIC) ? w->beta[0] : 0.0f;
    for (long i = 0; i < n; i++) a->mix[i] = a->s[i] + (beta != 0.0f ? beta * a->q[i] : 0.0f);
    rmsnorm_forward(a->r, a->mix_rstd, a->mix, w->mix_norm, N, dm, c->norm_eps);
    float alpha = w->alpha[0];
    for (long i = 0; i < n; i++) a->e[i] = alpha * a->r[i];
}

static Activation gate_activation(MekiFusion f) {
    return f == FUSION_ADD_SIGMOID || f == FUSION_MUL_SIGMOID ? ACT_SIGMOID : ACT_SILU;
}

static int multiplicative(MekiFusion f) { return f == FUSION_MUL_SIGMOID || f == FUSION_MUL_SILU; }

static void forward(Model *m, int l, const float *in, float *out, int B, int T) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = meki_config(c);
    MekiState *st = state(m);
    const MekiWeights *w = &st->w[l];
    MekiActs *a = &st->acts[l];
    int N = B * T, d = c->d_model, dm = k->d_mem;
    long n = (long)N * dm;
    memcpy(a->in, in, sizeof(float) * N * d);   /* in may alias out */
    const float *h = a->in;
    if (has_own_norm(k)) {
        rmsnorm_forward(a->h, a->in_rstd, a->in, w->in_norm, N, d, c->norm_eps);
        h = a->h;
    }
    if (m->folded) {
        memory_tables_gather(&st->folded, l, m->tokens, NULL, N, a->e);
    } else {
        meki_expert_forward(c, w, m->tokens, m->embedded, N, a);
    }
    matmul_forward(a->gpre, h, w->w_gate, N, d, dm, 0);
    activation_forward(gate_activation(k->fusion), a->gact, a->gpre, n);
    if (multiplicative(k->fusion))
        for (long i = 0; i < n; i++) a->v[i] = a->e[i] * a->gact[i];
    else
        for (long i = 0; i < n; i++) a->v[i] = a->e[i] + a->gact[i];
    if (m->folded) linear_forward_t(a->o, a->v, w->w_out_t, N, dm, d);
    else matmul_forward(a->o, a->v, w->w_out, N, dm, d, 0);
    float *y = st->d_wide2;   /* free during the forward */
    rmsnorm_forward(y, a->o_rstd, a->o, w->out_norm, N, d, c->norm_eps);
    vector_add(out, y, (long)N * d);
}

static void zero(float *p, long n) { memset(p, 0, sizeof(float) * n); }

/* de[N, m]: gradient of the expert vectors; parameters and m->d_embedded receive theirs. */
static void expert_backward(Model *m, int l, const float *de, int N) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = meki_config(c);
    MekiState *st = state(m);
    const MekiWeights *w = &st->w[l];
    MekiWeights *g = &st->g[l];
    const MekiActs *a = &st->acts[l];
    int d = c->d_model, dm = k->d_mem, hidden = projector_hidden(c);
    long n = (long)N * dm;
    float *dr = st->d_small, *dmix = st->d_small2;
    double dalpha = 0;
    for (long i = 0; i < n; i++) { dalpha += (double)de[i] * a->r[i]; dr[i] = w->alpha[0] * de[i]; }
    g->alpha[0] += (float)dalpha;
    zero(dmix, n);
    rmsnorm_backward(dmix, g->mix_norm, dr, a->mix, w->mix_norm, a->mix_rstd, N, dm);
    if (k->memory & MEKI_STATIC) embedding_backward(g->table, dmix, m->tokens, N, dm);
    if (!(k->memory & MEKI_DYNAMIC)) return;
    double dbeta = 0;
    float *dq = dr;   /* dr is no longer needed */
    for (long i = 0; i < n; i++) { dbeta += (double)dmix[i] * a->q[i]; dq[i] = w->beta[0] * dmix[i]; }
    g->beta[0] += (float)dbeta;
    if (k->projector == PROJECTOR_SWIGLU) {
        float *dact = st->d_hidden, *dgate = st->d_hidden2, *dup = st->d_wide;
        zero(dact, (long)N * hidden);
        matmul_backward(dact, g->proj_down, dq, a->p_act, w->proj_down, N, hidden, dm);
        zero(dgate, (long)N * hidden);
        zero(dup, (long)N * hidden);
        swiglu_backward(dgate, dup, dact, a->p_gate, a->p_up, (long)N * hidden);
        matmul_backward(m->d_embedded, g->proj_gate, dgate, m->embedded, w->proj_gate, N, d, hidden);
        matmul_backward(m->d_embedded, g->proj_up, dup, m->embedded, w->proj_up, N, d, hidden);
    } else {
        matmul_backward(m->d_embedded, g->proj_down, dq, m->embedded, w->proj_down, N, d, dm);
    }
}

static void backward(Model *m, int l, const float *dout, float *din, int B, int T) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = meki_config(c);
    MekiState *st = state(m);
    const MekiWeights *w = &st->w[l];
    MekiWeights *g = &st->g[l];
    const MekiActs *a = &st->acts[l];
    int N = B * T, d = c->d_model, dm = k->d_mem;
    long n = (long)N * dm;
    float *d_o = st->d_wide2, *dv = st->d_small, *dgpre = st->d_small2;
    zero(d_o, (long)N * d);
    rmsnorm_backward(d_o, g->out_norm, dout, a->o, w->out_norm, a->o_rstd, N, d);
    zero(dv, n);
    matmul_backward(dv, g->w_out, d_o, a->v, w->w_out, N, dm, d);   /* training form: never folded */
    /* dv becomes dgact in place once de is taken from it */
    float *de = st->d_e;
    if (multiplicative(k->fusion))
        for (long i = 0; i < n; i++) { de[i] = dv[i] * a->gact[i]; dv[i] *= a->e[i]; }
    else
        memcpy(de, dv, sizeof(float) * n);
    zero(dgpre, n);
    activation_backward(gate_activation(k->fusion), dgpre, dv, a->gpre, n);
    const float *h = has_own_norm(k) ? a->h : a->in;
    float *dh = st->d_wide;
    zero(dh, (long)N * d);
    matmul_backward(dh, g->w_gate, dgpre, h, w->w_gate, N, d, dm);
    if (has_own_norm(k))
        rmsnorm_backward(din, g->in_norm, dh, a->in, w->in_norm, a->in_rstd, N, d);
    else
        vector_add(din, dh, (long)N * d);
    if (!m->folded) expert_backward(m, l, de, N);
}

/* Folding in chunks: the training-form expert vectors of n tokens, into out[n, m]. */
static void fold_rows(const Model *m, int layer, const int32_t *tokens, const float *embedded,
                      int n, float *out, void *scratch) {
    MekiActs *a = scratch;
    meki_expert_forward(&m->cfg, &state(m)->w[layer], tokens, embedded, n, a);
    memcpy(out, a->e, sizeof(float) * (size_t)n * meki_config(&m->cfg)->d_mem);
}

/* M~_l for all V tokens, through the training-form expert path; W_out transposed. */
static int fold(Model *trained, Model *folded) {
    const ModelConfig *c = &trained->cfg;
    int d = c->d_model, dm = meki_config(c)->d_mem;
    for (int l = 0; l < c->n_layers; l++) {
        const MekiWeights *from = &state(trained)->w[l];
        if (!from->active) continue;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < dm; j++) state(folded)->w[l].w_out_t[(size_t)j * d + i] = from->w_out[(size_t)i * dm + j];
    }
    enum { CHUNK = 256 };
    MekiActs a = {0};
    int rc = alloc_acts(&a, c, CHUNK);
    for (int l = 0; l < c->n_layers && !rc; l++)
        if (state(trained)->w[l].active)
            rc = memory_tables_compute(&state(folded)->folded, trained, l, fold_rows, &a, CHUNK);
    free_acts(&a);
    return rc;
}

static void accounting(const Model *m, Accounting *acc) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = meki_config(c);
    double d = c->d_model, dm = k->d_mem, hidden = projector_hidden(c);
    int layers = 0;
    for (int l = 0; l < c->n_layers; l++) layers += k->layers[l] != 0;
    double fusion_macs = 2 * d * dm;   /* W_gate and W_out */
    double projector_macs = !(k->memory & MEKI_DYNAMIC) ? 0
                          : k->projector == PROJECTOR_SWIGLU ? 2 * d * hidden + hidden * dm
                          : d * dm;
    acc->rom_weights += (long)layers * c->vocab_size * k->d_mem;
    acc->train_flops_per_token += 3 * 2 * layers * (fusion_macs + projector_macs);
    acc->inference_flops_per_token += 2 * layers * fusion_macs;
}

static void rom_tables(const Model *m, RomTableList *list) {
    memory_tables_list(&state(m)->folded, meki_config(&m->cfg)->layers, m->cfg.n_layers, list);
}

static void attach_rom(Model *m, const RomTable *rom) { state(m)->folded.rom = rom; }

static void release(Model *m) {
    MekiState *st = state(m);
    if (!st) return;
    for (int l = 0; l < m->cfg.n_layers; l++) free_acts(&st->acts[l]);
    memory_tables_free(&st->folded);
    float *bufs[] = {st->d_small, st->d_small2, st->d_e, st->d_hidden, st->d_hidden2,
                     st->d_wide, st->d_wide2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(st->acts);
    free(st->w);
    free(st->g);
    free(st);
    m->memory = NULL;
}

/* ---- decoding (models/meki_infer.c) ------------------------------------------------- */

static int infer_create(const Model *m, int context, int rows, void **out) {
    MekiInfer *s = calloc(1, sizeof *s);
    int rc = s ? meki_infer_check(m) : error_set(ERR_FAILURE, "out of memory");
    if (!rc) rc = meki_infer_create(s, &m->cfg, rows);
    if (rc) { free(s); return rc; }
    *out = s;
    return OK;
}

static void infer_free(void *s) {
    if (s) meki_infer_free(s);
    free(s);
}

static void infer(const Model *m, void *s, int layer, const int32_t *tokens, const float *embedded,
                  const float *in, float *out, int n, int pos, const uint8_t *const *rom_rows) {
    meki_infer_forward(m, layer, tokens, rom_rows, embedded, in, out, n, s);
}

static int infer_shared(const Model *m, void *s, int layer, MatvecPart *part) {
    return meki_infer_shared(m, s, layer, part);
}

static int infer_pack(const Model *m, void *s, int dtype, Model *release) {
    return meki_infer_pack(m, s, dtype, release);
}

static int infer_shared_out(const Model *m, void *s, int layer, const int32_t *tokens, const float *embedded,
                            const uint8_t *const *rom_rows, MatvecPart *part) {
    return meki_infer_shared_out(m, s, layer, tokens, rom_rows, embedded, part);
}

const MemoryOps MEKI_OPS = {
    .name = "meki",
    .fields = FIELDS,
    .n_fields = sizeof FIELDS / sizeof FIELDS[0],
    .config_defaults = config_defaults,
    .config_resolve = config_resolve,
    .config_check = config_check,
    .report_columns = REPORT_COLUMNS,
    .n_report_columns = sizeof REPORT_COLUMNS / sizeof REPORT_COLUMNS[0],
    .infer_create = infer_create,
    .infer_free = infer_free,
    .infer = infer,
    .infer_shared = infer_shared,
    .infer_shared_out = infer_shared_out,
    .infer_pack = infer_pack,
    .roundtrip_weights = meki_roundtrip_weights,
    .packed_values = meki_packed_values,
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
