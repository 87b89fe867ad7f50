#include "models/model.h"
#include "models/memory.h"
#include "formats/romtable.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/crossentropy.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "util/error.h"
#include "util/sysmem.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float INIT_STD = 0.02f;

/* Parameter names follow Hugging Face's Qwen3 so the PyTorch reference maps one to one. */
static void declare_layer(Model *m, int l) {
    const ModelConfig *c = &m->cfg;
    LayerWeights *w = &m->w[l], *g = &m->g[l];
    long d = c->d_model, q_dim = (long)c->n_heads * c->head_dim, kv_dim = (long)c->n_kv_heads * c->head_dim;
    char name[96];
#define ADD(field, fmt, d0, d1, init, decay)                                           \
    snprintf(name, sizeof name, "layers.%d." fmt, l);                                  \
    params_add(&m->params, name, d0, d1, 0, init, INIT_STD, decay, 0, &w->field, &g->field)
    ADD(attn_norm, "input_layernorm.weight", d, 0, INIT_ONES, 0);
    ADD(wq, "self_attn.q_proj.weight", q_dim, d, INIT_NORMAL, 1);
    ADD(wk, "self_attn.k_proj.weight", kv_dim, d, INIT_NORMAL, 1);
    ADD(wv, "self_attn.v_proj.weight", kv_dim, d, INIT_NORMAL, 1);
    ADD(wo, "self_attn.o_proj.weight", d, q_dim, INIT_NORMAL, 1);
    params_mark_output(&m->params);
    if (c->qk_norm) {
        ADD(q_norm, "self_attn.q_norm.weight", c->head_dim, 0, INIT_ONES, 0);
        ADD(k_norm, "self_attn.k_norm.weight", c->head_dim, 0, INIT_ONES, 0);
    }
    ADD(ffn_norm, "post_attention_layernorm.weight", d, 0, INIT_ONES, 0);
    ADD(w_gate, "mlp.gate_proj.weight", c->ffn_hidden, d, INIT_NORMAL, 1);
    ADD(w_up, "mlp.up_proj.weight", c->ffn_hidden, d, INIT_NORMAL, 1);
    ADD(w_down, "mlp.down_proj.weight", d, c->ffn_hidden, INIT_NORMAL, 1);
    params_mark_output(&m->params);
#undef ADD
}

int model_create(Model *m, const ModelConfig *cfg, int folded, int training) {
    return model_create_within(m, cfg, folded, training, -1);
}

int model_declare(Model *m, const ModelConfig *cfg, int folded) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int rc = model_config_validate(&m->cfg);
    if (rc) return rc;
    const ModelConfig *c = &m->cfg;
    m->folded = folded;
    m->w = calloc((size_t)c->n_layers, sizeof(LayerWeights));
    m->g = calloc((size_t)c->n_layers, sizeof(LayerWeights));
    params_add(&m->params, "embed_tokens.weight", c->vocab_size, c->d_model, 0, INIT_NORMAL,
               INIT_STD, 0, 0, &m->embed, &m->d_embed);
    for (int l = 0; l < c->n_layers; l++) declare_layer(m, l);
    params_add(&m->params, "norm.weight", c->d_model, 0, 0, INIT_ONES, 0, 0, 0, &m->final_norm,
               &m->d_final_norm);
    if (!c->tie_embeddings)
        params_add(&m->params, "lm_head.weight", c->vocab_size, c->d_model, 0, INIT_NORMAL,
                   INIT_STD, 1, 0, &m->lm_head, &m->d_lm_head);
    m->ops = memory_ops(c->memory);
    if (m->ops && (rc = m->ops->declare(m))) return rc;
    return OK;
}

