/* The inference engine, top to bottom: create (buffers, RoPE tables, KV cache), one step
 * over a few rows (embedding, blocks, final norm, head), the block itself, and the ROM
 * table's prefetch and residency helpers. Shapes follow models/model.c: weights are
 * [out, in] (PyTorch's nn.Linear), rows are tokens. */
#include "infer/engine.h"
#include "infer/sampler.h"
#include "kernels/gemm.h"
#include "kernels/inference.h"
#include "kernels/rope.h"
#include "kernels/wquant.h"
#include "models/memory.h"
#include "formats/romtable.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sysmem.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_CHUNK = 64 };

/* ---- creation ---------------------------------------------------------------------- */


static const RomTable *rom_of(const Engine *e) { return e->model->folded ? e->model->rom : NULL; }

static int check_model(const Model *m, int context) {
    if (!m->params.data) return error_set(ERR_INPUT, "engine: the model has no weights");
    if (m->params.released)
        return error_set(ERR_INPUT, "engine: the model's f32 weights were released to another engine");
    if (context < 1) return error_set(ERR_INPUT, "engine: context must be positive (got %d)", context);
    return OK;
}

static int allocate(Engine *e) {
    const ModelConfig *c = &e->model->cfg;
    size_t rows = (size_t)e->chunk, d = c->d_model, F = c->ffn_hidden;
    size_t q_dim = (size_t)c->n_heads * c->head_dim, kv_dim = (size_t)c->n_kv_heads * c->head_dim;
    size_t cache = (size_t)c->n_layers * e->context * kv_dim, half = (size_t)e->context * c->head_dim / 2;
    e->key_cache = floats_zeroed(NULL, cache);
    e->value_cache = floats_zeroed(NULL, cache);
    e->cos_table = floats_zeroed(NULL, half);
    e->sin_table = floats_zeroed(NULL, half);
    e->embedded = floats_zeroed(NULL, rows * d);
    e->x = floats_zeroed(NULL, rows * d);
    e->h = floats_zeroed(NULL, rows * d);
    e->q = floats_zeroed(NULL, rows * q_dim);
    e->k = floats_zeroed(NULL, rows * kv_dim);
    e->v = floats_zeroed(NULL, rows * kv_dim);
    e->attn = floats_zeroed(NULL, rows * q_dim);
    e->ffn_gate = floats_zeroed(NULL, rows * F);
    e->ffn_up = floats_zeroed(NULL, rows * F);
    e->scores = floats_zeroed(NULL, rows * e->context);
    e->logits = floats_zeroed(NULL, (size_t)c->vocab_size);
    float *all[] = {e->key_cache, e->value_cache, e->cos_table, e->sin_table, e->embedded, e->x,
                    e->h, e->q, e->k, e->v, e->attn, e->ffn_gate, e->ffn_up, e->scores, e->logits};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!all[i]) return error_set(ERR_FAILURE, "engine: out of memory (context %d)", e->context);
    return OK;
}

int engine_create(Engine *e, const Model *m, int context, int chunk) {
    memset(e, 0, sizeof *e);
    int rc = check_model(m, context);
    if (!rc) rc = engine_check_context(&m->cfg, context, chunk);
    if (rc) return rc;
    e->model = m;
    e->context = context;
    e->chunk = chunk > 0 ? chunk : DEFAULT_CHUNK;
    e->candidates_pos = -1;
    int prefetch = rom_of(e) != NULL;
    if (prefetch && !m->ops->prefetch && !(e->rom_rows = calloc((size_t)e->chunk, sizeof *e->rom_rows)))
        return error_set(ERR_FAILURE, "engine: out of memory");
    if ((m->ops && (rc = m->ops->infer_create(m, context, e->chunk, &e->memory))) ||
        (rc = allocate(e)) ||
        (prefetch && (rc = prefetcher_create(&e->prefetcher, rom_of(e), PREFETCH_MADVISE))) ||
        (rc = engine_set_prefetch_topk(e, ENGINE_DEFAULT_PREFETCH_TOPK))) {
        engine_free(e);
        return rc;
    }
    rope_table(e->cos_table, e->sin_table, context, m->cfg.head_dim, m->cfg.rope_theta);
    for (int l = 0; l < m->cfg.n_layers; l++)   /* the engine asks at every site of every step */
        e->site[l] = (unsigned char)(m->ops ? m->ops->site(m, l) : SITE_NONE);
    return OK;
}

