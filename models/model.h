/* The decoder: token embedding, L pre-norm blocks (attention with GQA, RoPE and optional
 * QK-norm; SwiGLU FFN), final RMSNorm, LM head (tied or not). A memory variant (MeKi,
 * PLE, Engram) plugs in at one site of the block through models/memory.h. The Model
 * struct is in models/model_types.h, which the registry's ops take. */
#ifndef MODELS_MODEL_H
#define MODELS_MODEL_H
#include "models/config.h"
#include "models/model_types.h"
#include <stddef.h>
#include <stdint.h>

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
