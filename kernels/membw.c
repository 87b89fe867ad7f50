#include "kernels/membw.h"
#include "util/timer.h"
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_MIB = 256 };

/* Eight independent sums, so the adds never wait on each other and the loads stream. */
static float sum_floats(const float *x, size_t n) {
    float acc[8][16] = {{0}};
    size_t i = 0;
    for (; i + 128 <= n; i += 128)
        for (int a = 0; a < 8; a++)
#pragma omp simd
            for (int j = 0; j < 16; j++) acc[a][j] += x[i + a * 16 + j];
    float total = 0;
    for (; i < n; i++) total += x[i];
    for (int a = 0; a < 8; a++) for (int j = 0; j < 16; j++) total += acc[a][j];
    return total;
}

double memory_read_gbps(size_t bytes, int threads, int trials) {
    if (!bytes) bytes = (size_t)DEFAULT_MIB << 20;
    if (threads < 1) threads = 1;
    if (trials < 1) trials = 1;
    size_t n = bytes / sizeof(float);
    float *x = aligned_alloc(64, n * sizeof(float));
    if (!x) return 0;
    memset(x, 0, n * sizeof(float));   /* every page backed before the clock starts */
    volatile float sink = 0;
    double best = 0;
    for (int t = 0; t < trials; t++) {
        double start = now_seconds(), total = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
        for (int part = 0; part < threads; part++) {
            size_t lo = n / threads * part, hi = part == threads - 1 ? n : n / threads * (part + 1);
            total += sum_floats(x + lo, hi - lo);
        }
        double seconds = now_seconds() - start;
        sink += (float)total;
        if (seconds > 0 && bytes / seconds / 1e9 > best) best = bytes / seconds / 1e9;
    }
    (void)sink;
    free(x);
    return best;
}