void engine_free(Engine *e) {
    float *all[] = {e->key_cache, e->value_cache, e->cos_table, e->sin_table, e->embedded, e->x,
                    e->h, e->q, e->k, e->v, e->attn, e->ffn_gate, e->ffn_up, e->scores, e->logits};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    for (int l = 0; l < MAX_LAYERS; l++) for (int j = 0; j < 7; j++) free(e->packed[l][j]);
    free(e->packed_head);
    free(e->unpacked);
    free(e->candidates);
    free(e->rom_rows);
    if (e->memory) e->model->ops->infer_free(e->memory);
    prefetcher_free(e->prefetcher);
    memset(e, 0, sizeof *e);
}

/* The heap values of an engine for (config, context, chunk); -1 if the count overflows. */
static int engine_values(const ModelConfig *c, size_t context, size_t rows, size_t *out) {
    size_t d = c->d_model, F = c->ffn_hidden, q_dim = (size_t)c->n_heads * c->head_dim;
    size_t kv_dim = (size_t)c->n_kv_heads * c->head_dim, cache, rope, act;
    if (size_mul(&cache, 2 * (size_t)c->n_layers * kv_dim, context) || size_mul(&rope, context, c->head_dim) ||
        size_add(&act, 3 * d + 2 * q_dim + 2 * kv_dim + 2 * F, context) || size_mul(&act, act, rows) ||
        size_add(out, cache, rope) || size_add(out, *out, act) || size_add(out, *out, c->vocab_size) ||
        size_mul(out, *out, sizeof(float)))
        return -1;
    return 0;
}

size_t engine_bytes(const Engine *e) {
    size_t bytes = 0;
    engine_values(&e->model->cfg, (size_t)e->context, (size_t)e->chunk, &bytes);
    return bytes;
}

int engine_check_context(const ModelConfig *c, long context, int chunk) {
    size_t bytes, limit = system_memory_bytes();
    if (context < 1 || context > INT_MAX)
        return error_set(ERR_INPUT, "engine: context %ld is out of range (1..%d)", context, INT_MAX);
    int overflow = engine_values(c, (size_t)context, (size_t)(chunk > 0 ? chunk : DEFAULT_CHUNK), &bytes);
    if (overflow || bytes > limit) {
        char need[32] = "more bytes than a size_t holds", have[32];
        if (!overflow) memory_text(need, sizeof need, (double)bytes);
        memory_text(have, sizeof have, (double)limit);
        return error_set(ERR_INPUT, "engine: a context of %ld positions needs %s for its KV cache and buffers, "
                         "more than this machine's %s of memory", context, need, have);
    }
    return OK;
}

/* ---- smaller RAM weights for decoding ---------------------------------------------- */

static void free_packed(Engine *e) {
    for (int l = 0; l < MAX_LAYERS; l++)
        for (int j = 0; j < 7; j++) { free(e->packed[l][j]); e->packed[l][j] = NULL; }
    free(e->packed_head);
    free(e->unpacked);
    e->packed_head = NULL;
    e->unpacked = NULL;
    e->weights_dtype = WEIGHTS_F32;
}

static void *pack(int dtype, const float *w, long rows, int C) {
    size_t bytes = weights_bytes(dtype, rows, C);
    void *p = bytes ? malloc(bytes) : NULL;
    if (p) weights_encode(dtype, p, w, rows, C);
    return p;
}

static int out_of_memory(Engine *e, int dtype) {
    free_packed(e);
    if (e->memory && e->model->ops->infer_pack)   /* the memory's copies go too: one dtype for all */
        e->model->ops->infer_pack(e->model, e->memory, WEIGHTS_F32, NULL);
    return error_set(ERR_FAILURE, "engine: out of memory for %s weights", weights_dtype_name(dtype));
}

/* Refuses weights that the dtype would hold as inf (a finite 1e30 overflows q8_0's f16
 * block scale), naming the tensor: decoded, one inf turns every later product into nan. */
