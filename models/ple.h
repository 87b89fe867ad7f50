/* PLE: per-layer embeddings as in Gemma 3n (see models/ple.c). */
#ifndef MODELS_PLE_H
#define MODELS_PLE_H
#include "models/config.h"
#include "models/memtables.h"
#include <stdint.h>

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

/* a->e[N, p] = ple_l[tokens] in training form, with u[N, d] = E[tokens]; uses a->s, q, qn */
void ple_embedding_forward(const ModelConfig *c, const PleWeights *w, const int32_t *tokens,
                           const float *u, int N, PleActs *a);
#endif