int model_create_within(Model *m, const ModelConfig *cfg, int folded, int training, long max_values) {
    int rc = model_declare(m, cfg, folded);
    if (rc) return rc;
    const ModelConfig *c = &m->cfg;
    if (max_values >= 0) {   /* a config read from a file: its tensors must fit in that file */
        long values = 0;
        int overflow = 0;
        for (int i = 0; i < m->params.count; i++)
            overflow |= __builtin_add_overflow(values, m->params.tensors[i].numel, &values);
        if (overflow || values > max_values) {
            model_free(m);
            return error_set(ERR_INPUT, "the config declares %s%ld parameter values, but the file "
                             "holds at most %ld", overflow ? "over " : "", overflow ? LONG_MAX : values,
                             max_values);
        }
    }
    if ((rc = params_allocate(&m->params, training))) return rc;
    if (c->tie_embeddings) {
        m->lm_head = m->embed;
        m->d_lm_head = m->d_embed;
    }
    return OK;
}

void model_init_weights(Model *m, uint64_t seed) { params_init(&m->params, seed); }

void model_init_weights_recipe(Model *m, uint64_t seed, float std, int scaled) {
    params_set_init_std(&m->params, std, scaled ? std / sqrtf(2.0f * (float)m->cfg.n_layers) : std);
    params_init(&m->params, seed);
}

/* The activation buffers, in one fixed order: a layer's, then the model's. Sizes and slots
 * come from the same lists, so the estimate and the allocation cannot drift apart. */
enum { LAYER_BUFFERS = 18, MODEL_BUFFERS = 20 };

static void layer_slots(LayerActs *a, float **slot[LAYER_BUFFERS]) {
    float **all[LAYER_BUFFERS] = {&a->x_in, &a->h_attn, &a->rstd_attn, &a->q_raw, &a->k_raw, &a->q_rstd,
                                  &a->k_rstd, &a->q, &a->k, &a->v, &a->probs, &a->attn, &a->x_mid,
                                  &a->h_ffn, &a->rstd_ffn, &a->ffn_gate, &a->ffn_up, &a->ffn_act};
    memcpy(slot, all, sizeof all);
}

static void model_slots(Model *m, float **slot[MODEL_BUFFERS]) {
    float **all[MODEL_BUFFERS] = {&m->embedded, &m->d_embedded, &m->x_final, &m->h_final, &m->rstd_final,
                                  &m->logits, &m->losses, &m->cos_table, &m->sin_table, &m->dx, &m->dh,
                                  &m->dq, &m->dk, &m->dv, &m->dattn, &m->dgate, &m->dup, &m->dact,
                                  &m->scratch, &m->log_sums};
    memcpy(slot, all, sizeof all);
}

/* Element counts of every buffer for B x T (same order as the slots); ERR_INPUT when
 * B * T rows do not fit an int (the kernels index rows with int) or a count overflows. */
static int activation_counts(const ModelConfig *c, long B, long T, size_t layer[LAYER_BUFFERS],
                             size_t model[MODEL_BUFFERS]) {
    if (B < 1 || T < 1) return error_set(ERR_INPUT, "batch %ld x seq_len %ld: both must be positive", B, T);
    if (B > INT_MAX / T)
        return error_set(ERR_INPUT, "batch %ld x seq_len %ld = %.3g rows per step, more than %d", B, T,
                         (double)B * T, INT_MAX);
    size_t N = (size_t)B * (size_t)T, d = c->d_model, F = c->ffn_hidden, V = c->vocab_size;
    size_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, q_dim = H * hd, kv_dim = KV * hd;
    size_t wide = q_dim > F ? q_dim : F, probs = 0;
    int bad = size_mul(&probs, (size_t)B * H, (size_t)attention_probs_size((int)T));
    size_t per_row_layer[LAYER_BUFFERS] = {d, d, 1, q_dim, kv_dim, H, KV, q_dim, kv_dim, kv_dim, 0, q_dim,
                                           d, d, 1, F, F, F};
    size_t per_row_model[MODEL_BUFFERS] = {d, d, d, d, 1, V, 1, 0, 0, d, d, q_dim, kv_dim, kv_dim, q_dim,
                                           F, F, F, wide, 1};
    for (int i = 0; i < LAYER_BUFFERS; i++) bad |= size_mul(&layer[i], N, per_row_layer[i]);
    for (int i = 0; i < MODEL_BUFFERS; i++) bad |= size_mul(&model[i], N, per_row_model[i]);
    layer[10] = probs;                  /* [B, H, attention_probs_size(T)] */
    model[7] = model[8] = (size_t)T * hd / 2;                 /* RoPE cos and sin */
    if (bad) return error_set(ERR_INPUT, "batch %ld x seq_len %ld: activation sizes overflow", B, T);
    return OK;
}