static int check_fits(const Model *m, int dtype, float *const *mats, const long *rows, const int *cols, int n) {
    for (int j = 0; j < n; j++) {
        long at = weights_find_overflow(dtype, mats[j], rows[j], cols[j]);
        if (at < 0) continue;
        const char *name = "?";
        for (int i = 0; i < m->params.count; i++)
            if (m->params.data + m->params.tensors[i].offset == mats[j]) name = m->params.tensors[i].name;
        return error_set(ERR_INPUT, "--weights-dtype %s: tensor %s holds %g (row %ld), too large for %s%s",
                         weights_dtype_name(dtype), name, mats[j][at], at / cols[j], weights_dtype_name(dtype),
                         dtype == WEIGHTS_Q8_0 ? " (its f16 scale per 32 values overflows)" : "");
    }
    return OK;
}

/* Every matrix the RAM dtype applies to (the blocks' seven and the head), checked. */
static int check_model_fits(const Model *model, int dtype) {
    const ModelConfig *c = &model->cfg;
    int d = c->d_model, q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim, F = c->ffn_hidden;
    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *w = &model->w[l];
        float *const mats[7] = {w->wq, w->wk, w->wv, w->wo, w->w_gate, w->w_up, w->w_down};
        const long rows[7] = {q_dim, kv_dim, kv_dim, d, F, F, d};
        const int cols[7] = {d, d, d, q_dim, d, d, F};
        int rc = check_fits(model, dtype, mats, rows, cols, 7);
        if (rc) return rc;
    }
    float *const head[1] = {model->lm_head};
    const long head_rows[1] = {c->vocab_size};
    return check_fits(model, dtype, head, head_rows, &d, 1);
}

/* Packs every matrix; with `release` (the engine's model), each f32 matrix leaves as soon as
 * its copy exists, so at most one matrix is held twice. */
static int pack_weights(Engine *e, int dtype, Model *release) {
    const Model *model = e->model;
    const ModelConfig *c = &model->cfg;
    int d = c->d_model, q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    int F = c->ffn_hidden, rc;
    if (model->params.released)
        return error_set(ERR_INPUT, "engine: the model's f32 weights were released: its dtype is fixed");
    free_packed(e);
    const MemoryOps *ops = model->ops && model->ops->infer_pack ? model->ops : NULL;
    if (ops && (rc = ops->infer_pack(model, e->memory, WEIGHTS_F32, NULL))) return rc;   /* drops its copies */
    if (dtype == WEIGHTS_F32 && !release) return OK;
    if (dtype == WEIGHTS_F32) return error_set(ERR_INPUT, "engine: f32 weights cannot release the f32 ones");
    if (dtype != WEIGHTS_BF16 && dtype != WEIGHTS_Q8_0)
        return error_set(ERR_INPUT, "engine: unknown weights dtype %d", dtype);
    if (!weights_bytes(dtype, 1, d) || !weights_bytes(dtype, 1, q_dim) || !weights_bytes(dtype, 1, F))
        return error_set(ERR_INPUT, "--weights-dtype %s: widths %d, %d and %d must be multiples of %d",
                         weights_dtype_name(dtype), d, q_dim, F, QK_BLOCK);
    if ((rc = check_model_fits(model, dtype))) return rc;
    /* the memory's own matrices first: it checks them before releasing any */
    if (ops && (rc = ops->infer_pack(model, e->memory, dtype, release))) return rc;
    if (!(e->unpacked = floats_zeroed(NULL, (size_t)(q_dim > F ? q_dim : F) * d))) return out_of_memory(e, dtype);
    for (int l = 0; l < c->n_layers; l++) {
        LayerWeights *w = &model->w[l];   /* release's, when given: the same model */
        float **m[7] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w_gate, &w->w_up, &w->w_down};
        const int rows[7] = {q_dim, kv_dim, kv_dim, d, F, F, d}, cols[7] = {d, d, d, q_dim, d, d, F};
        for (int j = 0; j < 7; j++) {
            if (!(e->packed[l][j] = pack(dtype, *m[j], rows[j], cols[j]))) return out_of_memory(e, dtype);
            if (release && (rc = params_release(&release->params, m[j]))) return rc;
        }
    }
    if (!(e->packed_head = pack(dtype, model->lm_head, c->vocab_size, d))) return out_of_memory(e, dtype);
    e->weights_dtype = dtype;
    if (!release) return OK;
    /* tied: the head is the embedding's tensor, and step decodes its rows from the copy */
    if ((rc = params_release(&release->params, c->tie_embeddings ? &release->embed : &release->lm_head)))
        return rc;
    release->lm_head = NULL;
    return OK;
}

