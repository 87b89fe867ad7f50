#include "kernels/inference.h"
#include "kernels/activation.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/wquant.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>

/* ---- matrix-vector products (decoding) ---------------------------------------------- */

/* Rows per pass: 4 weight streams, x loaded once for all four. Software prefetch of the
 * next block was tried: no steady gain over the hardware prefetcher on this machine. */
enum { BLOCK = 4, MATVEC_PARALLEL_WORK = 16384, NARROW_COLS = 32 };

#ifdef __AVX512F__
#include <immintrin.h>

/* n < BLOCK rows of w (stride C) against x (a group's last block), masked. */
static void rows_dot_few(const float *w, int n, int C, const float *x, float *sums) {
    for (int r = 0; r < n; r++) {
        __m512 a = _mm512_setzero_ps();
        for (int c = 0; c < C; c += 16) {
            __mmask16 m = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + (size_t)r * C + c), _mm512_maskz_loadu_ps(m, x + c), a);
        }
        sums[r] = _mm512_reduce_add_ps(a);
    }
}

/* BLOCK rows of w (stride C) against x; two accumulators per row, 16 floats each. Every
 * index is a constant, so the accumulators stay in registers (a loop to a runtime row count
 * kept them on the stack: a load and a store per FMA, which made a narrow matrix's rows,
 * MeKi's output product, cost 2.6 instructions per multiply-add). */
static void rows_dot4(const float *w, int C, const float *x, float *sums) {
    __m512 a[BLOCK][2];
    for (int r = 0; r < BLOCK; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
    int c = 0;
    {
        const float *w0 = w, *w1 = w + C, *w2 = w + 2 * (size_t)C, *w3 = w + 3 * (size_t)C;
        for (; c + 32 <= C; c += 32) {
            __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
            a[0][0] = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c), x0, a[0][0]);
            a[1][0] = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + c), x0, a[1][0]);
            a[2][0] = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + c), x0, a[2][0]);
            a[3][0] = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + c), x0, a[3][0]);
            a[0][1] = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c + 16), x1, a[0][1]);
            a[1][1] = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + c + 16), x1, a[1][1]);
            a[2][1] = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + c + 16), x1, a[2][1]);
            a[3][1] = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + c + 16), x1, a[3][1]);
        }
    }
    for (; c < C; c += 16) {   /* the tail, masked */
        __mmask16 m = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + c);
        for (int r = 0; r < BLOCK; r++)
            a[r][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + (size_t)r * C + c), xv, a[r][0]);
    }
    {   /* the four rows reduced together: a third of four reductions' work */
        __m512 s0 = _mm512_add_ps(a[0][0], a[0][1]), s1 = _mm512_add_ps(a[1][0], a[1][1]);
        __m512 s2 = _mm512_add_ps(a[2][0], a[2][1]), s3 = _mm512_add_ps(a[3][0], a[3][1]);
        __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(s0, s1), _mm512_unpackhi_ps(s0, s1));
        __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(s2, s3), _mm512_unpackhi_ps(s2, s3));
        __m512 u = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))));
        __m256 v = _mm256_add_ps(_mm512_castps512_ps256(u), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
        _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
    }
}

enum { NARROW_ROWS = 16 };

/* NARROW_ROWS rows of a narrow matrix (C <= NARROW_COLS, e.g. MeKi's d x d_mem output
 * product) against x: one accumulator per row, then the sixteen reduced together by a
 * shuffle tree (lane r of the result is row r's sum), instead of four blocks each paying
 * its own reduction and bookkeeping for 4 x C multiply-adds. */
static void rows_dot_narrow(const float *w, int C, const float *x, float *sums) {
    __m512 p[NARROW_ROWS], t[8], u[4];
    for (int r = 0; r < NARROW_ROWS; r++) p[r] = _mm512_setzero_ps();
    for (int c = 0; c < C; c += 16) {
        __mmask16 m = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + c);
        for (int r = 0; r < NARROW_ROWS; r++)
            p[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + (size_t)r * C + c), xv, p[r]);
    }
    for (int i = 0; i < 8; i++)   /* per 128-bit lane: rows 2i, 2i+1 interleaved */
        t[i] = _mm512_add_ps(_mm512_unpacklo_ps(p[2 * i], p[2 * i + 1]), _mm512_unpackhi_ps(p[2 * i], p[2 * i + 1]));
    for (int i = 0; i < 4; i++) {   /* per 128-bit lane: rows 4i..4i+3 */
        __m512d a = _mm512_castps_pd(t[2 * i]), b = _mm512_castps_pd(t[2 * i + 1]);
        u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    __m512 w01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
    __m512 w23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
    _mm512_storeu_ps(sums, _mm512_add_ps(_mm512_shuffle_f32x4(w01, w23, _MM_SHUFFLE(2, 0, 2, 0)),
                                         _mm512_shuffle_f32x4(w01, w23, _MM_SHUFFLE(3, 1, 3, 1))));
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* The AVX-512 kernel's shape at 8 floats (AVX2 machines, and valgrind, which has no AVX-512:
 * its instruction counts then resemble a vector build's, not a scalar one's). */