int model_activation_bytes(const ModelConfig *c, long B, long T, size_t *bytes) {
    size_t layer[LAYER_BUFFERS], model[MODEL_BUFFERS], per_layer = 0, total = 0;
    int rc = activation_counts(c, B, T, layer, model);
    if (rc) return rc;
    int bad = 0;
    for (int i = 0; i < LAYER_BUFFERS; i++) bad |= size_add(&per_layer, per_layer, layer[i]);
    bad |= size_mul(&total, per_layer, (size_t)c->n_layers);
    for (int i = 0; i < MODEL_BUFFERS; i++) bad |= size_add(&total, total, model[i]);
    bad |= size_add(&total, total, 2 * (size_t)B * (size_t)T);    /* tokens, targets (int32) */
    bad |= size_mul(&total, total, sizeof(float));
    if (bad) return error_set(ERR_INPUT, "batch %ld x seq_len %ld: activation sizes overflow", B, T);
    *bytes = total;
    return OK;
}

int model_check_activations(const ModelConfig *c, long B, long T) {
    size_t bytes, limit = system_memory_bytes();
    int rc = model_activation_bytes(c, B, T, &bytes);
    if (rc) return rc;
    if (bytes > limit) {
        char need[32], have[32];
        memory_text(need, sizeof need, (double)bytes);
        memory_text(have, sizeof have, (double)limit);
        return error_set(ERR_INPUT, "batch %ld x seq_len %ld needs %s of activations, more than this machine's "
                         "%s of memory", B, T, need, have);
    }
    return OK;
}

/* Every activation buffer, for freeing before a re-allocation and at the end. */
static void free_activations(Model *m) {
    float **slot[LAYER_BUFFERS > MODEL_BUFFERS ? LAYER_BUFFERS : MODEL_BUFFERS];
    for (int l = 0; m->acts && l < m->cfg.n_layers; l++) {
        layer_slots(&m->acts[l], slot);
        for (int i = 0; i < LAYER_BUFFERS; i++) { free(*slot[i]); *slot[i] = NULL; }
    }
    model_slots(m, slot);
    for (int i = 0; i < MODEL_BUFFERS; i++) { free(*slot[i]); *slot[i] = NULL; }
}

static int allocate(float **slot, size_t count) {
    *slot = calloc(count ? count : 1, sizeof(float));
    return *slot ? 0 : -1;
}

