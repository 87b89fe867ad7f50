/* Softmax cross-entropy over the vocabulary. */
#ifndef KERNELS_CROSSENTROPY_H
#define KERNELS_CROSSENTROPY_H
#include <stdint.h>

/* losses[N] = -log softmax(logits[N, V])[targets] and log_sums[N] = log sum exp of each row
 * (either may be NULL). Returns the mean loss. */
double crossentropy_forward(float *losses, float *log_sums, const float *logits,
                            const int32_t *targets, int N, int V);
/* dlogits[N, V] = (softmax - onehot) * dloss (dloss: the weight of each row's loss, e.g. 1/N),
 * from the log_sums the forward saved: one pass over the logits instead of three.
 * dlogits may alias logits. */
void crossentropy_backward(float *dlogits, const float *logits, const float *log_sums,
                           const int32_t *targets, int N, int V, float dloss);
/* log-softmax of one row into out[V]; for scoring and the logit lens */
void log_softmax(float *out, const float *logits, int V);
#endif