int engine_set_weights_dtype(Engine *e, int dtype) { return pack_weights(e, dtype, NULL); }

int engine_set_weights_dtype_release(Engine *e, Model *m, int dtype) {
    if (m != e->model) return error_set(ERR_INPUT, "engine: releasing the weights of a model it does not read");
    return pack_weights(e, dtype, m);
}

int model_roundtrip_weights(Model *m, int dtype) {
    const ModelConfig *c = &m->cfg;
    int d = c->d_model, q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    int F = c->ffn_hidden;
    if (dtype == WEIGHTS_F32) return OK;
    if (m->params.released) return error_set(ERR_INPUT, "the model's f32 weights were released");
    if (!weights_bytes(dtype, 1, d) || !weights_bytes(dtype, 1, q_dim) || !weights_bytes(dtype, 1, F))
        return error_set(ERR_INPUT, "--weights-dtype %s: widths %d, %d and %d must be multiples of %d",
                         weights_dtype_name(dtype), d, q_dim, F, QK_BLOCK);
    int rc = check_model_fits(m, dtype);
    if (rc) return rc;
    for (int l = 0; l < c->n_layers; l++) {
        LayerWeights *w = &m->w[l];
        float *mat[7] = {w->wq, w->wk, w->wv, w->wo, w->w_gate, w->w_up, w->w_down};
        const int rows[7] = {q_dim, kv_dim, kv_dim, d, F, F, d}, cols[7] = {d, d, d, q_dim, d, d, F};
        for (int j = 0; j < 7; j++) weights_roundtrip(dtype, mat[j], rows[j], cols[j]);
    }
    weights_roundtrip(dtype, m->lm_head, c->vocab_size, d);   /* tied: the embedding too */
    return m->ops && m->ops->roundtrip_weights ? m->ops->roundtrip_weights(m, dtype) : OK;
}

/* One decode product through the packed copy when there is one. */
static MatvecPart part(const Engine *e, const float *w, const void *packed, float *out, int rows, int acc) {
    return (MatvecPart){.weight = w, .out = out, .rows = rows, .accumulate = acc, .packed = packed,
                        .packed_dtype = e->weights_dtype};
}

/* One prefill product, out[n, rows] (+)= in[n, cols] . w^T: from the packed copy when there
 * is one, decoded into the scratch matrix first, so the sgemm reads the values a decode
 * step reads and the f32 matrix is never touched. */
static void linear_rows(Engine *e, float *out, const float *in, const float *w, const void *packed,
                        int n, int cols, int rows, int acc) {
    if (packed) {
        for (int r = 0; r < rows; r++)
            weights_decode_row(e->weights_dtype, packed, r, cols, e->unpacked + (size_t)r * cols);
        w = e->unpacked;
    }
    linear_forward(out, in, w, n, cols, rows, acc);
}

/* ---- one block over n rows at positions pos..pos+n-1 ---------------------------------- */

static MemorySite site_of(const Engine *e, int l) { return (MemorySite)e->site[l]; }

/* The memory module where it sits: out[n, d] += memory(in[n, d]) for rows at pos.. */
static void memory_at(Engine *e, int l, MemorySite here, const int32_t *tokens, const float *in,
                      float *out, int n, int pos) {
    if (site_of(e, l) != here) return;
    e->model->ops->infer(e->model, e->memory, l, tokens, e->embedded, in, out, n, pos, e->rom_rows);
}

/* The memory's product over this site's input, as one more part of the engine's pass over
 * it (MemoryOps.infer_shared); returns the parts in use. */
static int shared_part(Engine *e, int l, MemorySite here, MatvecPart *parts, int used) {
    const Model *m = e->model;
    if (site_of(e, l) != here || !m->ops->infer_shared || !m->ops->infer_shared(m, e->memory, l, &parts[used]))
        return used;
    return used + 1;
}

/* The memory's last product, as one more part of the pass that closes the block at its
 * site (MemoryOps.infer_shared_out); returns the parts in use. With one thread there is no
 * region to share, and the hook's calls cost more than they save (callgrind, small: about
 * 300 instructions per layer and token), so the memory runs the product itself. */