int model_reserve(Model *m, int B, int T) {
    const ModelConfig *c = &m->cfg;
    size_t layer[LAYER_BUFFERS], model[MODEL_BUFFERS];
    int rc = activation_counts(c, B, T, layer, model);
    if (rc) return rc;
    if (m->reserved_rows >= B * T && m->reserved_T >= T) { m->B = B; m->T = T; return OK; }
    if ((rc = model_check_activations(c, B, T))) return rc;
    /* nothing counts as reserved until every buffer is there: a failed call leaves none */
    m->reserved_rows = m->reserved_T = 0;
    free_activations(m);
    free(m->tokens);
    free(m->targets);
    size_t N = (size_t)B * (size_t)T;
    m->tokens = malloc(sizeof(int32_t) * N);
    m->targets = malloc(sizeof(int32_t) * N);
    if (!m->acts) m->acts = calloc((size_t)c->n_layers, sizeof(LayerActs));
    int failed = !m->tokens || !m->targets || !m->acts;
    float **slot[LAYER_BUFFERS > MODEL_BUFFERS ? LAYER_BUFFERS : MODEL_BUFFERS];
    for (int l = 0; !failed && l < c->n_layers; l++) {
        layer_slots(&m->acts[l], slot);
        for (int i = 0; i < LAYER_BUFFERS && !failed; i++) failed = allocate(slot[i], layer[i]);
    }
    if (!failed) {
        model_slots(m, slot);
        for (int i = 0; i < MODEL_BUFFERS && !failed; i++) failed = allocate(slot[i], model[i]);
    }
    if (failed) {
        free_activations(m);
        char need[32];
        size_t bytes = 0;
        model_activation_bytes(c, B, T, &bytes);
        memory_text(need, sizeof need, (double)bytes);
        return error_set(ERR_FAILURE, "out of memory for activations (batch %d x seq_len %d, %s)", B, T, need);
    }
    rope_table(m->cos_table, m->sin_table, T, c->head_dim, c->rope_theta);
    m->B = B;
    m->T = T;
    if (m->ops && m->ops->reserve && (rc = m->ops->reserve(m, B, T))) return rc;
    m->reserved_rows = B * T;
    m->reserved_T = T;
    return OK;
}

void model_free(Model *m) {
    if (m->ops && m->ops->release) m->ops->release(m);
    if (m->rom) { rom_table_close(m->rom); free(m->rom); }
    free(m->record);
    free_activations(m);
    free(m->tokens);
    free(m->targets);
    free(m->acts);
    free(m->w);
    free(m->g);
    params_free(&m->params);
    memset(m, 0, sizeof *m);
}

static MemorySite site_of(const Model *m, int l) { return m->ops ? m->ops->site(m, l) : SITE_NONE; }

/* x += memory(in) for layer l; with m->memory_out, also what it added (x after - x before). */
static void memory_forward(Model *m, int l, const float *in, float *x, int B, int T) {
    long n = (long)B * T * m->cfg.d_model;
    float *added = m->memory_out ? m->memory_out + (long)l * n : NULL;
    if (added) memcpy(added, x, sizeof(float) * n);
    m->ops->forward(m, l, in, x, B, T);
    if (added)
        for (long i = 0; i < n; i++) added[i] = x[i] - added[i];
}

/* x[N, d] is the residual stream, updated in place. */
static void block_forward(Model *m, int l, float *x, int B, int T) {
    const ModelConfig *c = &m->cfg;
    const LayerWeights *w = &m->w[l];
    LayerActs *a = &m->acts[l];
    int N = B * T, d = c->d_model, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    int F = c->ffn_hidden;
    MemorySite site = site_of(m, l);

    if (m->memory_out && site == SITE_NONE) memset(m->memory_out + (long)l * N * d, 0, sizeof(float) * N * d);
    if (site == SITE_BEFORE_ATTN) memory_forward(m, l, x, x, B, T);
    memcpy(a->x_in, x, sizeof(float) * N * d);
    rmsnorm_forward(a->h_attn, a->rstd_attn, x, w->attn_norm, N, d, c->norm_eps);
    matmul_forward(a->q_raw, a->h_attn, w->wq, N, d, H * hd, 0);
    matmul_forward(a->k_raw, a->h_attn, w->wk, N, d, KV * hd, 0);
    matmul_forward(a->v, a->h_attn, w->wv, N, d, KV * hd, 0);
    if (c->qk_norm) {
        rmsnorm_forward(a->q, a->q_rstd, a->q_raw, w->q_norm, N * H, hd, c->norm_eps);
        rmsnorm_forward(a->k, a->k_rstd, a->k_raw, w->k_norm, N * KV, hd, c->norm_eps);
    } else {
        memcpy(a->q, a->q_raw, sizeof(float) * N * H * hd);
        memcpy(a->k, a->k_raw, sizeof(float) * N * KV * hd);
    }
    rope_forward(a->q, m->cos_table, m->sin_table, B, T, H, hd);
    rope_forward(a->k, m->cos_table, m->sin_table, B, T, KV, hd);
    attention_forward(a->attn, a->probs, a->q, a->k, a->v, B, T, H, KV, hd);
    matmul_forward(x, a->attn, w->wo, N, H * hd, d, 1);
    if (site == SITE_PARALLEL_ATTN) memory_forward(m, l, a->h_attn, x, B, T);
    if (site == SITE_AFTER_ATTN) memory_forward(m, l, x, x, B, T);

    memcpy(a->x_mid, x, sizeof(float) * N * d);
    rmsnorm_forward(a->h_ffn, a->rstd_ffn, x, w->ffn_norm, N, d, c->norm_eps);
    matmul_forward(a->ffn_gate, a->h_ffn, w->w_gate, N, d, F, 0);
    matmul_forward(a->ffn_up, a->h_ffn, w->w_up, N, d, F, 0);
    swiglu_forward(a->ffn_act, a->ffn_gate, a->ffn_up, (long)N * F);
    matmul_forward(x, a->ffn_act, w->w_down, N, F, d, 1);
    if (site == SITE_PARALLEL_FFN) memory_forward(m, l, a->h_ffn, x, B, T);
    if (site == SITE_AFTER_FFN) memory_forward(m, l, x, x, B, T);
}

