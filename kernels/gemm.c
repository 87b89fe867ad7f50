#include "kernels/gemm.h"
#include "util/timer.h"
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>

void matmul_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, C, 1.0f, in, C, weight, C,
                accumulate ? 1.0f : 0.0f, out, O);
}

static void backward(float *din, float *dweight, const float *dout, const float *in,
                     const float *weight, int N, int C, int O, float din_beta) {
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, O, 1.0f, dout, O, weight, C,
                    din_beta, din, C);
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, C, N, 1.0f, dout, O, in, C, 1.0f,
                    dweight, C);
}

void matmul_backward(float *din, float *dweight, const float *dout, const float *in,
                     const float *weight, int N, int C, int O) {
    backward(din, dweight, dout, in, weight, N, C, O, 1.0f);
}

void matmul_backward_set(float *din, float *dweight, const float *dout, const float *in,
                         const float *weight, int N, int C, int O) {
    backward(din, dweight, dout, in, weight, N, C, O, 0.0f);
}

/* The best of several short trials: a peak is a maximum, and one long trial folds in any
 * moment the other core was taken (an MFU above 1 was seen that way). */
double sgemm_peak_flops(int size, double seconds) {
    float *a = malloc(sizeof(float) * size * size), *b = malloc(sizeof(float) * size * size),
          *c = malloc(sizeof(float) * size * size);
    for (long i = 0; i < (long)size * size; i++) a[i] = b[i] = 0.001f * (float)(i % 97);
    matmul_forward(c, a, b, size, size, size, 0);   /* warm-up: thread pool, caches */
    double best = 0, trial = seconds / 5;
    for (int t = 0; t < 5; t++) {
        double start = now_seconds(), elapsed;
        long calls = 0;
        do {
            matmul_forward(c, a, b, size, size, size, 0);
            calls++;
            elapsed = now_seconds() - start;
        } while (elapsed < trial);
        double flops = 2.0 * size * (double)size * size * calls / elapsed;
        if (flops > best) best = flops;
    }
    free(a); free(b); free(c);
    return best;
}

static int thread_count;

void kernels_set_threads(int threads) {
    if (threads <= 0) threads = omp_get_num_procs();
    thread_count = threads;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

int kernels_threads(void) { return thread_count ? thread_count : omp_get_max_threads(); }
