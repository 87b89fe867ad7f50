#include "kernels/quant.h"
#include <math.h>
#include <string.h>

/* Encoded rows are stored in host order and the files say little-endian. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "quant.c assumes a little-endian host"
#endif

static const char *const dtype_names[TABLE_DTYPE_COUNT] = {"f32", "f16", "bf16", "q8_0", "q4_0"};

const char *table_dtype_name(TableDtype t) {
    return (unsigned)t < TABLE_DTYPE_COUNT ? dtype_names[t] : "?";
}

int table_dtype_parse(const char *s) {
    for (int t = 0; s && t < TABLE_DTYPE_COUNT; t++)
        if (strcmp(s, dtype_names[t]) == 0) return t;
    /* the names before ROM version 2; they now mean the q8_0 / q4_0 layouts */
    if (s && !strcmp(s, "q8")) return TABLE_Q8;
    if (s && !strcmp(s, "q4")) return TABLE_Q4;
    return -1;
}

size_t table_row_bytes(TableDtype t, int width) {
    if (width <= 0) return 0;
    size_t w = (size_t)width;
    switch (t) {
    case TABLE_F32: return 4 * w;
    case TABLE_F16:
    case TABLE_BF16: return 2 * w;
    case TABLE_Q8: return w % QK_BLOCK == 0 ? w / QK_BLOCK * Q8_0_BLOCK_BYTES : 1 + w;
    case TABLE_Q4: return w % QK_BLOCK == 0 ? w / QK_BLOCK * Q4_0_BLOCK_BYTES : 2 + (w + 1) / 2;
    }
    return 0;
}

static inline uint32_t float_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float bits_float(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* ---- f16 / bf16 ---------------------------------------------------------------- */

/* Shift a 24-bit significand right by s (1..24), rounding to nearest even. */
static inline uint32_t shift_round_even(uint32_t full, int s) {
    uint32_t q = full >> s, rem = full & ((1u << s) - 1), half = 1u << (s - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t f32_to_f16(float x) {
    uint32_t u = float_bits(x), sign = (u >> 16) & 0x8000, a = u & 0x7fffffff;
    if (a > 0x7f800000) return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff)); /* quiet nan */
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to inf */
    if (a >= 0x38800000) {                                 /* normal half: >= 2^-14 */
        uint32_t m = a - (112u << 23);                     /* rebias exponent 127 -> 15 */
        m += 0xfff + ((m >> 13) & 1);                      /* round to nearest even; carry is fine */
        return (uint16_t)(sign | (m >> 13));
    }
    if (a < 0x33000000) return (uint16_t)sign;             /* <= 2^-25: ties to even zero */
    /* Subnormal half: value = m * 2^-24, m = significand >> (126 - exponent). */
    uint32_t full = (a & 0x7fffff) | 0x800000;
    return (uint16_t)(sign | shift_round_even(full, 126 - (int)(a >> 23)));
}

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) {                                          /* zero or subnormal: exact */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    uint32_t exponent = e == 0x1f ? 0xffu : e + 112;
    return bits_float(sign | exponent << 23 | m << 13);
}

float f16_to_f32(uint16_t h) { return half_to_float(h); }

static inline uint16_t float_to_brain(float x) {
    uint32_t u = float_bits(x);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40); /* stay nan */
    u += 0x7fff + ((u >> 16) & 1);                        /* round to nearest even */
    return (uint16_t)(u >> 16);
}

uint16_t f32_to_bf16(float x) { return float_to_brain(x); }

/* The same rounding inlined into a loop gcc vectorises: the GEMMs' bf16 operands are
 * converted per step, millions of values. */
void f32_to_bf16_array(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = float_to_brain(in[i]);
}

static inline float brain_to_float(uint16_t h) { return bits_float((uint32_t)h << 16); }
float bf16_to_f32(uint16_t h) { return brain_to_float(h); }

/* ---- helpers shared by the row kernels ------------------------------------------- */

/* Eight partial sums so the compiler can keep them in one vector register
 * (a single float accumulator cannot be reordered without -ffast-math). */
