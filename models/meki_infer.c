/* MeKi's forward for the inference engine. The steps are those of models/meki.c's
 * forward (see the formulas there); they are restated here over `n` rows with the
 * inference kernels (kernels/inference.h), so that one decoded token costs matrix-vector
 * products and no OpenMP regions. */
#include "models/meki_infer.h"
#include "models/memory.h"
#include "kernels/inference.h"
#include "kernels/wquant.h"
#include "formats/romtable.h"
#include "util/error.h"
#include <stdlib.h>
#include <string.h>

/* The engine runs this for MeKi models only, whose active variant block is MeKi's; read
 * through the registry so this file needs nothing of models/meki.c. */
static const MekiConfig *config(const ModelConfig *c) { return memory_config(c, memory_ops(c->memory)); }

static int own_norm(const MekiConfig *k) {
    return k->position == POS_AFTER_ATTN || k->position == POS_AFTER_FFN;
}

static int sigmoid_gate(MekiFusion f) { return f == FUSION_ADD_SIGMOID || f == FUSION_MUL_SIGMOID; }

static int multiplicative(MekiFusion f) { return f == FUSION_MUL_SIGMOID || f == FUSION_MUL_SILU; }

int meki_infer_create(MekiInfer *s, const ModelConfig *c, int rows) {
    memset(s, 0, sizeof *s);
    long n = rows, d = c->d_model, dm = config(c)->d_mem, hidden = d / 2;
    MekiActs *a = &s->a;
    float **wide[] = {&a->in, &a->h, &a->o};
    float **narrow[] = {&a->s, &a->q, &a->mix, &a->r, &a->e, &a->gpre};   /* gact, v: in place */
    float **half[] = {&a->p_gate, &a->p_up, &a->p_act};
    int failed = 0;
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) failed |= !(*wide[i] = calloc(n * d, sizeof(float)));
    for (size_t i = 0; i < sizeof narrow / sizeof *narrow; i++) failed |= !(*narrow[i] = calloc(n * dm, sizeof(float)));
    for (size_t i = 0; i < sizeof half / sizeof *half; i++) failed |= !(*half[i] = calloc(n * hidden, sizeof(float)));
    s->rows = rows;
    s->k = config(c);
    if (failed) { meki_infer_free(s); return error_set(ERR_FAILURE, "out of memory for MeKi inference buffers"); }
    return OK;
}

static void free_packed(MekiInfer *s) {
    for (int l = 0; l < MAX_LAYERS; l++) {
        free(s->gate_packed[l]);
        free(s->out_packed[l]);
        s->gate_packed[l] = s->out_packed[l] = NULL;
    }
    free(s->unpacked);
    s->unpacked = NULL;
    s->packed_dtype = WEIGHTS_F32;
}

void meki_infer_free(MekiInfer *s) {
    MekiActs *a = &s->a;
    float *all[] = {a->in, a->h, a->o, a->s, a->q, a->mix, a->r, a->e, a->gpre, a->gact,
                    a->v, a->p_gate, a->p_up, a->p_act};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    free_packed(s);
    memset(s, 0, sizeof *s);
}

/* ---- RAM weights dtype: the folded form's gate and output matrices, [d_mem, d] each ---- */

/* Layer l's two matrices, or 0 when the layer has none (not a MeKi layer). */
static int matrices(const Model *m, int l, float **gate, float **out) {
    const MekiState *st = m->memory;
    *gate = st->w[l].w_gate;
    *out = st->w[l].w_out_t;
    return *gate != NULL;
}

static int fits(const Model *m, int dtype) {
    int d = m->cfg.d_model, dm = config(&m->cfg)->d_mem;
    if (!weights_bytes(dtype, 1, d))
        return error_set(ERR_INPUT, "--weights-dtype %s: d_model %d must be a multiple of %d",
                         weights_dtype_name(dtype), d, QK_BLOCK);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        float *mats[2];
        if (!matrices(m, l, &mats[0], &mats[1])) continue;
        for (int j = 0; j < 2; j++) {
            long at = weights_find_overflow(dtype, mats[j], dm, d);
            if (at >= 0)
                return error_set(ERR_INPUT, "--weights-dtype %s: layer %d's MeKi %s value %g (index %ld) "
                                 "overflows the format", weights_dtype_name(dtype), l,
                                 j ? "output (out_t.weight)" : "gate (gate.weight)", mats[j][at], at);
        }
    }
    return OK;
}

