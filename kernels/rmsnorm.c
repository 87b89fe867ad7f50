#include "kernels/rmsnorm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The row sum runs in double, in SIMD lanes (omp simd: gcc keeps a double reduction serial
 * otherwise, a 4-cycle add per element); the products are exact in double, so only the
 * order of the additions changes. */
float rmsnorm_rstd(const float *x, int C, float eps) {
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < C; c++) sum += (double)x[c] * x[c];
    return (float)(1.0 / sqrt(sum / C + eps));
}

void rmsnorm_forward(float *out, float *rstd, const float *in, const float *gain, int N, int C,
                     float eps) {
#pragma omp parallel for if (N > 64)
    for (int n = 0; n < N; n++) {
        const float *x = in + (long)n * C;
        float *y = out + (long)n * C;
        float r = rmsnorm_rstd(x, C, eps);
        if (rstd) rstd[n] = r;
        if (gain)
            for (int c = 0; c < C; c++) y[c] = x[c] * r * gain[c];
        else
            for (int c = 0; c < C; c++) y[c] = x[c] * r;
    }
}

/* With xhat = x * r: dx = r * (g*dy - xhat * mean(g*dy*xhat)), dgain = sum_n dy * xhat. */
static void rmsnorm_backward_rows(float *din, float *dgain, const float *dout, const float *in,
                                  const float *gain, const float *rstd, int N, int C,
                                  int accumulate) {
    if (din) {
#pragma omp parallel for if (N > 64)
        for (int n = 0; n < N; n++) {
            const float *x = in + (long)n * C, *dy = dout + (long)n * C;
            float *dx = din + (long)n * C;
            float r = rstd[n];
            double dot = 0;
#pragma omp simd reduction(+ : dot)
            for (int c = 0; c < C; c++) dot += (double)dy[c] * (gain ? gain[c] : 1.0f) * x[c] * r;
            float mean = (float)(dot / C);
            if (accumulate)
                for (int c = 0; c < C; c++)
                    dx[c] += r * (dy[c] * (gain ? gain[c] : 1.0f) - x[c] * r * mean);
            else
                for (int c = 0; c < C; c++)
                    dx[c] = r * (dy[c] * (gain ? gain[c] : 1.0f) - x[c] * r * mean);
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

void rmsnorm_backward(float *din, float *dgain, const float *dout, const float *in,
                      const float *gain, const float *rstd, int N, int C) {
    rmsnorm_backward_rows(din, dgain, dout, in, gain, rstd, N, C, 1);
}

void rmsnorm_backward_set(float *din, float *dgain, const float *dout, const float *in,
                          const float *gain, const float *rstd, int N, int C) {
    rmsnorm_backward_rows(din, dgain, dout, in, gain, rstd, N, C, 0);
}
