#include "deploy/export_gguf.h"
#include "data/tokenizer_json.h"
#include "models/memory.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GGUF_VERSION = 3, GGUF_ALIGN = 32 };
enum { T_U32 = 4, T_I32 = 5, T_F32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9 };   /* GGUF value types */
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q8_0 = 8 };     /* ggml tensor types */

/* Writes go through a byte buffer, so the header can be laid out (offsets known) first. */
typedef struct { unsigned char *p; size_t n, cap; int failed; } Buf;

static void put(Buf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        unsigned char *bigger = realloc(b->p, cap);
        if (!bigger) { b->failed = 1; return; }
        b->p = bigger, b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void u32(Buf *b, uint32_t v) { put(b, &v, 4); }          /* host is little-endian */
static void u64(Buf *b, uint64_t v) { put(b, &v, 8); }
static void str(Buf *b, const char *s) { u64(b, strlen(s)); put(b, s, strlen(s)); }
static void kv_u32(Buf *b, const char *k, uint32_t v) { str(b, k); u32(b, T_U32); u32(b, v); }
static void kv_f32(Buf *b, const char *k, float v) { str(b, k); u32(b, T_F32); put(b, &v, 4); }
static void kv_str(Buf *b, const char *k, const char *v) { str(b, k); u32(b, T_STRING); str(b, v); }

typedef struct {
    char name[64];
    const float *data;
    long ne[2];          /* ne[0] innermost */
    int ndim, type;
    uint64_t offset, bytes;
} GgufTensor;

static int ggml_type_of(TableDtype d) {
    return d == TABLE_F32 ? GGML_F32 : d == TABLE_F16 ? GGML_F16 : d == TABLE_Q8 ? GGML_Q8_0 : GGML_Q4_0;
}

static void add_tensor(GgufTensor *t, int *n, const char *name, const float *data, long rows,
                       long cols, TableDtype dtype) {
    GgufTensor *g = &t[(*n)++];
    snprintf(g->name, sizeof g->name, "%s", name);
    g->data = data;
    g->ndim = cols ? 2 : 1;
    g->ne[0] = cols ? cols : rows;
    g->ne[1] = cols ? rows : 1;
    TableDtype d = g->ndim == 1 ? TABLE_F32 : dtype;
    if ((d == TABLE_Q8 || d == TABLE_Q4) && !quant_is_blocked((int)g->ne[0])) d = TABLE_F16;
    g->type = ggml_type_of(d);
    g->bytes = (uint64_t)table_row_bytes(d, (int)g->ne[0]) * (uint64_t)g->ne[1];
}

static TableDtype table_of(int ggml) {
    return ggml == GGML_F32 ? TABLE_F32 : ggml == GGML_F16 ? TABLE_F16 : ggml == GGML_Q8_0 ? TABLE_Q8 : TABLE_Q4;
}

static int collect(const Model *m, GgufTensor *t, TableDtype dtype) {
    const ModelConfig *c = &m->cfg;
    int n = 0;
    long d = c->d_model, qd = (long)c->n_heads * c->head_dim, kvd = (long)c->n_kv_heads * c->head_dim;
    add_tensor(t, &n, "token_embd.weight", m->embed, c->vocab_size, d, dtype);
    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *w = &m->w[l];
        char name[64];
#define ADD(suffix, ptr, rows, cols) \
        snprintf(name, sizeof name, "blk.%d." suffix ".weight", l), add_tensor(t, &n, name, ptr, rows, cols, dtype)
        ADD("attn_norm", w->attn_norm, d, 0);
        ADD("attn_q", w->wq, qd, d);
        ADD("attn_k", w->wk, kvd, d);
        ADD("attn_v", w->wv, kvd, d);
        ADD("attn_output", w->wo, d, qd);
        ADD("attn_q_norm", w->q_norm, c->head_dim, 0);
        ADD("attn_k_norm", w->k_norm, c->head_dim, 0);
        ADD("ffn_norm", w->ffn_norm, d, 0);
        ADD("ffn_gate", w->w_gate, c->ffn_hidden, d);
        ADD("ffn_up", w->w_up, c->ffn_hidden, d);
        ADD("ffn_down", w->w_down, d, c->ffn_hidden);
#undef ADD
    }
    add_tensor(t, &n, "output_norm.weight", m->final_norm, d, 0, dtype);
    if (!c->tie_embeddings) add_tensor(t, &n, "output.weight", m->lm_head, c->vocab_size, d, dtype);
    return n;
}

