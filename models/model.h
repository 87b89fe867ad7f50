/* The decoder: token embedding, L pre-norm blocks (attention with GQA, RoPE and optional
 * QK-norm; SwiGLU FFN), final RMSNorm, LM head (tied or not). A memory variant (MeKi,
 * PLE, Engram) plugs in at one site of the block through models/memory.h. */
#ifndef MODELS_MODEL_H
#define MODELS_MODEL_H
#include "models/config.h"
#include "models/params.h"
#include <stddef.h>
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

/* The parameters declared, nothing allocated: enough for model_accounting and the tensor
 * list (free it with model_free). */
int model_declare(Model *m, const ModelConfig *cfg, int folded);
/* Build a model (parameters declared and allocated, not initialised).
 * folded: memory in inference form (no training-only tensors). training: gradients too. */
int model_create(Model *m, const ModelConfig *cfg, int folded, int training);
/* The same, refusing (ERR_INPUT, nothing allocated) a config of more than max_values
 * parameter values: a config read from a file of that many values. */
int model_create_within(Model *m, const ModelConfig *cfg, int folded, int training, long max_values);
void model_init_weights(Model *m, uint64_t seed);
/* The same with the recipe's init: every normal tensor from N(0, std), the output
 * projections (attention out, FFN down, MeKi's projector down) from std / sqrt(2 n_layers)
 * when scaled. std 0.02 unscaled gives model_init_weights' values bit for bit. */
void model_init_weights_recipe(Model *m, uint64_t seed, float std, int scaled);
/* Activation buffers for batches up to B x T. ERR_INPUT when B x T is not positive, its
 * rows overflow an int, or the buffers could never fit this machine's memory (nothing is
 * allocated then); ERR_FAILURE when an allocation fails. After a failure nothing counts
 * as reserved, so the next call allocates afresh. */
int model_reserve(Model *m, int B, int T);
/* Bytes model_reserve allocates for B x T (the decoder's own buffers; a memory variant
 * adds its own); ERR_INPUT, naming batch and seq_len, when a size overflows. */
int model_activation_bytes(const ModelConfig *c, long B, long T, size_t *bytes);
/* ERR_INPUT, naming batch and seq_len, when those activations exceed the machine's RAM:
 * for refusing a request before any work. */
int model_check_activations(const ModelConfig *c, long B, long T);
void model_free(Model *m);

/* tokens[B*T] -> logits [B*T, V]; with targets, also the mean loss (returned). */
double model_forward(Model *m, const int32_t *tokens, const int32_t *targets, int B, int T);
/* After model_forward with targets: gradients of the mean loss into params.grad (+=). */
void model_backward(Model *m);
/* The decoder up to the final norm, exposed for the logit lens: hidden state after block l. */
const float *model_layer_output(const Model *m, int layer);

void model_accounting(const Model *m, Accounting *a);
#endif
