#include "kernels/wquant.h"
#include "kernels/quant.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

static const char *const NAMES[] = {"f32", "bf16", "q8_0"};

const char *weights_dtype_name(WeightsDtype t) { return t >= 0 && t <= WEIGHTS_Q8_0 ? NAMES[t] : "?"; }

int weights_dtype_parse(const char *name) {
    for (int i = 0; i <= WEIGHTS_Q8_0; i++) if (name && !strcmp(name, NAMES[i])) return i;
    return -1;
}

size_t weights_bytes(WeightsDtype t, long rows, int C) {
    if (t == WEIGHTS_F32) return sizeof(float) * (size_t)rows * C;
    if (t == WEIGHTS_BF16) return sizeof(uint16_t) * (size_t)rows * C;
    return C % QK_BLOCK ? 0 : (size_t)rows * (C / QK_BLOCK) * Q8_0_BLOCK_BYTES;
}

/* q8_0 rows are kernels/quant.c's ggml blocks (the ROM tables' and GGUF export's encoder),
 * so a decode reads byte for byte what llama.cpp would store for these weights. */
void weights_encode(WeightsDtype t, void *dst, const float *w, long rows, int C) {
    size_t n = (size_t)rows * C;
    if (t == WEIGHTS_F32) memcpy(dst, w, n * sizeof(float));
    else if (t == WEIGHTS_BF16)
        for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = f32_to_bf16(w[i]);
    else
        for (long r = 0; r < rows; r++)
            q8_encode_row((uint8_t *)dst + (size_t)r * weights_bytes(t, 1, C), w + (size_t)r * C, C);
}

long weights_find_overflow(WeightsDtype t, const float *w, long rows, int C) {
    TableDtype same = t == WEIGHTS_BF16 ? TABLE_BF16 : t == WEIGHTS_Q8_0 ? TABLE_Q8 : TABLE_F32;
    return quant_find_overflow(same, w, rows, C);
}

void weights_roundtrip(WeightsDtype t, float *w, long rows, int C) {
    size_t n = (size_t)rows * C;
    if (t == WEIGHTS_BF16)
        for (size_t i = 0; i < n; i++) w[i] = bf16_to_f32(f32_to_bf16(w[i]));
    else if (t == WEIGHTS_Q8_0) {
        uint8_t row[Q8_0_BLOCK_BYTES * 512];   /* rows up to 16384 wide on the stack */
        for (long r = 0; r < rows; r++) {
            float *x = w + (size_t)r * C;
            for (int c = 0; c < C; c += 16384) {
                int n_c = C - c < 16384 ? C - c : 16384;   /* whole blocks: C % 32 == 0 */
                q8_encode_row(row, x + c, n_c);
                q8_decode_row(x + c, row, n_c);
            }
        }
    }
}

#ifdef __AVX512F__
/* 16 bf16 values widened to f32 (the high half of each float), and 16 q8_0 quants as f32. */
static __m512 bf16x16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

static __m512 q8x16(const uint8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }

static float dot_bf16(const uint16_t *w, int C, const float *x) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int c = 0;
    for (; c + 32 <= C; c += 32) {
        a0 = _mm512_fmadd_ps(bf16x16(w + c), _mm512_loadu_ps(x + c), a0);
        a1 = _mm512_fmadd_ps(bf16x16(w + c + 16), _mm512_loadu_ps(x + c + 16), a1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; c < C; c++) s += bf16_to_f32(w[c]) * x[c];
    return s;
}

static float dot_q8_0(const uint8_t *w, int C, const float *x) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    for (int b = 0; b < C / QK_BLOCK; b++, w += Q8_0_BLOCK_BYTES, x += QK_BLOCK) {
        uint16_t h;
        memcpy(&h, w, 2);
        __m512 d = _mm512_set1_ps(_cvtsh_ss(h));
        __m512 t = _mm512_fmadd_ps(q8x16(w + 18), _mm512_loadu_ps(x + 16), _mm512_mul_ps(q8x16(w + 2), _mm512_loadu_ps(x)));
        if (b & 1) a1 = _mm512_fmadd_ps(t, d, a1);
        else a0 = _mm512_fmadd_ps(t, d, a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}
#else
static float dot_bf16(const uint16_t *w, int C, const float *x) {
    float s = 0;
    for (int c = 0; c < C; c++) s += bf16_to_f32(w[c]) * x[c];
    return s;
}

static float dot_q8_0(const uint8_t *w, int C, const float *x) {
    float s = 0;
    for (int b = 0; b < C / QK_BLOCK; b++, w += Q8_0_BLOCK_BYTES, x += QK_BLOCK) {
        uint16_t h;
        memcpy(&h, w, 2);
        float t = 0;
        for (int i = 0; i < QK_BLOCK; i++) t += (float)(int8_t)w[2 + i] * x[i];
        s += t * f16_to_f32(h);
    }
    return s;
}
#endif

void weights_decode_row(WeightsDtype t, const void *packed, long row, int C, float *out) {
    const uint8_t *w = (const uint8_t *)packed + (size_t)row * weights_bytes(t, 1, C);
    if (t == WEIGHTS_F32) memcpy(out, w, sizeof(float) * C);
    else if (t == WEIGHTS_BF16)
        for (int c = 0; c < C; c++) out[c] = bf16_to_f32(((const uint16_t *)w)[c]);
    else
        for (int b = 0; b < C / QK_BLOCK; b++, w += Q8_0_BLOCK_BYTES) {
            uint16_t h;
            memcpy(&h, w, 2);
            float d = f16_to_f32(h);
            for (int i = 0; i < QK_BLOCK; i++) out[b * QK_BLOCK + i] = d * (float)(int8_t)w[2 + i];
        }
}

void weights_rows_dot(WeightsDtype t, const void *packed, int n, int C, const float *x, float *sums) {
    size_t row = weights_bytes(t, 1, C);
    for (int r = 0; r < n; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)r * row;
        sums[r] = t == WEIGHTS_BF16 ? dot_bf16((const uint16_t *)w, C, x) : dot_q8_0(w, C, x);
    }
}

