#include "kernels/embedding.h"
#include <string.h>

void embedding_forward(float *out, const float *table, const int32_t *tokens, int N, int C) {
    for (int n = 0; n < N; n++)
        memcpy(out + (long)n * C, table + (long)tokens[n] * C, sizeof(float) * C);
}

void embedding_backward(float *dtable, const float *dout, const int32_t *tokens, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *row = dtable + (long)tokens[n] * C;
        const float *d = dout + (long)n * C;
        for (int c = 0; c < C; c++) row[c] += d[c];
    }
}