static __m256i tail_mask(int left) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left < 8 ? left : 8), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static void rows_dot_few(const float *w, int n, int C, const float *x, float *sums) {
    for (int r = 0; r < n; r++) {
        __m256 a = _mm256_setzero_ps();
        for (int c = 0; c < C; c += 8) {
            __m256i m = tail_mask(C - c);
            a = _mm256_fmadd_ps(_mm256_maskload_ps(w + (size_t)r * C + c, m), _mm256_maskload_ps(x + c, m), a);
        }
        sums[r] = hsum256(a);
    }
}

static void rows_dot4(const float *w, int C, const float *x, float *sums) {
    __m256 a[BLOCK][2];
    for (int r = 0; r < BLOCK; r++) a[r][0] = a[r][1] = _mm256_setzero_ps();
    int c = 0;
    {
        const float *w0 = w, *w1 = w + C, *w2 = w + 2 * (size_t)C, *w3 = w + 3 * (size_t)C;
        for (; c + 16 <= C; c += 16) {
            __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
            a[0][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), x0, a[0][0]);
            a[1][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), x0, a[1][0]);
            a[2][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), x0, a[2][0]);
            a[3][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), x0, a[3][0]);
            a[0][1] = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c + 8), x1, a[0][1]);
            a[1][1] = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c + 8), x1, a[1][1]);
            a[2][1] = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c + 8), x1, a[2][1]);
            a[3][1] = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c + 8), x1, a[3][1]);
        }
    }
    for (; c < C; c += 8) {   /* the tail, masked */
        __m256i m = tail_mask(C - c);
        __m256 xv = _mm256_maskload_ps(x + c, m);
        for (int r = 0; r < BLOCK; r++)
            a[r][0] = _mm256_fmadd_ps(_mm256_maskload_ps(w + (size_t)r * C + c, m), xv, a[r][0]);
    }
    {   /* the four rows reduced together, as the AVX-512 kernel does */
        __m256 s0 = _mm256_add_ps(a[0][0], a[0][1]), s1 = _mm256_add_ps(a[1][0], a[1][1]);
        __m256 s2 = _mm256_add_ps(a[2][0], a[2][1]), s3 = _mm256_add_ps(a[3][0], a[3][1]);
        __m256 t01 = _mm256_add_ps(_mm256_unpacklo_ps(s0, s1), _mm256_unpackhi_ps(s0, s1));
        __m256 t23 = _mm256_add_ps(_mm256_unpacklo_ps(s2, s3), _mm256_unpackhi_ps(s2, s3));
        __m256 u = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t01), _mm256_castps_pd(t23))),
                                 _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t01), _mm256_castps_pd(t23))));
        _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1)));
    }
}

enum { NARROW_ROWS = 8 };

/* The AVX-512 narrow kernel at 8 rows (see there). */
static void rows_dot_narrow(const float *w, int C, const float *x, float *sums) {
    __m256 p[NARROW_ROWS], t[4], u[2];
    for (int r = 0; r < NARROW_ROWS; r++) p[r] = _mm256_setzero_ps();
    for (int c = 0; c < C; c += 8) {
        __m256i m = tail_mask(C - c);
        __m256 xv = _mm256_maskload_ps(x + c, m);
        for (int r = 0; r < NARROW_ROWS; r++)
            p[r] = _mm256_fmadd_ps(_mm256_maskload_ps(w + (size_t)r * C + c, m), xv, p[r]);
    }
    for (int i = 0; i < 4; i++)
        t[i] = _mm256_add_ps(_mm256_unpacklo_ps(p[2 * i], p[2 * i + 1]), _mm256_unpackhi_ps(p[2 * i], p[2 * i + 1]));
    for (int i = 0; i < 2; i++) {
        __m256d a = _mm256_castps_pd(t[2 * i]), b = _mm256_castps_pd(t[2 * i + 1]);
        u[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)), _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)));
    }
    _mm256_storeu_ps(sums, _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20), _mm256_permute2f128_ps(u[0], u[1], 0x31)));
}
#else
enum { NARROW_ROWS = 0 };
static void rows_dot_narrow(const float *w, int C, const float *x, float *sums) { (void)w; (void)C; (void)x; (void)sums; }

static void rows_dot_few(const float *w, int n, int C, const float *x, float *sums) {
    for (int r = 0; r < n; r++) {
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++) s += w[(size_t)r * C + c] * x[c];
        sums[r] = s;
    }
}

static void rows_dot4(const float *w, int C, const float *x, float *sums) { rows_dot_few(w, BLOCK, C, x, sums); }
#endif

