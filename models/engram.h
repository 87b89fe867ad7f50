/* Engram: hashed n-gram memory (see models/engram.c). */
#ifndef MODELS_ENGRAM_H
#define MODELS_ENGRAM_H
#include "models/config.h"
#include "models/memtables.h"
#include "models/model.h"
#include <stdint.h>

enum {
    ENGRAM_CONV_KERNEL = 4,        /* taps of the short convolution (dilation: max_ngram) */
    ENGRAM_MAX_HEADS = 7 * 64,     /* (max_ngram - 1) * heads at the config's limits */
};
/* Keys engram.*; defaults: N = 3, 4 heads, 4093 rows, width d_model/32, layer 1 and the
 * middle layer ("default"), no token normalisation. */
typedef struct {
    int max_ngram;                      /* N: n-grams 2..N */
    int heads;                          /* K hash heads per n */
    int table_size;                     /* rows per head (rounded to a distinct prime) */
    int width;                          /* columns per head */
    int normalize_tokens;               /* merge case / leading-space variants */
    char layers_spec[LAYER_SPEC_BYTES]; /* default: layer 1 and the middle layer */
    unsigned char layers[MAX_LAYERS];
} EngramConfig;

/* Engram's config inside c (whatever c's memory kind). */
EngramConfig *engram_config(const ModelConfig *c);

/* Fixed seed of the hash multipliers: changing it changes every trained Engram model. */
#define ENGRAM_HASH_SEED 0x454e4752414d3031ULL   /* "ENGRAM01" */

typedef struct {
    int active;
    float *table;                  /* training form: [rows, w], all heads' tables stacked (ROM) */
    float *w_key, *w_value;        /* [d, H*w] */
    float *key_norm, *query_norm;  /* [d] gains of RMSNorm(W_key k) and RMSNorm(h) */
    float *conv;                   /* [d, ENGRAM_CONV_KERNEL] depthwise causal convolution */
} EngramWeights;

typedef struct {
    int32_t *rows;                 /* [N, H] table row of every head */
    float *in;                     /* [N, d] module input h (the residual stream) */
    float *k;                      /* [N, H*w] concatenated head rows */
    float *kp, *kn, *k_rstd;       /* [N, d] W_key k, its norm, [N] */
    float *hn, *h_rstd;            /* [N, d] RMSNorm(h), [N] */
    float *score, *gate;           /* [N] */
    float *vp, *value;             /* [N, d] W_value k, gate * it */
} EngramActs;

typedef struct {
    int heads;                     /* H = (max_ngram - 1) * heads per order */
    int prime[ENGRAM_MAX_HEADS];   /* rows of head j's table: distinct primes >= table_size */
    long offset[ENGRAM_MAX_HEADS]; /* first row of head j in the stacked table */
    int rows;                      /* sum of the primes */
    uint64_t *multipliers;         /* [L, H, max_ngram], odd */
    float *token_map;              /* [V] canonical id - id (a parameter); NULL when off */
    int warned_unset_map;
    EngramWeights *w, *g;          /* per layer */
    EngramActs *acts;
    float *d_wide, *d_wide2, *d_wide3, *d_key, *y;
    MemoryTables tables;           /* inference form: the tables as they are */
} EngramState;

/* H: hash heads per layer, (max_ngram - 1) * heads. */
int engram_head_count(const ModelConfig *c);
/* The token id after normalisation (itself when normalize_tokens is off). */
int32_t engram_normalized_token(const EngramState *st, int vocab_size, int32_t token);
/* rows[H]: each head's table row for the n-grams ending at the newest token, where
 * window[i] is the normalised token i steps back (i < max_ngram; vocab_size, the pad id,
 * before the start of the sequence). What a decoder calls as each token arrives. */
void engram_rows_at(const EngramState *st, const ModelConfig *c, int layer,
                    const int32_t *window, int32_t *rows);
/* rows[B*T, H] for every position of B sequences of T raw tokens. */
void engram_hash_rows(const EngramState *st, const ModelConfig *c, int layer,
                      const int32_t *tokens, int B, int T, int32_t *rows);
/* Decoding: Engram over a few new rows at a time, with the normalised tokens and the values
 * of earlier positions kept (the convolution reads back 3 N positions, the hash N - 1). */
typedef struct {
    int context, rows;             /* positions held, rows per call */
    int32_t *tokens;               /* [context] normalised token of each position */
    float *values;                 /* [L, context, d] value rows, for the convolution */
    EngramActs a;                  /* scratch for `rows` rows */
    float *y;                      /* [rows, d] the module's output */
} EngramStream;

int engram_stream_create(EngramStream *s, const Model *m, int context, int rows);
void engram_stream_free(EngramStream *s);
/* out[n, d] += Engram_layer(in[n, d]) for tokens[n] at positions pos..pos+n-1, given
 * positions < pos from earlier calls (for this layer, and the tokens from any layer);
 * positions >= pos are overwritten, so a caller may rewind. n <= rows, pos + n <= context;
 * in may alias out. Equals the training forward of the whole sequence, row for row. */
void engram_stream_forward(const Model *m, int layer, const int32_t *tokens, int pos,
                           const float *in, float *out, int n, EngramStream *s);

/* Normalisation map from the vocabulary's bytes: tokens equal after ASCII lower-casing
 * and dropping one leading space merge into the smallest id among them. ERR_INPUT if the
 * model has normalize_tokens off or the vocabulary size differs. */
int engram_set_token_map(Model *m, const unsigned char *const *bytes, const int *lengths, int V);
struct Tokenizer;
int engram_set_token_map_from_tokenizer(Model *m, const struct Tokenizer *tok);
#endif