/* Tiles of 64 columns, the f32 path's widest (kernels/inference.c axpy_columns), each summed
 * over the rows in order: acc += x[c] * value for bf16, as the f32 kernel computes on the
 * decoded values, fused where it fuses (an FMA unit: its AVX2 and AVX-512 tiles), apart
 * where it is apart (its portable loop); acc += x[c] * scale * q for q8_0 (one multiply per
 * block). The AVX-512 tiles keep the 64 sums in registers. */
#ifdef __FMA__
#define MULADD(a, b, c) fmaf(a, b, c)
#else
#define MULADD(a, b, c) ((c) + (a) * (b))
#endif
#ifdef __AVX512F__
static int axpy_tiles(WeightsDtype t, const uint8_t *packed, size_t row, int C, const float *x, float *out,
                      int o0, int hi) {
    for (; o0 + 64 <= hi; o0 += 64) {
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int c = 0; c < C; c++) {
            const uint8_t *w = packed + (size_t)c * row;
            if (t == WEIGHTS_BF16) {
                __m512 xc = _mm512_set1_ps(x[c]);
                const uint16_t *b = (const uint16_t *)w + o0;
                for (int j = 0; j < 4; j++) a[j] = _mm512_fmadd_ps(xc, bf16x16(b + 16 * j), a[j]);
            } else {
                for (int k = 0; k < 2; k++) {
                    const uint8_t *block = w + (size_t)(o0 / QK_BLOCK + k) * Q8_0_BLOCK_BYTES;
                    uint16_t h;
                    memcpy(&h, block, 2);
                    __m512 sc = _mm512_set1_ps(x[c] * _cvtsh_ss(h));
                    a[2 * k] = _mm512_fmadd_ps(sc, q8x16(block + 2), a[2 * k]);
                    a[2 * k + 1] = _mm512_fmadd_ps(sc, q8x16(block + 18), a[2 * k + 1]);
                }
            }
        }
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(out + o0 + 16 * j, a[j]);
    }
    return o0;
}
#else
static int axpy_tiles(WeightsDtype t, const uint8_t *packed, size_t row, int C, const float *x, float *out,
                      int o0, int hi) {
    return o0;
}
#endif

void weights_axpy_columns(WeightsDtype t, const void *packed, int C, int O, const float *x, float *out,
                          int lo, int hi) {
    size_t row = weights_bytes(t, 1, O);
    for (int o0 = axpy_tiles(t, packed, row, C, x, out, lo, hi); o0 < hi; o0 += 64) {
        int n = hi - o0 < 64 ? hi - o0 : 64;
        float acc[64] = {0};
        for (int c = 0; c < C; c++) {
            const uint8_t *w = (const uint8_t *)packed + (size_t)c * row;
            float xc = x[c];
            if (t == WEIGHTS_BF16) {
                const uint16_t *b = (const uint16_t *)w + o0;
#pragma omp simd
                for (int i = 0; i < n; i++) {   /* bf16_to_f32, inline: a call would not vectorise */
                    uint32_t bits = (uint32_t)b[i] << 16;
                    float v;
                    memcpy(&v, &bits, sizeof v);
                    acc[i] = MULADD(xc, v, acc[i]);
                }
            } else {   /* q8_0: o0 and n are whole blocks (O % 32 == 0, lo and hi too) */
                for (int k = 0; k < n; k += QK_BLOCK) {
                    const uint8_t *block = w + (size_t)((o0 + k) / QK_BLOCK) * Q8_0_BLOCK_BYTES;
                    uint16_t h;
                    memcpy(&h, block, 2);
                    float s = xc * f16_to_f32(h);
#pragma omp simd
                    for (int i = 0; i < QK_BLOCK; i++) acc[k + i] = MULADD(s, (float)(int8_t)block[2 + i], acc[k + i]);
                }
            }
        }
        memcpy(out + o0, acc, sizeof(float) * n);
    }
}
