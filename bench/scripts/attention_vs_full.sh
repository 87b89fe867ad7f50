#!/usr/bin/env bash
# The blocked causal attention (kernels/attention.c) against the full T x T kernel it
# replaced, alone, paired in one process: each round runs the old forward and backward,
# then the new, on the same inputs (CPU time; median of ROUNDS). The old kernel comes from
# git (REV, the last commit before blocking); both link the same OpenBLAS.
#   bench/scripts/attention_vs_full.sh [REV=10f04ee] [ROUNDS=9]   (after make build)
# Shapes: the small and large presets' attention at batch 16 (B T H KV hd).
set -euo pipefail
REV=${REV:-10f04ee}
ROUNDS=${ROUNDS:-9}
T=$(mktemp -d /tmp/meki-attention.XXXXXX)
trap 'rm -rf "$T"' EXIT
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB=/usr/lib/x86_64-linux-gnu/openblas-openmp
CFLAGS="-std=c11 -D_GNU_SOURCE -O3 -march=native -fno-trapping-math -fno-math-errno -fopenmp -I. -I$BLAS_INC"
git show "$REV:kernels/attention.c" >"$T/old.c"
for f in attention_forward attention_backward attention_backward_set attention_decode; do
  CFLAGS_OLD="${CFLAGS_OLD:-} -D$f=old_$f"
done
cc $CFLAGS $CFLAGS_OLD -c "$T/old.c" -o "$T/old.o"
cat >"$T/main.c" <<'C'
#include "kernels/attention.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
void old_attention_forward(float *, float *, const float *, const float *, const float *, int, int, int, int, int);
void old_attention_backward_set(float *, float *, float *, const float *, const float *, const float *,
                                const float *, const float *, int, int, int, int, int);
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float *filled(long n) { float *x = malloc(sizeof(float) * n); for (long i = 0; i < n; i++) x[i] = (float)(i % 1013) / 1013 - 0.5f; return x; }
static int by_value(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *x, int n) { qsort(x, n, sizeof *x, by_value); return x[n / 2]; }
int main(int argc, char **argv) {
    int B = atoi(argv[1]), T = atoi(argv[2]), H = atoi(argv[3]), KV = atoi(argv[4]), hd = atoi(argv[5]), rounds = atoi(argv[6]);
    omp_set_num_threads(1);
    long nq = (long)B * T * H * hd, nk = (long)B * T * KV * hd;
    float *q = filled(nq), *k = filled(nk), *v = filled(nk), *dout = filled(nq), *out = filled(nq);
    float *dq = filled(nq), *dk = filled(nk), *dv = filled(nk);
    float *probs_old = filled((long)B * H * T * T), *probs_new = filled((long)B * H * attention_probs_size(T));
    double of[64], ob[64], nf[64], nb[64], rf[64], rb[64];
    for (int r = 0; r < rounds && r < 64; r++) {
        double t0 = cpu(); old_attention_forward(out, probs_old, q, k, v, B, T, H, KV, hd);
        double t1 = cpu(); old_attention_backward_set(dq, dk, dv, dout, probs_old, q, k, v, B, T, H, KV, hd);
        double t2 = cpu(); attention_forward(out, probs_new, q, k, v, B, T, H, KV, hd);
        double t3 = cpu(); attention_backward_set(dq, dk, dv, dout, probs_new, q, k, v, B, T, H, KV, hd);
        double t4 = cpu();
        of[r] = t1 - t0, ob[r] = t2 - t1, nf[r] = t3 - t2, nb[r] = t4 - t3;
        rf[r] = of[r] / nf[r], rb[r] = ob[r] / nb[r];
    }
    printf("B %d T %d H %d KV %d hd %d, 1 thread, median of %d: forward full %.2f ms, blocked %.2f ms (full / blocked %.2f); "
           "backward %.2f ms, %.2f ms (%.2f)\n", B, T, H, KV, hd, rounds, 1e3 * median(of, rounds), 1e3 * median(nf, rounds),
           median(rf, rounds), 1e3 * median(ob, rounds), 1e3 * median(nb, rounds), median(rb, rounds));
    return 0;
}
C
cc $CFLAGS -o "$T/bench" "$T/main.c" "$T/old.o" build/kernels/attention.o -L"$BLAS_LIB" -Wl,-rpath,"$BLAS_LIB" -lopenblas -lm
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$T/bench" 16 128 4 2 32 "$ROUNDS"   # small
"$T/bench" 16 256 8 4 32 "$ROUNDS"   # large
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
