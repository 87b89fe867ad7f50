/* The decoder's data, apart from its functions (models/model.h): the variant registry's
 * ops (models/memory.h) take a Model, and the decoder (model.c) runs them. */
#ifndef MODELS_MODEL_TYPES_H
#define MODELS_MODEL_TYPES_H
#include "models/config_types.h"
#include "models/params.h"
#include <stdint.h>

typedef struct {
    float *attn_norm, *wq, *wk, *wv, *wo, *q_norm, *k_norm;
    float *ffn_norm, *w_gate, *w_up, *w_down;
} LayerWeights;

/* What one block saves in the forward for its backward; N = B * T rows. */
typedef struct {
    float *x_in;                 /* [N, d] residual stream entering the block */
    float *h_attn, *rstd_attn;   /* [N, d], [N] pre-attention norm */
    float *q_raw, *k_raw;        /* [N, H*hd], [N, KV*hd] before QK-norm */
    float *q_rstd, *k_rstd;      /* [N*H], [N*KV] */
    float *q, *k, *v;            /* after QK-norm and RoPE */
    float *probs;                /* [B, H, attention_probs_size(T)] */
    float *attn;                 /* [N, H*hd] attention output before wo */
    float *x_mid;                /* [N, d] residual after attention (and after_attn memory) */
    float *h_ffn, *rstd_ffn;     /* [N, d], [N] */
    float *ffn_gate, *ffn_up, *ffn_act;  /* [N, F] */
} LayerActs;

typedef struct Model Model;
struct MemoryOps;

typedef struct {
    long ram_params;             /* values resident in RAM at deployment */
    long rom_weights;            /* values in the storage table after the fold */
    long training_params;        /* everything trained, including what the fold removes */
    double train_flops_per_token;      /* forward + backward, training form */
    double inference_flops_per_token;  /* forward, inference (folded) form, at context seq_len */
} Accounting;

struct Model {
    ModelConfig cfg;
    int folded;                  /* memory in its inference (folded) form */
    ParamSet params;
    float *embed, *lm_head, *final_norm;        /* lm_head == embed when tied */
    float *d_embed, *d_lm_head, *d_final_norm;
    LayerWeights *w, *g;         /* per layer: weights and their gradients */
    const struct MemoryOps *ops; /* NULL for a dense model */
    void *memory;                /* the variant's own state */
    struct RomTable *rom;        /* folded tables on storage (bundles), owned */
    char *record;                /* what produced it (train/record.h), owned; NULL: unknown */

    /* activations, sized for B x T by model_reserve */
    int B, T, reserved_rows, reserved_T;
    int32_t *tokens, *targets;   /* [N] */
    float *embedded;             /* [N, d] E[x]: block 0 input, and the memory variants' */
    float *d_embedded;           /* gradient into E[x] from every consumer */
    LayerActs *acts;
    float *x_final, *h_final, *rstd_final, *logits, *losses;
    float *log_sums;             /* [N] each logits row's log-sum-exp, for the backward */
    float *cos_table, *sin_table;
    float *dx, *dh, *dq, *dk, *dv, *dattn, *dgate, *dup, *dact, *scratch;
    /* Optional, owned by the caller ([n_layers, B*T, d] or NULL): model_forward stores there
     * what each layer's memory added to the residual stream (zeros where none), for the
     * logit lens's reading before the memory injection. */
    float *memory_out;
};

#endif