/* ---- products with a transposed weight: out[O] = x[C] @ weight_t[C, O] ------------- */

/* Columns [lo, hi) of out, as C axpy passes of x[c] * weight_t's row c: no horizontal
 * reduction, which is what a narrow C (MeKi's d_mem) would pay per output row. Tiles of 4
 * vectors keep their accumulators in registers across the passes. */
#ifdef __AVX512F__
static void axpy_columns(float *out, const float *x, const float *wt, int C, int O, int lo, int hi) {
    int o = lo;
    for (; o + 64 <= hi; o += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < C; c++) {
            const float *w = wt + (size_t)c * O + o;
            __m512 xv = _mm512_set1_ps(x[c]);
            a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w), a0);
            a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + 16), a1);
            a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + 32), a2);
            a3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + 48), a3);
        }
        _mm512_storeu_ps(out + o, a0); _mm512_storeu_ps(out + o + 16, a1);
        _mm512_storeu_ps(out + o + 32, a2); _mm512_storeu_ps(out + o + 48, a3);
    }
    for (; o < hi; o += 16) {   /* under 64 columns left: one vector at a time, the last masked */
        __mmask16 m = hi - o >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hi - o)) - 1);
        __m512 a = _mm512_setzero_ps();
        for (int c = 0; c < C; c++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(x[c]), _mm512_maskz_loadu_ps(m, wt + (size_t)c * O + o), a);
        _mm512_mask_storeu_ps(out + o, m, a);
    }
}
#elif defined(__AVX2__) && defined(__FMA__)
static void axpy_columns(float *out, const float *x, const float *wt, int C, int O, int lo, int hi) {
    int o = lo;
    for (; o + 32 <= hi; o += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < C; c++) {
            const float *w = wt + (size_t)c * O + o;
            __m256 xv = _mm256_set1_ps(x[c]);
            a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w), a0);
            a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 8), a1);
            a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 16), a2);
            a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 24), a3);
        }
        _mm256_storeu_ps(out + o, a0); _mm256_storeu_ps(out + o + 8, a1);
        _mm256_storeu_ps(out + o + 16, a2); _mm256_storeu_ps(out + o + 24, a3);
    }
    for (; o < hi; o += 8) {
        __m256i m = tail_mask(hi - o);
        __m256 a = _mm256_setzero_ps();
        for (int c = 0; c < C; c++)
            a = _mm256_fmadd_ps(_mm256_set1_ps(x[c]), _mm256_maskload_ps(wt + (size_t)c * O + o, m), a);
        _mm256_maskstore_ps(out + o, m, a);
    }
}
#else
static void axpy_columns(float *out, const float *x, const float *wt, int C, int O, int lo, int hi) {
    for (int o = lo; o < hi; o++) out[o] = 0;
    for (int c = 0; c < C; c++) {
        const float *w = wt + (size_t)c * O, xc = x[c];
#pragma omp simd
        for (int o = lo; o < hi; o++) out[o] += xc * w[o];
    }
}
#endif

/* ---- groups ------------------------------------------------------------------------ */

/* A part's unit of work: BLOCK rows, or a transposed part's TILE columns (axpy_columns'
 * widest pass). */
enum { TILE = 64 };

static int part_cols(const MatvecPart *g, int C) { return g->x ? g->cols : C; }
static int part_unit(const MatvecPart *g) { return g->transposed ? TILE : BLOCK; }
static long part_units(const MatvecPart *g) { return (g->rows + part_unit(g) - 1) / part_unit(g); }

/* Blocks [lo, hi) of a part of rows, over its input x[C]. */
static void rows_range(const MatvecPart *g, const float *x, int C, long lo, long hi) {
    size_t row_bytes = g->packed ? weights_bytes(g->packed_dtype, 1, C) : 0;
    int narrow = !g->packed && NARROW_ROWS && C <= NARROW_COLS;
    int end = hi * BLOCK < g->rows ? (int)(hi * BLOCK) : g->rows;
    for (int row = (int)(lo * BLOCK), n; row < end; row += n) {
        float sums[4 * BLOCK];
        _Static_assert(NARROW_ROWS <= 4 * BLOCK, "sums holds a narrow pass");
        n = end - row < BLOCK ? end - row : BLOCK;
        const float *w = g->weight + (size_t)row * C;
        if (narrow && row + NARROW_ROWS <= end) {
            n = NARROW_ROWS;
            rows_dot_narrow(w, C, x, sums);
        } else if (g->packed)
            weights_rows_dot(g->packed_dtype, (const uint8_t *)g->packed + (size_t)row * row_bytes,
                             n, C, x, sums);
        else if (n == BLOCK)
            rows_dot4(w, C, x, sums);
        else
            rows_dot_few(w, n, C, x, sums);
        float *out = g->out + row;
        if (g->accumulate)
            for (int r = 0; r < n; r++) out[r] += sums[r];
        else
            for (int r = 0; r < n; r++) out[r] = sums[r];
    }
}

