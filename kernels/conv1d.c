#include "kernels/conv1d.h"

void causal_conv1d_forward(float *out, const float *in, const float *weight, int B, int T, int C,
                           int K, int dilation) {
#pragma omp parallel for collapse(2) if ((long)B * T * C > 65536)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *y = out + ((long)b * T + t) * C;
            for (int k = 0; k < K; k++) {
                int source = t - (K - 1 - k) * dilation;
                if (source < 0) continue;
                const float *x = in + ((long)b * T + source) * C;
                for (int c = 0; c < C; c++) y[c] += weight[(long)c * K + k] * x[c];
            }
        }
}

/* Each output step scatters into K earlier steps, so din is gathered per source step
 * instead (from the outputs that read it), which keeps the loop free of write races. */
void causal_conv1d_backward(float *din, float *dweight, const float *dout, const float *in,
                            const float *weight, int B, int T, int C, int K, int dilation) {
    if (din) {
#pragma omp parallel for collapse(2) if ((long)B * T * C > 65536)
        for (int b = 0; b < B; b++)
            for (int s = 0; s < T; s++) {
                float *dx = din + ((long)b * T + s) * C;
                for (int k = 0; k < K; k++) {
                    int t = s + (K - 1 - k) * dilation;
                    if (t >= T) continue;
                    const float *dy = dout + ((long)b * T + t) * C;
                    for (int c = 0; c < C; c++) dx[c] += weight[(long)c * K + k] * dy[c];
                }
            }
    }
    if (dweight) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const float *dy = dout + ((long)b * T + t) * C;
                for (int k = 0; k < K; k++) {
                    int source = t - (K - 1 - k) * dilation;
                    if (source < 0) continue;
                    const float *x = in + ((long)b * T + source) * C;
                    for (int c = 0; c < C; c++) dweight[(long)c * K + k] += dy[c] * x[c];
                }
            }
    }
}

void causal_conv1d_step(float *out, const float *history, int position, const float *weight,
                        int C, int K, int dilation) {
    for (int k = 0; k < K; k++) {
        int source = position - (K - 1 - k) * dilation;
        if (source < 0) continue;
        const float *x = history + (long)source * C;
        for (int c = 0; c < C; c++) out[c] += weight[(long)c * K + k] * x[c];
    }
}