static void kv_bool(Buf *b, const char *k, int v) { unsigned char c = (unsigned char)!!v; str(b, k); u32(b, T_BOOL); put(b, &c, 1); }

/* Key-value pairs put_tokenizer writes: 5, and 4 more with an end-of-text token. */
static int tokenizer_pairs(const Tokenizer *tok) { return tokenizer_eos_id(tok) >= 0 ? 9 : 5; }

/* pre "gpt-2": the llama.cpp pre-tokenizer nearest data/bpe.c's chunks (the same ids on
 * the held-out text; docs/interop.md says where the two differ). */
static int put_tokenizer(Buf *b, const Tokenizer *tok) {
    size_t json_bytes;
    if (tokenizer_outside_json(tok, &json_bytes))   /* its merges and added tokens are not in this form */
        return error_set(ERR_INPUT, "the model was trained with an outside tokenizer.json, which the GGUF "
                         "export cannot write (--format hf copies it as it is)");
    int V = tokenizer_vocab_size(tok), eos = tokenizer_eos_id(tok);
    size_t room = tokenizer_string_room(tok);
    char *s = malloc(2 * room), *r = malloc(room);
    if (!s || !r) {
        free(s), free(r);
        return error_set(ERR_FAILURE, "out of memory");
    }
    int rc = OK;
    kv_str(b, "tokenizer.ggml.model", "gpt2");
    kv_str(b, "tokenizer.ggml.pre", "gpt-2");
    str(b, "tokenizer.ggml.tokens"); u32(b, T_ARRAY); u32(b, T_STRING); u64(b, (uint64_t)V);
    for (int id = 0; id < V; id++) {
        if (tokenizer_export_string(tok, eos, id, s, room) < 0) rc = error_set(ERR_INPUT, "token %d cannot be written", id);
        str(b, s);
    }
    str(b, "tokenizer.ggml.token_type"); u32(b, T_ARRAY); u32(b, T_I32); u64(b, (uint64_t)V);
    for (int id = 0; id < V; id++) u32(b, id == eos ? 3 : 1);     /* control, normal */
    str(b, "tokenizer.ggml.merges"); u32(b, T_ARRAY); u32(b, T_STRING); u64(b, (uint64_t)(V - 256));
    for (int i = 0; i + 256 < V; i++) {
        int left, right, n;
        if (tokenizer_merge_pair(tok, i, &left, &right) || (n = tokenizer_token_string(tok, left, s, room)) < 0 ||
            tokenizer_token_string(tok, right, r, room) < 0)
            rc = error_set(ERR_INPUT, "merge %d cannot be written", i);
        else
            snprintf(s + n, 2 * room - (size_t)n, " %s", r);
        str(b, s);
    }
    if (eos >= 0) {
        kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)eos);
        kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
        kv_bool(b, "tokenizer.ggml.add_bos_token", 0);
        kv_bool(b, "tokenizer.ggml.add_eos_token", 0);
    }
    free(s), free(r);
    return rc;
}

