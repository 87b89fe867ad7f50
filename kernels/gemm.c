#include "kernels/gemm.h"
#include "kernels/gemm_dnnl.h"
#include "kernels/quant.h"
#include "util/error.h"
#include "util/timer.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not reentrant (one step's scratch and weight copies): called from the main thread, as
 * every model and engine caller does, never from inside an OpenMP region. */

static GemmBackend backend = GEMM_AUTO;
static Precision step_precision = PRECISION_F32;   /* f32 outside gemm_step_begin/end */

/* Below this many multiply-adds a oneDNN call's fixed cost outweighs its faster kernel:
 * `./meki bench gemm` (1 thread, load 17) gave oneDNN / OpenBLAS 0.27-0.72 at 8^3-24^3,
 * 1.8-2.7 at 32^3-48^3. To re-measure on a quiet machine. */
static const double DNNL_MIN_MACS = 32.0 * 32 * 32;

/* The one place that picks the library of an f32 GEMM. */
static int f32_on_dnnl(int M, int N, int K) {
    if (backend == GEMM_OPENBLAS) return 0;
    if (backend == GEMM_ONEDNN) return 1;
    return onednn_has_avx512() && (double)M * N * K >= DNNL_MIN_MACS;
}

/* ---- bf16 operands ---- */

typedef struct { uint16_t *data; size_t capacity; } Buffer;

static uint16_t *buffer_fit(Buffer *b, size_t n) {
    if (n > b->capacity) {
        free(b->data);
        b->capacity = n + n / 4;
        if (!(b->data = malloc(sizeof(uint16_t) * b->capacity))) {
            fprintf(stderr, "meki: out of memory for a %zu-value bf16 GEMM operand\n", n);
            abort();
        }
    }
    return b->data;
}

static void to_bf16(uint16_t *out, const float *in, size_t n) {
    /* split across threads in 64k-value pieces: memory bound, worth it only when large */
    long pieces = (long)((n + 65535) / 65536);
#pragma omp parallel for if (pieces > 1)
    for (long p = 0; p < pieces; p++) {
        size_t start = (size_t)p * 65536, count = n - start < 65536 ? n - start : 65536;
        f32_to_bf16_array(out + start, in + start, count);
    }
}

/* The bf16 copy of each weight, made on its first use in a step and reused by the rest of
 * the step (forward and backward read the same weights). */
typedef struct {
    const float *source;
    size_t n;
    unsigned long step;
    Buffer copy;
} WeightCopy;
enum { WEIGHT_COPIES = 256 };
static WeightCopy weight_copies[WEIGHT_COPIES];
static unsigned long step_id;
static Buffer scratch[2];   /* the activation operands of one call */

static const uint16_t *weight_bf16(const float *w, size_t n, Buffer *fallback) {
    WeightCopy *slot = NULL;
    for (int i = 0; i < WEIGHT_COPIES; i++) {
        WeightCopy *c = &weight_copies[i];
        if (c->source == w && c->n == n) {
            if (c->step == step_id) return c->copy.data;
            slot = c;
            break;
        }
        if (!slot && c->step != step_id) slot = c;   /* free, or a past step's */
    }
    if (!slot) {   /* more distinct weights in one step than slots: convert per call */
        uint16_t *out = buffer_fit(fallback, n);
        to_bf16(out, w, n);
        return out;
    }
    slot->source = w;
    slot->n = n;
    slot->step = step_id;
    to_bf16(buffer_fit(&slot->copy, n), w, n);
    return slot->copy.data;
}

/* ---- the one GEMM every matmul goes through ---- */

/* C[M, N] (= or +=) op(A) @ op(B), row-major, contiguous rows (ld = stored width);
 * b_weight: B is a weight, whose bf16 copy lives for the step. */
static void gemm(int ta, int tb, int M, int N, int K, const float *A, const float *B, float *C,
                 int accumulate, int b_weight) {
    int lda = ta ? M : K, ldb = tb ? K : N;
    if (step_precision == PRECISION_BF16) {
        uint16_t *a = buffer_fit(&scratch[0], (size_t)M * K);
        to_bf16(a, A, (size_t)M * K);
        const uint16_t *b;
        if (b_weight) b = weight_bf16(B, (size_t)K * N, &scratch[1]);
        else to_bf16((uint16_t *)(b = buffer_fit(&scratch[1], (size_t)K * N)), B, (size_t)K * N);
        if (onednn_gemm(ta, tb, M, N, K, a, lda, b, ldb, C, N, accumulate, 1)) {
            /* gemm_precision_check passed, so this is a oneDNN gap, not bad input */
            fprintf(stderr, "meki: %s\n", error_message());
            abort();
        }
        return;
    }
    if (f32_on_dnnl(M, N, K) && !onednn_gemm(ta, tb, M, N, K, A, lda, B, ldb, C, N, accumulate, 0)) return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                A, lda, B, ldb, accumulate ? 1.0f : 0.0f, C, N);
}

