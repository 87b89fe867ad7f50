/* Softmax cross-entropy over the vocabulary. */
#ifndef KERNELS_CROSSENTROPY_H
#define KERNELS_CROSSENTROPY_H
#include <stdint.h>

/* losses[N] = -log softmax(logits[N, V])[targets]; when dlogits is not NULL it receives
 * (softmax - onehot) * dloss (dloss: the weight of each row's loss, e.g. 1/N).
 * dlogits may alias logits. Returns the mean loss. */
double crossentropy_forward_backward(float *losses, float *dlogits, const float *logits,
                                     const int32_t *targets, int N, int V, float dloss);
/* log-softmax of one row into out[V]; for scoring and the logit lens */
void log_softmax(float *out, const float *logits, int V);
#endif
