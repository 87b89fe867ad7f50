/* ./meki bench gemm: the GEMM backends side by side on one matmul_forward shape list, the
 * measurement behind gemm.c's choice of OpenBLAS or oneDNN per shape. Each shape's three
 * variants alternate trial by trial (a loaded machine slows them alike); best of the trials. */
#include "bench/args.h"
#include "bench/commands.h"
#include "kernels/gemm.h"
#include "util/error.h"
#include "util/timer.h"
#include <stdio.h>
#include <stdlib.h>

typedef struct { int N, C, O; } Shape;
/* small squares around the cut-off, then the presets' training shapes (N = batch x seq_len) */
static const Shape SHAPES[] = {{8, 8, 8},       {16, 16, 16},    {24, 24, 24},     {32, 32, 32},
                               {48, 48, 48},    {64, 64, 64},    {128, 128, 128},  {2048, 128, 384},
                               {2048, 384, 128}, {2048, 128, 4096}, {4096, 768, 2048}, {4096, 768, 4096}};
enum { N_SHAPES = sizeof SHAPES / sizeof SHAPES[0], VARIANTS = 3 };
static const char *const NAMES[VARIANTS] = {"f32 OpenBLAS", "f32 oneDNN", "bf16 oneDNN"};

/* one trial: calls of variant v for about `seconds`; FLOP/s */
static double trial(int v, const Shape *s, float *out, const float *in, const float *w, double seconds) {
    gemm_set_backend(v == 0 ? GEMM_OPENBLAS : GEMM_ONEDNN);
    Precision p = v == 2 ? PRECISION_BF16 : PRECISION_F32;
    long calls = 0;
    double start = now_seconds(), elapsed;
    do {
        gemm_step_begin(p);   /* a step per call: the weight is converted each time, as in training */
        matmul_forward(out, in, w, s->N, s->C, s->O, 0);
        gemm_step_end();
        calls++;
    } while ((elapsed = now_seconds() - start) < seconds);
    return 2.0 * s->N * s->C * (double)s->O * calls / elapsed;
}

int bench_gemm(int argc, char **argv) {
    int threads = 1, trials = 5;
    float seconds = 0.05f;
    ArgSpec specs[] = {
        {"--threads", ARG_INT, &threads, "threads (default 1)", 0, 1024},
        {"--trials", ARG_INT, &trials, "alternating trials per variant and shape (default 5)", 1, 1000},
        {"--seconds", ARG_FLOAT, &seconds, "length of one trial (default 0.05)", 1e-3, 60},
    };
    char name[] = "bench gemm";
    argv[0] = name;
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL, "[options]");
    if (rc) return rc == 1 ? 0 : rc;
    kernels_set_threads(threads);
    int variants = gemm_set_backend(GEMM_ONEDNN) ? 1 : gemm_precision_check(PRECISION_BF16) ? 2 : 3;
    gemm_set_backend(GEMM_AUTO);   /* the description names auto's choice */
    printf("%s; %d thread(s), best of %d alternating trials of %.2f s\n", gemm_backend_describe(),
           kernels_threads(), trials, seconds);
    printf("%-18s", "N x C x O");
    for (int v = 0; v < variants; v++) printf(" %13s", NAMES[v]);
    printf("   GFLOP/s; oneDNN f32 / OpenBLAS, bf16 / OpenBLAS\n");
    for (int k = 0; k < N_SHAPES; k++) {
        const Shape *s = &SHAPES[k];
        float *in = malloc(sizeof(float) * s->N * s->C), *w = malloc(sizeof(float) * s->O * s->C),
              *out = malloc(sizeof(float) * s->N * s->O);
        if (!in || !w || !out) { free(in); free(w); free(out); fprintf(stderr, "meki bench gemm: out of memory\n"); return 1; }
        for (long i = 0; i < (long)s->N * s->C; i++) in[i] = 0.001f * (float)(i % 97);
        for (long i = 0; i < (long)s->O * s->C; i++) w[i] = 0.002f * (float)(i % 89);
        double best[VARIANTS] = {0};
        for (int v = 0; v < variants; v++) trial(v, s, out, in, w, seconds / 5);   /* warm-up: primitives */
        for (int t = 0; t < trials; t++)
            for (int v = 0; v < variants; v++) {
                double f = trial(v, s, out, in, w, seconds);
                if (f > best[v]) best[v] = f;
            }
        char label[32];
        snprintf(label, sizeof label, "%dx%dx%d", s->N, s->C, s->O);
        printf("%-18s", label);
        for (int v = 0; v < variants; v++) printf(" %13.1f", best[v] / 1e9);
        for (int v = 1; v < variants; v++) printf("  %5.2f", best[v] / best[0]);
        printf("\n");
        free(in); free(w); free(out);
    }
    gemm_set_backend(GEMM_AUTO);
    return 0;
}
