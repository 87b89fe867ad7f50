/* MeKi's per-layer tensors, activations and folded tables (see models/meki.c). */
#ifndef MODELS_MEKI_H
#define MODELS_MEKI_H
#include "models/config.h"
#include "models/memtables.h"
#include <stdint.h>

typedef struct {
    int active;
    float *table;                          /* [V, m] static memory M */
    float *proj_gate, *proj_up, *proj_down; /* G: [d/2, d], [d/2, d], [m, d/2] (linear: [m, d]) */
    float *alpha, *beta, *mix_norm;        /* [1], [1], [m] */
    float *in_norm;                        /* [d] own pre-norm (after_attn, after_ffn) */
    float *w_gate, *w_out, *out_norm;      /* [m, d], [d, m], [d] */
} MekiWeights;

typedef struct {
    float *in, *h, *in_rstd;               /* module input, its own norm (if any) */
    float *s, *p_gate, *p_up, *p_act, *q;  /* static rows, projector */
    float *mix, *mix_rstd, *r, *e;         /* expert vector */
    float *gpre, *gact, *v, *o, *o_rstd;   /* gate, fusion, output */
} MekiActs;

typedef struct {
    MekiWeights *w, *g;                    /* per layer */
    MekiActs *acts;
    float *d_small, *d_small2, *d_e, *d_hidden, *d_hidden2, *d_wide, *d_wide2;
    MemoryTables folded;                   /* inference form: M~_l, heap or ROM file */
} MekiState;

/* e[N, m] for tokens with shared embeddings u[N, d], in training form, into a->e. */
void meki_expert_forward(const ModelConfig *c, const MekiWeights *w, const int32_t *tokens,
                         const float *u, int N, MekiActs *a);
#endif