int meki_infer_pack(const Model *m, MekiInfer *s, int dtype, Model *release) {
    free_packed(s);
    if (dtype == WEIGHTS_F32 || !m->folded) return OK;
    int d = m->cfg.d_model, dm = s->k->d_mem, rc;
    if ((rc = fits(m, dtype))) return rc;
    size_t bytes = weights_bytes(dtype, dm, d);
    if (!(s->unpacked = malloc(sizeof(float) * (size_t)dm * d))) goto oom;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        float *gate, *out;
        if (!matrices(m, l, &gate, &out)) continue;
        if (!(s->gate_packed[l] = malloc(bytes)) || !(s->out_packed[l] = malloc(bytes))) goto oom;
        weights_encode(dtype, s->gate_packed[l], gate, dm, d);
        weights_encode(dtype, s->out_packed[l], out, dm, d);
        if (!release) continue;
        MekiWeights *w = &((MekiState *)release->memory)->w[l];
        if ((rc = params_release(&release->params, &w->w_gate)) || (rc = params_release(&release->params, &w->w_out_t))) {
            free_packed(s);
            return rc;
        }
    }
    s->packed_dtype = dtype;
    return OK;
oom:
    free_packed(s);
    return error_set(ERR_FAILURE, "MeKi: out of memory for %s matrices", weights_dtype_name(dtype));
}

int meki_roundtrip_weights(Model *m, int dtype) {
    if (dtype == WEIGHTS_F32 || !m->folded) return OK;
    int rc = fits(m, dtype), d = m->cfg.d_model, dm = config(&m->cfg)->d_mem;
    for (int l = 0; l < m->cfg.n_layers && !rc; l++) {
        float *gate, *out;
        if (!matrices(m, l, &gate, &out)) continue;
        weights_roundtrip(dtype, gate, dm, d);
        weights_roundtrip(dtype, out, dm, d);
    }
    return rc;
}

long meki_packed_values(const Model *m, int dtype, size_t *bytes) {
    long values = 0;
    *bytes = 0;
    if (!m->folded) return 0;
    int d = m->cfg.d_model, dm = config(&m->cfg)->d_mem;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (!config(&m->cfg)->layers[l]) continue;   /* the flags, not the tensors: released ones are NULL */
        values += 2L * dm * d;
        *bytes += 2 * weights_bytes(dtype, dm, d);
    }
    return values;
}

/* out[n, O] = x[n, C] @ weight^T (weight [O, C]), or with transposed x @ weight (weight
 * [C, O]): from the packed copy when there is one, a single row in one pass, more rows by
 * the f32 kernel over the copy decoded (a prefill, which must read what a decode reads). */
static void product(MekiInfer *s, float *out, const float *x, const float *weight, const void *packed,
                    int n, int C, int O, int transposed) {
    if (packed && n == 1) {
        MatvecPart part = {.out = out, .rows = O, .x = x, .cols = C, .transposed = transposed,
                           .packed = packed, .packed_dtype = s->packed_dtype};
        matvec_group(&part, 1, x, C);
        return;
    }
    if (packed) {
        int rows = transposed ? C : O, width = transposed ? O : C;
        for (int r = 0; r < rows; r++)
            weights_decode_row(s->packed_dtype, packed, r, width, s->unpacked + (size_t)r * width);
        weight = s->unpacked;
    }
    if (transposed) linear_forward_t(out, x, weight, n, C, O);
    else linear_forward(out, x, weight, n, C, O, 0);
}

int meki_infer_check(const Model *m) {
    const MekiState *st = m->memory;
    if (!st) return error_set(ERR_INPUT, "MeKi model without its memory state");
    int held = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) held |= st->folded.heap[l] != NULL;
    if (m->folded && !st->folded.rom && !held)
        return error_set(ERR_INPUT, "folded MeKi model without tables (neither heap nor ROM)");
    return OK;
}

int meki_infer_shared(const Model *m, MekiInfer *s, int layer, MatvecPart *part) {
    const MekiConfig *k = s->k;
    if (own_norm(k)) return 0;
    *part = (MatvecPart){.weight = ((const MekiState *)m->memory)->w[layer].w_gate, .out = s->a.gpre,
                         .rows = k->d_mem, .packed = s->gate_packed[layer], .packed_dtype = s->packed_dtype};
    s->gate_ready = 1;
    return 1;
}