double model_forward(Model *m, const int32_t *tokens, const int32_t *targets, int B, int T) {
    const ModelConfig *c = &m->cfg;
    int N = B * T, d = c->d_model, V = c->vocab_size;
    m->B = B;
    m->T = T;
    memcpy(m->tokens, tokens, sizeof(int32_t) * N);
    embedding_forward(m->embedded, m->embed, tokens, N, d);
    memcpy(m->x_final, m->embedded, sizeof(float) * N * d);
    for (int l = 0; l < c->n_layers; l++) block_forward(m, l, m->x_final, B, T);
    rmsnorm_forward(m->h_final, m->rstd_final, m->x_final, m->final_norm, N, d, c->norm_eps);
    matmul_forward(m->logits, m->h_final, m->lm_head, N, d, V, 0);
    if (!targets) return 0;
    memcpy(m->targets, targets, sizeof(int32_t) * N);
    return crossentropy_forward(m->losses, m->log_sums, m->logits, targets, N, V);
}

static void zero(float *p, long n) { memset(p, 0, sizeof(float) * n); }

/* dx[N, d]: gradient of the block's output residual on entry, of its input on exit. */
static void block_backward(Model *m, int l, float *dx, int B, int T) {
    const ModelConfig *c = &m->cfg;
    const LayerWeights *w = &m->w[l];
    LayerWeights *g = &m->g[l];
    LayerActs *a = &m->acts[l];
    int N = B * T, d = c->d_model, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    int F = c->ffn_hidden;
    MemorySite site = site_of(m, l);
    float *dh = m->dh;

    if (site == SITE_AFTER_FFN) m->ops->backward(m, l, dx, dx, B, T);
    /* buffers with one writer get it with = (the *_set kernels) rather than being zeroed
     * and then added into: a memset pass and a read of zeros fewer per buffer */
    matmul_backward_set(m->dact, g->w_down, dx, a->ffn_act, w->w_down, N, F, d);
    swiglu_backward_set(m->dgate, m->dup, m->dact, a->ffn_gate, a->ffn_up, (long)N * F);
    matmul_backward_set(dh, g->w_gate, m->dgate, a->h_ffn, w->w_gate, N, d, F);
    matmul_backward(dh, g->w_up, m->dup, a->h_ffn, w->w_up, N, d, F);
    if (site == SITE_PARALLEL_FFN) m->ops->backward(m, l, dx, dh, B, T);
    rmsnorm_backward(dx, g->ffn_norm, dh, a->x_mid, w->ffn_norm, a->rstd_ffn, N, d);

    if (site == SITE_AFTER_ATTN) m->ops->backward(m, l, dx, dx, B, T);
    matmul_backward_set(m->dattn, g->wo, dx, a->attn, w->wo, N, H * hd, d);
    attention_backward_set(m->dq, m->dk, m->dv, m->dattn, a->probs, a->q, a->k, a->v, B, T, H, KV, hd);
    rope_backward(m->dq, m->cos_table, m->sin_table, B, T, H, hd);
    rope_backward(m->dk, m->cos_table, m->sin_table, B, T, KV, hd);
    float *dq = m->dq, *dk = m->dk;
    if (c->qk_norm) {   /* scratch and dattn (now free) receive the pre-norm gradients */
        rmsnorm_backward_set(m->scratch, g->q_norm, m->dq, a->q_raw, w->q_norm, a->q_rstd, N * H, hd);
        rmsnorm_backward_set(m->dattn, g->k_norm, m->dk, a->k_raw, w->k_norm, a->k_rstd, N * KV, hd);
        dq = m->scratch;
        dk = m->dattn;
    }
    matmul_backward_set(dh, g->wq, dq, a->h_attn, w->wq, N, d, H * hd);
    matmul_backward(dh, g->wk, dk, a->h_attn, w->wk, N, d, KV * hd);
    matmul_backward(dh, g->wv, m->dv, a->h_attn, w->wv, N, d, KV * hd);
    if (site == SITE_PARALLEL_ATTN) m->ops->backward(m, l, dx, dh, B, T);
    rmsnorm_backward(dx, g->attn_norm, dh, a->x_in, w->attn_norm, a->rstd_attn, N, d);
    if (site == SITE_BEFORE_ATTN) m->ops->backward(m, l, dx, dx, B, T);
}