static int shared_out_part(Engine *e, int l, MemorySite here, const int32_t *tokens, MatvecPart *parts,
                           int used) {
    const Model *m = e->model;
    if (kernels_threads() <= 1 || site_of(e, l) != here || !m->ops->infer_shared_out ||
        !m->ops->infer_shared_out(m, e->memory, l, tokens, e->embedded, (const uint8_t *const *)e->rom_rows,
                                  &parts[used]))
        return used;
    return used + 1;
}

/* Attention for n new rows: their keys and values join the cache, then row i attends to
 * positions 0..pos+i (causal within the step too). */
static void attention_step(Engine *e, int l, int n, int pos) {
    const ModelConfig *c = &e->model->cfg;
    const LayerWeights *w = &e->model->w[l];
    int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2;
    size_t kv_dim = (size_t)KV * hd, layer_offset = (size_t)l * e->context * kv_dim;
    float *key_cache = e->key_cache + layer_offset, *value_cache = e->value_cache + layer_offset;
    if (c->qk_norm) {   /* per head, in place: the kernel reads each row before writing it */
        rmsnorm_rows(e->q, e->q, w->q_norm, n * H, hd, c->norm_eps);
        rmsnorm_rows(e->k, e->k, w->k_norm, n * KV, hd, c->norm_eps);
    }
    for (int i = 0; i < n; i++) {
        int p = pos + i;
        rope_apply_one(e->q + (size_t)i * H * hd, e->cos_table + (size_t)p * half,
                       e->sin_table + (size_t)p * half, H, hd);
        rope_apply_one(e->k + (size_t)i * kv_dim, e->cos_table + (size_t)p * half,
                       e->sin_table + (size_t)p * half, KV, hd);
    }
    memcpy(key_cache + (size_t)pos * kv_dim, e->k, sizeof(float) * n * kv_dim);
    memcpy(value_cache + (size_t)pos * kv_dim, e->v, sizeof(float) * n * kv_dim);
    if (n == 1) {   /* decoding: no OpenMP region, whose entry alone costs microseconds */
        attention_query(e->attn, e->q, key_cache, value_cache, e->scores, pos + 1, H, KV, hd);
        return;
    }
#pragma omp parallel for
    for (int i = 0; i < n; i++)
        attention_query(e->attn + (size_t)i * H * hd, e->q + (size_t)i * H * hd, key_cache,
                        value_cache, e->scores + (size_t)i * e->context, pos + i + 1, H, KV, hd);
}

/* x[n, d], the residual stream, is updated in place; the order of the additions is
 * model.c's block_forward's, so the sums round the same way. */
static void block(Engine *e, int l, const int32_t *tokens, int n, int pos) {
    const ModelConfig *c = &e->model->cfg;
    const LayerWeights *w = &e->model->w[l];
    int d = c->d_model, q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    int F = c->ffn_hidden;
    float *x = e->x, *h = e->h;

    memory_at(e, l, SITE_BEFORE_ATTN, tokens, x, x, n, pos);
    rmsnorm_rows(h, x, w->attn_norm, n, d, c->norm_eps);
    if (n == 1) {   /* decoding: Q, K and V in one pass (one thread region) */
        void *const *p = e->packed[l];
        MatvecPart qkv[] = {part(e, w->wq, p[0], e->q, q_dim, 0), part(e, w->wk, p[1], e->k, kv_dim, 0),
                            part(e, w->wv, p[2], e->v, kv_dim, 0), {0}};
        matvec_group(qkv, shared_part(e, l, SITE_PARALLEL_ATTN, qkv, 3), h, d);
    } else {
        void *const *p = e->packed[l];
        linear_rows(e, e->q, h, w->wq, p[0], n, d, q_dim, 0);
        linear_rows(e, e->k, h, w->wk, p[1], n, d, kv_dim, 0);
        linear_rows(e, e->v, h, w->wv, p[2], n, d, kv_dim, 0);
    }
    attention_step(e, l, n, pos);
    if (n == 1) {
        MatvecPart o[] = {part(e, w->wo, e->packed[l][3], x, d, 1), {0}};
        matvec_group(o, shared_out_part(e, l, SITE_PARALLEL_ATTN, tokens, o, 1), e->attn, q_dim);
    } else {
        linear_rows(e, x, e->attn, w->wo, e->packed[l][3], n, q_dim, d, 1);
    }
    memory_at(e, l, SITE_PARALLEL_ATTN, tokens, h, x, n, pos);
    memory_at(e, l, SITE_AFTER_ATTN, tokens, x, x, n, pos);

    rmsnorm_rows(h, x, w->ffn_norm, n, d, c->norm_eps);
    if (n == 1) {
        MatvecPart gate_up[] = {part(e, w->w_gate, e->packed[l][4], e->ffn_gate, F, 0),
                                part(e, w->w_up, e->packed[l][5], e->ffn_up, F, 0), {0}};
        matvec_group(gate_up, shared_part(e, l, SITE_PARALLEL_FFN, gate_up, 2), h, d);
    } else {
        linear_rows(e, e->ffn_gate, h, w->w_gate, e->packed[l][4], n, d, F, 0);
        linear_rows(e, e->ffn_up, h, w->w_up, e->packed[l][5], n, d, F, 0);
    }
    swiglu_rows(e->ffn_gate, e->ffn_gate, e->ffn_up, (long)n * F);
    if (n == 1) {
        MatvecPart down[] = {part(e, w->w_down, e->packed[l][6], x, d, 1), {0}};
        matvec_group(down, shared_out_part(e, l, SITE_PARALLEL_FFN, tokens, down, 1), e->ffn_gate, F);
    } else {
        linear_rows(e, x, e->ffn_gate, w->w_down, e->packed[l][6], n, F, d, 1);
    }
    memory_at(e, l, SITE_PARALLEL_FFN, tokens, h, x, n, pos);
    memory_at(e, l, SITE_AFTER_FFN, tokens, x, x, n, pos);
}