static inline float dot_f32(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline float max_abs(const float *x, int n) {
    float m = 0;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* ---- q8_0 / q4_0 ----------------------------------------------------------------- */

static inline void store_half(uint8_t *p, float d) { uint16_t h = f32_to_f16(d); memcpy(p, &h, 2); }
static inline float load_half(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return half_to_float(h); }

int quant_is_blocked(int width) { return width > 0 && width % QK_BLOCK == 0; }

/* 1 / d for a block scale d, or 0 when d rounds to an f16 zero: such a block decodes to 0
 * whatever its q, and below 2^-128 1 / d overflows to inf, whose cast to int is undefined. */
static inline float inverse_scale(float d) { return f32_to_f16(d) & 0x7fff ? 1.0f / d : 0.0f; }

/* ggml's q8_0 block: d = amax / 127 (stored f16), q = round(x / d) with the f32 d. */
static void q8_0_encode_block(uint8_t *out, const float *in) {
    float d = max_abs(in, QK_BLOCK) / 127.0f, id = inverse_scale(d);
    store_half(out, d);
    for (int j = 0; j < QK_BLOCK; j++) out[2 + j] = (uint8_t)(int8_t)roundf(in[j] * id);
}

/* Narrow q8: the smallest power of two 2^k with max|x| / 2^k <= 127, k in -127..127,
 * stored as the byte k + 127 (an E8M0 exponent, as in the OCP MX formats). */
static int e8m0_exponent(float amax) {
    if (!(amax > 0)) return -127;
    int k;
    frexpf(amax / 127.0f, &k);                          /* amax/127 < 2^k */
    while (k > -127 && amax / ldexpf(1.0f, k - 1) <= 127.0f) k--;
    while (k < 127 && amax / ldexpf(1.0f, k) > 127.0f) k++;
    return k < -127 ? -127 : k;
}

void q8_encode_row(uint8_t *out, const float *in, int width) {
    if (quant_is_blocked(width)) {
        for (int b = 0; b < width / QK_BLOCK; b++) q8_0_encode_block(out + b * Q8_0_BLOCK_BYTES, in + b * QK_BLOCK);
        return;
    }
    int k = e8m0_exponent(max_abs(in, width));
    float id = ldexpf(1.0f, -k);
    out[0] = (uint8_t)(k + 127);
    for (int i = 0; i < width; i++) {
        float q = roundf(in[i] * id);
        out[1 + i] = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
}

void q8_decode_row(float *out, const uint8_t *row, int width) {
    if (quant_is_blocked(width)) {
        for (int b = 0; b < width / QK_BLOCK; b++, row += Q8_0_BLOCK_BYTES) {
            float d = load_half(row);
            const int8_t *q = (const int8_t *)(row + 2);
            for (int j = 0; j < QK_BLOCK; j++) out[b * QK_BLOCK + j] = d * (float)q[j];
        }
        return;
    }
    float d = ldexpf(1.0f, (int)row[0] - 127);
    const int8_t *q = (const int8_t *)(row + 1);
    for (int i = 0; i < width; i++) out[i] = d * (float)q[i];
}

float q8_dot_row(const float *x, const uint8_t *row, int width) {
    float values[64], sum = 0;
    if (quant_is_blocked(width)) {
        for (int b = 0; b < width / QK_BLOCK; b++, row += Q8_0_BLOCK_BYTES) {
            const int8_t *q = (const int8_t *)(row + 2);
            for (int j = 0; j < QK_BLOCK; j++) values[j] = (float)q[j];
            sum += load_half(row) * dot_f32(x + b * QK_BLOCK, values, QK_BLOCK);
        }
        return sum;
    }
    const int8_t *q = (const int8_t *)(row + 1);
    for (int start = 0; start < width; start += 64) {
        int n = width - start < 64 ? width - start : 64;
        for (int i = 0; i < n; i++) values[i] = (float)q[start + i];
        sum += dot_f32(x + start, values, n);
    }
    return ldexpf(1.0f, (int)row[0] - 127) * sum;
}

/* ggml's q4_0 over n values (n = 32 in a block, the whole row when narrow): d = max / -8
 * with max the signed value of largest magnitude, q = min(15, (int)(x / d + 8.5)), byte j
 * holding q[j] low and q[j + h] high, h = ceil(n / 2); an odd n leaves the last high
 * nibble 8 (value 0). */
static void q4_0_encode(uint8_t *out, const float *in, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++)
        if (amax < fabsf(in[j])) { amax = fabsf(in[j]); max = in[j]; }
    float d = max / -8, id = inverse_scale(d);
    int h = (n + 1) / 2;
    store_half(out, d);
    for (int j = 0; j < h; j++) {
        int lo = (int)(int8_t)(in[j] * id + 8.5f), hi = j + h < n ? (int)(int8_t)(in[j + h] * id + 8.5f) : 8;
        lo = lo < 15 ? lo : 15;
        hi = hi < 15 ? hi : 15;
        out[2 + j] = (uint8_t)(lo | hi << 4);
    }
}

/* Values part .. part + m - 1 of a q4_0 block of n as floats q - 8 (without d):
 * value e is the low nibble of byte e for e < h, else the high nibble of byte e - h. */
static inline void q4_0_unpack_part(float *values, const uint8_t *block, int n, int part, int m) {
    int h = (n + 1) / 2;
    for (int i = 0; i < m; i++) {
        int e = part + i, byte = block[2 + (e < h ? e : e - h)];
        values[i] = (float)(e < h ? byte & 0xf : byte >> 4) - 8.0f;
    }
}

void q4_encode_row(uint8_t *out, const float *in, int width) {
    if (!quant_is_blocked(width)) { q4_0_encode(out, in, width); return; }
    for (int b = 0; b < width / QK_BLOCK; b++) q4_0_encode(out + b * Q4_0_BLOCK_BYTES, in + b * QK_BLOCK, QK_BLOCK);
}

void q4_decode_row(float *out, const uint8_t *row, int width) {
    int n = quant_is_blocked(width) ? QK_BLOCK : width;
    size_t block_bytes = table_row_bytes(TABLE_Q4, n);
    float values[QK_BLOCK];
    for (int start = 0; start < width; start += n, row += block_bytes) {
        float d = load_half(row);
        for (int part = 0; part < n; part += QK_BLOCK) {          /* narrow rows: 32 at a time */
            int m = n - part < QK_BLOCK ? n - part : QK_BLOCK;
            q4_0_unpack_part(values, row, n, part, m);
            for (int i = 0; i < m; i++) out[start + part + i] = d * values[i];
        }
    }
}

float q4_dot_row(const float *x, const uint8_t *row, int width) {
    int n = quant_is_blocked(width) ? QK_BLOCK : width;
    size_t block_bytes = table_row_bytes(TABLE_Q4, n);
    float values[QK_BLOCK], sum = 0;
    for (int start = 0; start < width; start += n, row += block_bytes) {
        float part_sum = 0;
        for (int part = 0; part < n; part += QK_BLOCK) {
            int m = n - part < QK_BLOCK ? n - part : QK_BLOCK;
            q4_0_unpack_part(values, row, n, part, m);
            part_sum += dot_f32(x + start + part, values, m);
        }
        sum += load_half(row) * part_sum;
    }
    return sum;
}

/* ---- values a dtype cannot hold ------------------------------------------------- */

static inline int half_finite(uint16_t h) { return (h & 0x7c00) != 0x7c00; }
static inline int brain_finite(uint16_t h) { return (h & 0x7f80) != 0x7f80; }

/* Index in in[n] of the finite value of largest magnitude (the one that sets a block's scale). */
static int largest_at(const float *in, int n) {
    int at = -1;
    for (int i = 0; i < n; i++)
        if (isfinite(in[i]) && (at < 0 || fabsf(in[i]) > fabsf(in[at]))) at = i;
    return at;
}

static long row_overflow(TableDtype t, const float *in, int width) {
    switch (t) {
    case TABLE_F32: return -1;
    case TABLE_F16:
    case TABLE_BF16:
        for (int i = 0; i < width; i++)
            if (isfinite(in[i]) && !(t == TABLE_F16 ? half_finite(f32_to_f16(in[i])) : brain_finite(f32_to_bf16(in[i]))))
                return i;
        return -1;
    case TABLE_Q8:
    case TABLE_Q4: {
        if (t == TABLE_Q8 && !quant_is_blocked(width)) {
            /* E8M0 scale: finite, but the largest value may round up to 2^128 (e.g. 3.38e38:
             * q 64 at 2^122), which decodes as inf */
            int at = largest_at(in, width);
            if (at < 0) return -1;
            float amax = fabsf(in[at]), q = roundf(amax * ldexpf(1.0f, -e8m0_exponent(amax)));
            return isfinite(ldexpf(q < 127 ? q : 127, e8m0_exponent(amax))) ? -1 : at;
        }
        int n = quant_is_blocked(width) ? QK_BLOCK : width;
        for (int start = 0; start < width; start += n) {
            int at = largest_at(in + start, n);
            if (at < 0) continue;
            float d = t == TABLE_Q8 ? fabsf(in[start + at]) / 127.0f : in[start + at] / -8;
            if (!half_finite(f32_to_f16(d))) return start + at;
        }
        return -1;
    }
    }
    return -1;
}

long quant_find_overflow(TableDtype t, const float *x, long rows, int width) {
    for (long r = 0; r < rows; r++) {
        long at = row_overflow(t, x + (size_t)r * (size_t)width, width);
        if (at >= 0) return r * width + at;
    }
    return -1;
}

/* ---- 16-bit rows -------------------------------------------------------------- */

static void half_encode_row(uint8_t *out, const float *in, int width, int brain) {
    for (int i = 0; i < width; i++) {
        uint16_t h = brain ? f32_to_bf16(in[i]) : f32_to_f16(in[i]);
        memcpy(out + 2 * i, &h, 2);
    }
}

static inline void half_decode(float *out, const uint8_t *row, int n, int brain) {
    for (int i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, row + 2 * i, 2);
        out[i] = brain ? brain_to_float(h) : half_to_float(h);
    }
}

static float half_dot_row(const float *x, const uint8_t *row, int width, int brain) {
    float values[64], sum = 0;
    for (int start = 0; start < width; start += 64) {
        int n = width - start < 64 ? width - start : 64;
        half_decode(values, row + 2 * start, n, brain);
        sum += dot_f32(x + start, values, n);
    }
    return sum;
}

/* ---- dispatch by dtype -------------------------------------------------------- */

void quant_encode_row(TableDtype t, void *out, const float *in, int width) {
    switch (t) {
    case TABLE_F32: memcpy(out, in, sizeof(float) * (size_t)width); break;
    case TABLE_F16: half_encode_row(out, in, width, 0); break;
    case TABLE_BF16: half_encode_row(out, in, width, 1); break;
    case TABLE_Q8: q8_encode_row(out, in, width); break;
    case TABLE_Q4: q4_encode_row(out, in, width); break;
    }
}

void quant_decode_row(TableDtype t, float *out, const void *row, int width) {
    switch (t) {
    case TABLE_F32: memcpy(out, row, sizeof(float) * (size_t)width); break;
    case TABLE_F16: half_decode(out, row, width, 0); break;
    case TABLE_BF16: half_decode(out, row, width, 1); break;
    case TABLE_Q8: q8_decode_row(out, row, width); break;
    case TABLE_Q4: q4_decode_row(out, row, width); break;
    }
}

float quant_dot_row(TableDtype t, const float *x, const void *row, int width) {
    switch (t) {
    case TABLE_F32: {
        float values[64], sum = 0;
        for (int start = 0; start < width; start += 64) {
            int n = width - start < 64 ? width - start : 64;
            memcpy(values, (const uint8_t *)row + 4 * (size_t)start, sizeof(float) * (size_t)n);
            sum += dot_f32(x + start, values, n);
        }
        return sum;
    }
    case TABLE_F16: return half_dot_row(x, row, width, 0);
    case TABLE_BF16: return half_dot_row(x, row, width, 1);
    case TABLE_Q8: return q8_dot_row(x, row, width);
    case TABLE_Q4: return q4_dot_row(x, row, width);
    }
    return 0;
}
