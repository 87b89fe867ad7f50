/* PLE: per-layer embeddings as in Gemma 3n (see models/ple.c). */
#ifndef MODELS_PLE_H
#define MODELS_PLE_H
#include "models/config.h"
#include "models/memtables.h"
#include "models/model.h"
#include <stdint.h>

/* Keys ple.*; defaults: width d_model/8, all layers. */
typedef struct {
    int width;                          /* p: per-layer token vector width */
    char layers_spec[LAYER_SPEC_BYTES];
    unsigned char layers[MAX_LAYERS];
} PleConfig;

/* PLE's config inside c (whatever c's memory kind). */
PleConfig *ple_config(const ModelConfig *c);

typedef struct {
    int active;
    float *table, *proj, *proj_norm;       /* training form: T_l [V, p], W_l [p, d], [p] */
    float *w_gate, *w_out, *out_norm;      /* W_g [p, d], W_p [d, p], [d] */
} PleWeights;

typedef struct {
    float *in;                             /* [N, d] module input h (the residual stream) */
    float *s, *q, *q_rstd, *qn, *e;        /* [N, p] T_l[x], W_l E[x] and its norm; e = ple_l[x] */
    float *gpre, *gact, *u;                /* [N, p] W_g h, GELU of it, times e */
    float *o, *o_rstd;                     /* [N, d] W_p u, [N] */
} PleActs;

typedef struct {
    PleWeights *w, *g;                     /* per layer */
    PleActs *acts;
    float *d_small, *d_small2, *d_small3, *d_wide;
    MemoryTables folded;                   /* inference form: ple_l for every token */
} PleState;

/* Buffers for N rows of one layer's module (zeroed struct or earlier ones, which it frees). */
int ple_acts_create(PleActs *a, const ModelConfig *c, long N);
void ple_acts_free(PleActs *a);
/* out[n, d] += PLE_l(in[n, d]) for tokens[n] (embedded[n, d] = E[tokens], read by the
 * training form only), in either form; in may alias out. a holds n rows, y[n, d] receives
 * the module's output; rom_rows as in MemoryOps.infer (NULL: rows read here). The training
 * forward and a decoder (one row at a time) share it. */
void ple_rows_forward(const Model *m, int layer, const int32_t *tokens, const uint8_t *const *rom_rows,
                      const float *embedded, const float *in, float *out, int n, PleActs *a, float *y);
/* a->e[N, p] = ple_l[tokens] in training form, with u[N, d] = E[tokens]; uses a->s, q, qn */
void ple_embedding_forward(const ModelConfig *c, const PleWeights *w, const int32_t *tokens,
                           const float *u, int N, PleActs *a);
#endif