/* ---- steps ------------------------------------------------------------------------- */

static int check_step(const Engine *e, const int32_t *tokens, int n, int pos) {
    int V = e->model->cfg.vocab_size;
    if (n < 1 || pos < 0 || pos + n > e->context)
        return error_set(ERR_INPUT, "engine: positions %d..%d outside the context of %d", pos,
                         pos + n - 1, e->context);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return error_set(ERR_INPUT, "engine: token %d outside the vocabulary of %d",
                             (int)tokens[i], V);
    return OK;
}

/* n <= chunk rows; logits of the last row only (the others are never sampled). */
static const float *step(Engine *e, const int32_t *tokens, int n, int pos) {
    const Model *m = e->model;
    const ModelConfig *c = &m->cfg;
    int d = c->d_model;
    if (check_step(e, tokens, n, pos)) return NULL;
    const MemoryOps *ops = m->ops;
    if (e->prefetcher && ops && ops->prefetch) ops->prefetch(m, e->memory, e->prefetcher, tokens, n, pos);
    else engine_prefetch(e, tokens, n);
    for (int i = 0; e->rom_rows && i < n; i++)   /* every layer's rows of a token: one read */
        e->rom_rows[i] = rom_table_token_rows(rom_of(e), tokens[i]);
    for (int i = 0; i < n; i++)   /* a tied table exists in the packed dtype alone */
        if (e->packed_head && c->tie_embeddings)
            weights_decode_row(e->weights_dtype, e->packed_head, tokens[i], d, e->embedded + (size_t)i * d);
        else
            memcpy(e->embedded + (size_t)i * d, m->embed + (size_t)tokens[i] * d, sizeof(float) * d);
    memcpy(e->x, e->embedded, sizeof(float) * n * d);
    for (int l = 0; l < c->n_layers; l++) block(e, l, tokens, n, pos);
    const float *last = e->x + (size_t)(n - 1) * d;
    rmsnorm_rows(e->h, last, m->final_norm, 1, d, c->norm_eps);
    MatvecPart head = part(e, m->lm_head, e->packed_head, e->logits, c->vocab_size, 0);
    matvec_group(&head, 1, e->h, d);
    return e->logits;
}

/* The k likeliest next tokens of the step just run, their rows requested for position
 * next: pages only, and through the variant's hook one candidate at a time (a hook reads
 * its tokens as consecutive positions). */