void matmul_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate) {
    gemm(0, 1, N, O, C, in, weight, out, accumulate, 1);
}

static void backward(float *din, float *dweight, const float *dout, const float *in,
                     const float *weight, int N, int C, int O, int din_accumulate) {
    if (din) gemm(0, 0, N, C, O, dout, weight, din, din_accumulate, 1);
    if (dweight) gemm(1, 0, O, C, N, dout, in, dweight, 1, 0);
}

void matmul_backward(float *din, float *dweight, const float *dout, const float *in,
                     const float *weight, int N, int C, int O) {
    backward(din, dweight, dout, in, weight, N, C, O, 1);
}

void matmul_backward_set(float *din, float *dweight, const float *dout, const float *in,
                         const float *weight, int N, int C, int O) {
    backward(din, dweight, dout, in, weight, N, C, O, 0);
}

/* ---- settings ---- */

const char *precision_name(Precision p) { return p == PRECISION_BF16 ? "bf16" : "f32"; }

int precision_parse(const char *s) {
    if (s && !strcmp(s, "f32")) return PRECISION_F32;
    if (s && !strcmp(s, "bf16")) return PRECISION_BF16;
    return -1;
}

int gemm_precision_check(Precision p) {
    if (p == PRECISION_F32) return OK;
    /* oneDNN 2.6 runs bf16 matmul on avx512_core (emulated dot products) and up */
    if (!onednn_has_avx512())
        return error_set(ERR_INPUT, "precision bf16 needs oneDNN on AVX-512; here its f32 matmul is %s",
                         onednn_impl(0));
    return OK;
}

void gemm_step_begin(Precision p) {
    step_precision = p;
    step_id++;   /* every weight copy of the previous step is stale */
}

void gemm_step_end(void) {
    step_precision = PRECISION_F32;
    step_id++;
}

int gemm_set_backend(GemmBackend b) {
    if (b == GEMM_ONEDNN && !onednn_has_avx512())
        return error_set(ERR_INPUT, "--gemm onednn: oneDNN's f32 matmul here is %s, not AVX-512", onednn_impl(0));
    backend = b;
    return OK;
}

int gemm_backend_parse(const char *s) {
    static const char *const names[] = {"auto", "openblas", "onednn"};
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

const char *gemm_backend_describe(void) {
    static char text[160];
    char cut[64];
    snprintf(cut, sizeof cut, "oneDNN (OpenBLAS below %.0f^3 multiply-adds)", cbrt(DNNL_MIN_MACS));
    const char *f32 = backend == GEMM_OPENBLAS ? "OpenBLAS"
                      : backend == GEMM_ONEDNN ? "oneDNN"
                      : onednn_has_avx512() ? cut : "OpenBLAS";
    snprintf(text, sizeof text, "f32 GEMMs on %s, bf16 on oneDNN; oneDNN picks %s (f32), %s (bf16)", f32,
             onednn_impl(0), onednn_impl(1));
    return text;
}

/* The best of several short trials: a peak is a maximum, and one long trial folds in any
 * moment the other core was taken (an MFU above 1 was seen that way). The bf16 peak is of
 * the GEMM alone, its operands converted beforehand. */
double gemm_peak_flops(Precision p, int size, double seconds) {
    size_t n = (size_t)size * size;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * n);
    uint16_t *a16 = malloc(sizeof(uint16_t) * n), *b16 = malloc(sizeof(uint16_t) * n);
    if (!a || !b || !c || !a16 || !b16) {
        free(a); free(b); free(c); free(a16); free(b16);
        return 0;
    }
    for (size_t i = 0; i < n; i++) a[i] = b[i] = 0.001f * (float)(i % 97);
    f32_to_bf16_array(a16, a, n);
    f32_to_bf16_array(b16, b, n);
    int bf16 = p == PRECISION_BF16 && !gemm_precision_check(p);
    double best = 0, trial = seconds / 5;
    for (int t = -1; t < 5; t++) {   /* t = -1: warm-up (thread pool, caches, primitive) */
        double start = now_seconds(), elapsed;
        long calls = 0;
        do {
            if (bf16) onednn_gemm(0, 1, size, size, size, a16, size, b16, size, c, size, 0, 1);
            else matmul_forward(c, a, b, size, size, size, 0);
            calls++;
            elapsed = now_seconds() - start;
        } while (t >= 0 && elapsed < trial);
        double flops = 2.0 * size * (double)size * size * calls / elapsed;
        if (t >= 0 && flops > best) best = flops;
    }
    free(a); free(b); free(c); free(a16); free(b16);
    return best;
}

static int thread_count;

void kernels_set_threads(int threads) {
    if (threads <= 0) threads = omp_get_num_procs();
    thread_count = threads;
    omp_set_num_threads(threads);   /* oneDNN's OpenMP runtime reads this too */
    openblas_set_num_threads(threads);
}

int kernels_threads(void) { return thread_count ? thread_count : omp_get_max_threads(); }
