#include "kernels/rmsnorm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void rmsnorm_forward(float *out, float *rstd, const float *in, const float *gain, int N, int C,
                     float eps) {
#pragma omp parallel for if (N > 64)
    for (int n = 0; n < N; n++) {
        const float *x = in + (long)n * C;
        float *y = out + (long)n * C;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt(sum / C + eps));
        if (rstd) rstd[n] = r;
        for (int c = 0; c < C; c++) y[c] = x[c] * r * (gain ? gain[c] : 1.0f);
    }
}

/* With xhat = x * r: dx = r * (g*dy - xhat * mean(g*dy*xhat)), dgain = sum_n dy * xhat. */
void rmsnorm_backward(float *din, float *dgain, const float *dout, const float *in,
                      const float *gain, const float *rstd, int N, int C) {
    if (din) {
#pragma omp parallel for if (N > 64)
        for (int n = 0; n < N; n++) {
            const float *x = in + (long)n * C, *dy = dout + (long)n * C;
            float *dx = din + (long)n * C;
            float r = rstd[n];
            double dot = 0;
            for (int c = 0; c < C; c++) dot += (double)dy[c] * (gain ? gain[c] : 1.0f) * x[c] * r;
            float mean = (float)(dot / C);
            for (int c = 0; c < C; c++)
                dx[c] += r * (dy[c] * (gain ? gain[c] : 1.0f) - x[c] * r * mean);
        }
    }
    if (dgain) {
        for (int n = 0; n < N; n++) {
            const float *x = in + (long)n * C, *dy = dout + (long)n * C;
            float r = rstd[n];
            for (int c = 0; c < C; c++) dgain[c] += dy[c] * x[c] * r;
        }
    }
}