void model_backward(Model *m) {
    const ModelConfig *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, d = c->d_model, V = c->vocab_size;
    /* logits become dlogits in place: d(mean loss)/d logits */
    crossentropy_backward(m->logits, m->logits, m->log_sums, m->targets, N, V, 1.0f / N);
    matmul_backward_set(m->dh, m->d_lm_head, m->logits, m->h_final, m->lm_head, N, d, V);
    rmsnorm_backward_set(m->dx, m->d_final_norm, m->dh, m->x_final, m->final_norm, m->rstd_final, N, d);
    zero(m->d_embedded, (long)N * d);
    for (int l = c->n_layers - 1; l >= 0; l--) block_backward(m, l, m->dx, B, T);
    vector_add(m->d_embedded, m->dx, (long)N * d);
    embedding_backward(m->d_embed, m->d_embedded, m->tokens, N, d);
}

const float *model_layer_output(const Model *m, int layer) {
    return layer + 1 < m->cfg.n_layers ? m->acts[layer + 1].x_in : m->x_final;
}

void model_accounting(const Model *m, Accounting *a) {
    const ModelConfig *c = &m->cfg;
    double d = c->d_model, q_dim = (double)c->n_heads * c->head_dim;
    double kv_dim = (double)c->n_kv_heads * c->head_dim, F = c->ffn_hidden, V = c->vocab_size;
    double context = (c->seq_len + 1) / 2.0;   /* mean keys per query under the causal mask */
    double layer_macs = d * q_dim * 2 + d * kv_dim * 2 + 3 * d * F + 2 * q_dim * context;
    double forward = 2 * (c->n_layers * layer_macs + d * V);
    memset(a, 0, sizeof *a);
    a->ram_params = params_count(&m->params, 0);
    a->training_params = 0;
    for (int i = 0; i < m->params.count; i++) a->training_params += m->params.tensors[i].numel;
    a->train_flops_per_token = 3 * forward;
    a->inference_flops_per_token = forward;
    if (m->ops) m->ops->accounting(m, a);
}