static void prefetch_candidates(Engine *e, int next) {
    const Model *m = e->model;
    e->n_candidates = 0;
    e->candidates_pos = -1;
    if (!e->prefetch_topk || !e->prefetcher || prefetcher_mode(e->prefetcher) == PREFETCH_OFF ||
        next >= e->context)
        return;
    int *ids = (int *)e->candidates;   /* int32_t is int here (checked in set_prefetch_topk) */
    int n = sample_top_k(e->logits, m->cfg.vocab_size, e->prefetch_topk, ids);
    prefetcher_set_cache_lines(e->prefetcher, 0);
    if (m->ops && m->ops->prefetch)
        for (int i = 0; i < n; i++)
            m->ops->prefetch(m, e->memory, e->prefetcher, &e->candidates[i], 1, next);
    else
        prefetcher_request(e->prefetcher, e->candidates, n);
    prefetcher_set_cache_lines(e->prefetcher, 1);
    e->n_candidates = n;
    e->candidates_pos = next;
}

/* A hit: the token of this step was among the candidates predicted for its position. */
static void count_hit(Engine *e, int token, int pos) {
    if (pos != e->candidates_pos) return;
    e->topk_steps++;
    for (int i = 0; i < e->n_candidates; i++)
        if (e->candidates[i] == token) { e->topk_hits++; break; }
}

const float *engine_forward(Engine *e, int token, int pos) {
    int32_t t = token;
    count_hit(e, token, pos);
    const float *logits = step(e, &t, 1, pos);
    if (logits) prefetch_candidates(e, pos + 1);
    else e->candidates_pos = -1;
    return logits;
}

const float *engine_prefill(Engine *e, const int32_t *tokens, int n, int pos) {
    if (n < 1) { error_set(ERR_INPUT, "engine: empty prefill"); return NULL; }
    const float *logits = NULL;
    for (int start = 0; start < n; start += e->chunk) {
        int rows = n - start < e->chunk ? n - start : e->chunk;
        int ahead = n - start - rows < e->chunk ? n - start - rows : e->chunk;
        if (ahead > 0) engine_prefetch(e, tokens + start + rows, ahead);   /* the next step's rows */
        if (!(logits = step(e, tokens + start, rows, pos + start))) { e->candidates_pos = -1; return NULL; }
    }
    prefetch_candidates(e, pos + n);
    return logits;
}

/* ---- the ROM table: prefetch and residency (formats/prefetch.c) ------------------- */

/* By token, for variants whose rows are indexed by the token; the others' rows depend on
 * the context and are requested in step, through their ops. */
void engine_prefetch(Engine *e, const int32_t *tokens, int n) {
    if (e->prefetcher && !e->model->ops->prefetch) prefetcher_request(e->prefetcher, tokens, n);
}

int engine_set_prefetch(Engine *e, PrefetchMode mode) {
    return e->prefetcher ? prefetcher_set_mode(e->prefetcher, mode) : OK;
}

int engine_set_prefetch_topk(Engine *e, int k) {
    _Static_assert(sizeof(int32_t) == sizeof(int), "candidates are written as int");
    int V = e->model->cfg.vocab_size;
    if (k < 0 || k > V)
        return error_set(ERR_INPUT, "--prefetch-topk %d: must be in 0..%d (the vocabulary)", k, V);
    int32_t *ids = k ? malloc(sizeof(int32_t) * (size_t)k) : NULL;
    if (k && !ids) return error_set(ERR_FAILURE, "engine: out of memory for %d prefetch candidates", k);
    free(e->candidates);
    e->candidates = ids;
    e->prefetch_topk = k;
    e->n_candidates = 0;
    e->candidates_pos = -1;
    engine_reset_prefetch_hits(e);
    return OK;
}

void engine_prefetch_hits(const Engine *e, long *steps, long *hits) {
    *steps = e->topk_steps;
    *hits = e->topk_hits;
}

void engine_reset_prefetch_hits(Engine *e) { e->topk_steps = e->topk_hits = 0; }

int engine_has_rom(const Engine *e) { return e->prefetcher != NULL; }

size_t engine_rom_bytes(const Engine *e) { return rom_of(e) ? rom_of(e)->file_bytes : 0; }

size_t engine_table_resident_bytes(const Engine *e) {
    return e->prefetcher ? prefetcher_resident_bytes(e->prefetcher) : 0;
}

size_t engine_table_evict(Engine *e) { return e->prefetcher ? prefetcher_evict(e->prefetcher) : 0; }

void engine_table_populate(Engine *e) { if (e->prefetcher) prefetcher_populate(e->prefetcher); }
