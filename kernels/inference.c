#include "kernels/inference.h"
#include "kernels/activation.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include <cblas.h>
#include <math.h>

void linear_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate) {
    if (N != 1) { matmul_forward(out, in, weight, N, C, O, accumulate); return; }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, O, C, 1.0f, weight, C, in, 1,
                accumulate ? 1.0f : 0.0f, out, 1);
}

/* The arithmetic of rmsnorm_forward, step for step, so both round alike. */
void rmsnorm_rows(float *out, const float *in, const float *gain, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (long)n * C;
        float *y = out + (long)n * C;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt(sum / C + eps));
        for (int c = 0; c < C; c++) y[c] = x[c] * r * (gain ? gain[c] : 1.0f);
    }
}

void rmsnorm_add_rows(float *out, const float *in, const float *gain, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (long)n * C;
        float *y = out + (long)n * C;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt(sum / C + eps));
        for (int c = 0; c < C; c++) y[c] += x[c] * r * (gain ? gain[c] : 1.0f);
    }
}

/* `omp simd` is a compile-time hint: no runtime region. */
void sigmoid_rows(float *out, const float *in, long n) {
#pragma omp simd
    for (long i = 0; i < n; i++) out[i] = 1.0f / (1.0f + fast_expf(-in[i]));
}

void silu_rows(float *out, const float *in, long n) {
#pragma omp simd
    for (long i = 0; i < n; i++) out[i] = in[i] / (1.0f + fast_expf(-in[i]));
}

void swiglu_rows(float *out, const float *gate, const float *up, long n) {
#pragma omp simd
    for (long i = 0; i < n; i++) out[i] = siluf(gate[i]) * up[i];
}

void add_rows(float *y, const float *x, long n) {
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] += x[i];
}

/* Softmax as attention_forward computes it: max first, fast_expf, float sum; the 1/sum is
 * folded into the second product. */
void attention_query(float *out, const float *q, const float *k_cache, const float *v_cache,
                     float *scratch, int n, int H, int KV, int hd) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV, stride = KV * hd;
    for (int h = 0; h < H; h++) {
        const float *keys = k_cache + (h / group) * hd, *values = v_cache + (h / group) * hd;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, hd, scale, keys, stride, q + h * hd, 1, 0.0f,
                    scratch, 1);
        float max = scratch[0], sum = 0;
        for (int j = 1; j < n; j++) max = scratch[j] > max ? scratch[j] : max;
        for (int j = 0; j < n; j++) { scratch[j] = fast_expf(scratch[j] - max); sum += scratch[j]; }
        cblas_sgemv(CblasRowMajor, CblasTrans, n, hd, 1.0f / sum, values, stride, scratch, 1, 0.0f,
                    out + h * hd, 1);
    }
}