/* Units [lo, hi) of one part, over its input x[C]. */
static void part_range(const MatvecPart *g, const float *x, int C, long lo, long hi) {
    if (!g->transposed) { rows_range(g, x, C, lo, hi); return; }
    long end = hi * TILE < g->rows ? hi * TILE : g->rows;
    if (g->packed) weights_axpy_columns(g->packed_dtype, g->packed, C, g->rows, x, g->out, (int)(lo * TILE), (int)end);
    else axpy_columns(g->out, x, g->weight, C, g->rows, (int)(lo * TILE), (int)end);
}

/* The units of every part whose first multiply-add, counted across the parts in order,
 * falls in [first, last): the threads' ranges of work partition the group's units, and a
 * part whose rows are short (MeKi's output product: d_mem wide) weighs what it costs. */
static void group_range(const MatvecPart *parts, int n_parts, const float *x, int C, long first,
                        long last) {
    long base = 0;
    for (int p = 0; p < n_parts && base < last; p++) {
        const MatvecPart *g = &parts[p];
        int cols = part_cols(g, C);
        long unit = (long)part_unit(g) * cols, units = part_units(g);
        if (unit <= 0 || units <= 0) continue;
        long lo = first > base ? (first - base + unit - 1) / unit : 0;
        long hi = (last - base + unit - 1) / unit;
        part_range(g, g->x ? g->x : x, cols, lo, hi < units ? hi : units);
        base += (long)g->rows * cols;
    }
}

void matvec_group(const MatvecPart *parts, int n_parts, const float *x, int C) {
    long units = 0, work = 0;   /* work: multiply-adds */
    for (int p = 0; p < n_parts; p++) {
        units += part_units(&parts[p]);
        work += (long)parts[p].rows * part_cols(&parts[p], C);
    }
    int threads = kernels_threads();
    /* no region at all: its entry costs ~2 us, about what a single thread needs for
     * MATVEC_PARALLEL_WORK multiply-adds (e.g. MeKi's d x d_mem output product) */
    if (threads <= 1 || units < 2 * threads || work < MATVEC_PARALLEL_WORK) {
        group_range(parts, n_parts, x, C, 0, work);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        group_range(parts, n_parts, x, C, work * t / n, work * (t + 1) / n);
    }
}

void linear_forward_t(float *out, const float *in, const float *weight_t, int N, int C, int O) {
    if (N != 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, O, C, 1.0f, in, C, weight_t, O,
                    0.0f, out, O);
        return;
    }
    MatvecPart part = {.weight = weight_t, .out = out, .rows = O, .x = in, .cols = C, .transposed = 1};
    matvec_group(&part, 1, in, C);
}

void linear_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate) {
    if (N != 1) { matmul_forward(out, in, weight, N, C, O, accumulate); return; }
    MatvecPart part = {.weight = weight, .out = out, .rows = O, .accumulate = accumulate};
    matvec_group(&part, 1, in, C);
}

/* The arithmetic of rmsnorm_forward, step for step (its row sum, rmsnorm_rstd, in SIMD
 * lanes of double: a serial double sum cost 3-4 instructions per element), so both round alike. */
void rmsnorm_rows(float *out, const float *in, const float *gain, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (long)n * C;
        float *y = out + (long)n * C;
        float r = rmsnorm_rstd(x, C, eps);
        for (int c = 0; c < C; c++) y[c] = x[c] * r * (gain ? gain[c] : 1.0f);
    }
}

void rmsnorm_add_rows(float *out, const float *in, const float *gain, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (long)n * C;
        float *y = out + (long)n * C;
        float r = rmsnorm_rstd(x, C, eps);
        if (gain) {   /* two loops, each `omp simd`: no aliasing checks (in and out differ) */
#pragma omp simd
            for (int c = 0; c < C; c++) y[c] += x[c] * r * gain[c];
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++) y[c] += x[c] * r;
        }
    }
}

/* `omp simd` is a compile-time hint: no runtime region. */
void gate_fuse_rows(float *v, const float *gate, long n, int silu, int multiply) {
    if (silu && multiply) {
#pragma omp simd
        for (long i = 0; i < n; i++) v[i] = v[i] * siluf(gate[i]);
    } else if (silu) {
#pragma omp simd
        for (long i = 0; i < n; i++) v[i] = v[i] + siluf(gate[i]);
    } else if (multiply) {
#pragma omp simd
        for (long i = 0; i < n; i++) v[i] = v[i] * sigmoidf(gate[i]);
    } else {
#pragma omp simd
        for (long i = 0; i < n; i++) v[i] = v[i] + sigmoidf(gate[i]);
    }
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