static int put_header(Buf *b, const Model *m, const Tokenizer *tok, const GgufTensor *t, int n) {
    const ModelConfig *c = &m->cfg;
    put(b, "GGUF", 4);
    u32(b, GGUF_VERSION);
    u64(b, (uint64_t)n);
    u64(b, (uint64_t)(13 + tokenizer_pairs(tok)));           /* key-value pairs below */
    kv_str(b, "general.architecture", "qwen3");
    kv_str(b, "general.name", "meki");
    kv_u32(b, "general.alignment", GGUF_ALIGN);
    kv_u32(b, "qwen3.context_length", (uint32_t)c->seq_len);
    kv_u32(b, "qwen3.embedding_length", (uint32_t)c->d_model);
    kv_u32(b, "qwen3.block_count", (uint32_t)c->n_layers);
    kv_u32(b, "qwen3.feed_forward_length", (uint32_t)c->ffn_hidden);
    kv_u32(b, "qwen3.attention.head_count", (uint32_t)c->n_heads);
    kv_u32(b, "qwen3.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    kv_u32(b, "qwen3.attention.key_length", (uint32_t)c->head_dim);
    kv_u32(b, "qwen3.attention.value_length", (uint32_t)c->head_dim);
    kv_f32(b, "qwen3.attention.layer_norm_rms_epsilon", c->norm_eps);
    kv_f32(b, "qwen3.rope.freq_base", c->rope_theta);
    int rc = put_tokenizer(b, tok);
    for (int i = 0; i < n; i++) {
        str(b, t[i].name);
        u32(b, (uint32_t)t[i].ndim);
        for (int k = 0; k < t[i].ndim; k++) u64(b, (uint64_t)t[i].ne[k]);
        u32(b, (uint32_t)t[i].type);
        u64(b, t[i].offset);
    }
    static const unsigned char zeros[GGUF_ALIGN];
    put(b, zeros, (GGUF_ALIGN - b->n % GGUF_ALIGN) % GGUF_ALIGN);
    return rc;
}

static int write_tensor(AtomicFile *af, const GgufTensor *t) {
    TableDtype d = table_of(t->type);
    size_t row_bytes = table_row_bytes(d, (int)t->ne[0]);
    unsigned char *row = malloc(row_bytes);
    if (!row) return error_set(ERR_FAILURE, "out of memory");
    int rc = OK;
    for (long r = 0; r < t->ne[1] && !rc; r++) {
        quant_encode_row(d, row, t->data + r * t->ne[0], (int)t->ne[0]);
        rc = atomic_write(af, row, row_bytes);
    }
    free(row);
    static const unsigned char zeros[GGUF_ALIGN];
    if (!rc) rc = atomic_write(af, zeros, (GGUF_ALIGN - t->bytes % GGUF_ALIGN) % GGUF_ALIGN);
    return rc;
}

int export_gguf(const Model *m, const Tokenizer *tok, const char *path, TableDtype dtype) {
    if (m->ops) return error_set(ERR_INPUT, "GGUF export is for dense models: llama.cpp has no graph that adds %s's "
                                 "memory, so it would run a different model (use --format hf)", memory_kind_name(m->cfg.memory));
    if (!m->cfg.qk_norm) return error_set(ERR_INPUT, "model.qk_norm is off: llama.cpp's qwen3 always normalizes q and k");
    if (dtype == TABLE_BF16) return error_set(ERR_INPUT, "--dtype bf16: GGUF export writes f32, f16, q8_0 or q4_0");
    if (tokenizer_vocab_size(tok) != m->cfg.vocab_size)
        return error_set(ERR_INPUT, "the tokenizer has %d tokens but the model %d: wrong --data",
                         tokenizer_vocab_size(tok), m->cfg.vocab_size);
    GgufTensor *t = calloc(16 + 11 * (size_t)m->cfg.n_layers, sizeof *t);
    if (!t) return error_set(ERR_FAILURE, "out of memory");
    int n = collect(m, t, dtype);
    for (int i = 0; i < n; i++) {   /* a finite weight beyond the dtype (or its block scale) would be written as inf */
        long at = quant_find_overflow(table_of(t[i].type), t[i].data, t[i].ne[1], (int)t[i].ne[0]);
        if (at < 0) continue;
        int rc = error_set(ERR_INPUT, "--dtype %s: tensor %s holds %g (row %ld), too large for %s", table_dtype_name(dtype),
                           t[i].name, t[i].data[at], at / t[i].ne[0], table_dtype_name(table_of(t[i].type)));
        free(t);
        return rc;
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        t[i].offset = offset;
        offset += (t[i].bytes + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
    }
    Buf b = {0};
    int rc = put_header(&b, m, tok, t, n);
    AtomicFile af;
    if (!rc) rc = b.failed ? error_set(ERR_FAILURE, "out of memory") : atomic_open(&af, path);
    if (!rc) {
        rc = atomic_write(&af, b.p, b.n);
        for (int i = 0; i < n && !rc; i++) rc = write_tensor(&af, &t[i]);
        if (rc) atomic_abort(&af);
        else rc = atomic_commit(&af);
    }
    free(b.p);
    free(t);
    return rc;
}
