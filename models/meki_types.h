/* MeKi's definitions shared by its training form (models/meki.c) and its decoding form
 * (models/meki_infer.c): config, per-layer weights, activations and state. Declarations
 * only, so the decoding form depends on these and never on models/meki.c. */
#ifndef MODELS_MEKI_TYPES_H
#define MODELS_MEKI_TYPES_H
#include "models/config.h"
#include "models/memtables.h"
#include <stdint.h>

/* bit flags: static table, dynamic projection of the shared embedding, or both */
typedef enum { MEKI_STATIC = 1, MEKI_DYNAMIC = 2, MEKI_BOTH = 3 } MekiMemory;
typedef enum { POS_PARALLEL_FFN, POS_PARALLEL_ATTN, POS_AFTER_ATTN, POS_AFTER_FFN } MekiPosition;
typedef enum { FUSION_ADD_SIGMOID, FUSION_MUL_SIGMOID, FUSION_ADD_SILU, FUSION_MUL_SILU } MekiFusion;
typedef enum { PROJECTOR_SWIGLU, PROJECTOR_LINEAR } MekiProjector;

/* Keys meki.*; defaults: d_mem = d_model/8, all layers, both, parallel_ffn, add_sigmoid,
 * swiglu. */
typedef struct {
    int d_mem;
    MekiMemory memory;
    MekiPosition position;
    MekiFusion fusion;
    MekiProjector projector;
    char layers_spec[LAYER_SPEC_BYTES];  /* all | 0,2,4 | first:N | last:N | every:K */
    unsigned char layers[MAX_LAYERS];   /* resolved by model_config_validate */
} MekiConfig;

typedef struct {
    int active;
    float *table;                          /* [V, m] static memory M */
    float *proj_gate, *proj_up, *proj_down; /* G: [d/2, d], [d/2, d], [m, d/2] (linear: [m, d]) */
    float *alpha, *beta, *mix_norm;        /* [1], [1], [m] */
    float *in_norm;                        /* [d] own pre-norm (after_attn, after_ffn) */
    float *w_gate, *w_out, *out_norm;      /* [m, d], [d, m], [d] */
    float *w_out_t;                        /* [m, d]: W_out transposed, the folded form's (no w_out) */
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
#endif