/* e[n, m] in training form: alpha * RMSNorm_m(M[x] + beta * G(E[x])). */
static void expert_unfolded(const ModelConfig *c, const MekiWeights *w, const int32_t *tokens,
                            const float *u, int n, MekiActs *a) {
    const MekiConfig *k = config(c);
    int d = c->d_model, dm = k->d_mem, hidden = d / 2;
    long count = (long)n * dm;
    for (int i = 0; i < n; i++) {
        float *row = a->s + (long)i * dm;
        if (k->memory & MEKI_STATIC) memcpy(row, w->table + (long)tokens[i] * dm, sizeof(float) * dm);
        else memset(row, 0, sizeof(float) * dm);
    }
    if (k->memory & MEKI_DYNAMIC) {
        if (k->projector == PROJECTOR_SWIGLU) {
            linear_forward(a->p_gate, u, w->proj_gate, n, d, hidden, 0);
            linear_forward(a->p_up, u, w->proj_up, n, d, hidden, 0);
            swiglu_rows(a->p_act, a->p_gate, a->p_up, (long)n * hidden);
            linear_forward(a->q, a->p_act, w->proj_down, n, hidden, dm, 0);
        } else {
            linear_forward(a->q, u, w->proj_down, n, d, dm, 0);
        }
    }
    float beta = (k->memory & MEKI_DYNAMIC) ? w->beta[0] : 0.0f, alpha = w->alpha[0];
    for (long i = 0; i < count; i++) a->mix[i] = a->s[i] + (beta != 0.0f ? beta * a->q[i] : 0.0f);
    rmsnorm_rows(a->r, a->mix, w->mix_norm, n, dm, c->norm_eps);
    for (long i = 0; i < count; i++) a->e[i] = alpha * a->r[i];
}

/* v[n, m] = e (x or +) act(gate), the output product's input: the expert rows, then the
 * gate (computed here unless the engine's pass did), activated and fused in one pass with v
 * written over e: two narrow buffers touched, not four, so the private scratch grows half as
 * fast with d_mem. */
static float *fused_input(const Model *m, int layer, const int32_t *tokens, const uint8_t *const *rom_rows,
                          const float *embedded, const float *h, int n, MekiInfer *s) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = s->k;
    const MekiState *st = m->memory;
    const MekiWeights *w = &st->w[layer];
    MekiActs *a = &s->a;
    long count = (long)n * k->d_mem;
    if (m->folded)
        memory_tables_gather(&st->folded, layer, tokens, rom_rows, n, a->e);
    else
        expert_unfolded(c, w, tokens, embedded, n, a);
    if (!s->gate_ready) product(s, a->gpre, h, w->w_gate, s->gate_packed[layer], n, c->d_model, k->d_mem, 0);
    s->gate_ready = 0;
    gate_fuse_rows(a->e, a->gpre, count, !sigmoid_gate(k->fusion), multiplicative(k->fusion));
    return a->e;
}

int meki_infer_shared_out(const Model *m, MekiInfer *s, int layer, const int32_t *tokens,
                          const uint8_t *const *rom_rows, const float *embedded, MatvecPart *part) {
    const MekiConfig *k = s->k;
    if (own_norm(k) || !s->gate_ready) return 0;   /* no shared gate: infer does it all */
    const MekiWeights *w = &((const MekiState *)m->memory)->w[layer];
    const float *v = fused_input(m, layer, tokens, rom_rows, embedded, NULL, 1, s);
    *part = (MatvecPart){.weight = m->folded ? w->w_out_t : w->w_out, .out = s->a.o, .rows = m->cfg.d_model,
                         .x = v, .cols = k->d_mem, .transposed = m->folded, .packed = s->out_packed[layer],
                         .packed_dtype = s->packed_dtype};
    s->out_ready = 1;
    return 1;
}

void meki_infer_forward(const Model *m, int layer, const int32_t *tokens, const uint8_t *const *rom_rows,
                        const float *embedded, const float *in, float *out, int n, MekiInfer *s) {
    const ModelConfig *c = &m->cfg;
    const MekiConfig *k = s->k;
    const MekiWeights *w = &((const MekiState *)m->memory)->w[layer];
    MekiActs *a = &s->a;
    int d = c->d_model, dm = k->d_mem;
    if (!s->out_ready) {
        const float *h = in;
        if (own_norm(k)) {   /* after_attn, after_ffn: in is the residual stream, which out is */
            rmsnorm_rows(a->h, in, w->in_norm, n, d, c->norm_eps);
            h = a->h;
        } else if (in == out) {
            memcpy(a->in, in, sizeof(float) * n * d);
            h = a->in;
        }
        const float *v = fused_input(m, layer, tokens, rom_rows, embedded, h, n, s);
        if (m->folded) product(s, a->o, v, w->w_out_t, s->out_packed[layer], n, dm, d, 1);
        else linear_forward(a->o, v, w->w_out, n, dm, d, 0);
    }
    s->out_ready = 0;
    rmsnorm_add_rows(out, a->o, w->out_norm, n, d, c->norm_eps);
}
