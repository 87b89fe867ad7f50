/* Table lookup by token id and its gradient. */
#ifndef KERNELS_EMBEDDING_H
#define KERNELS_EMBEDDING_H
#include <stdint.h>

/* out[N, C] = table[tokens[n], :] */
void embedding_forward(float *out, const float *table, const int32_t *tokens, int N, int C);
/* dtable[tokens[n], :] += dout[n, :]  (serial over n: rows repeat) */
void embedding_backward(float *dtable, const float *dout, const int32_t *tokens, int N, int C);
#endif
