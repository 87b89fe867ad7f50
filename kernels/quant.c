#include "kernels/quant.h"
#include <math.h>
#include <string.h>

/* Encoded rows are stored in host order and the files say little-endian. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "quant.c assumes a little-endian host"
#endif

static const char *const dtype_names[TABLE_DTYPE_COUNT] = {"f32", "f16", "bf16", "q8", "q4"};

const char *table_dtype_name(TableDtype t) {
    return (unsigned)t < TABLE_DTYPE_COUNT ? dtype_names[t] : "?";
}

int table_dtype_parse(const char *s) {
    for (int t = 0; s && t < TABLE_DTYPE_COUNT; t++)
        if (strcmp(s, dtype_names[t]) == 0) return t;
    return -1;
}

size_t table_row_bytes(TableDtype t, int width) {
    if (width <= 0) return 0;
    size_t w = (size_t)width;
    switch (t) {
    case TABLE_F32: return 4 * w;
    case TABLE_F16:
    case TABLE_BF16: return 2 * w;
    case TABLE_Q8: return 4 + w;
    case TABLE_Q4: return (w + Q4_GROUP - 1) / Q4_GROUP * Q4_GROUP_BYTES;
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

uint16_t f32_to_bf16(float x) {
    uint32_t u = float_bits(x);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40); /* stay nan */
    u += 0x7fff + ((u >> 16) & 1);                        /* round to nearest even */
    return (uint16_t)(u >> 16);
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

static inline int quantize(float x, float scale, int lo, int hi) {
    if (!(scale > 0)) return 0;
    float q = rintf(x / scale);
    return q < (float)lo ? lo : q > (float)hi ? hi : (int)q;
}

static inline float load_scale(const uint8_t *p) { float s; memcpy(&s, p, 4); return s; }

/* ---- q8: f32 scale, then width int8 ------------------------------------------------ */

void q8_encode_row(uint8_t *out, const float *in, int width) {
    float scale = max_abs(in, width) / 127.0f;
    memcpy(out, &scale, 4);
    for (int i = 0; i < width; i++) out[4 + i] = (uint8_t)(int8_t)quantize(in[i], scale, -127, 127);
}

void q8_decode_row(float *out, const uint8_t *row, int width) {
    float scale = load_scale(row);
    const int8_t *q = (const int8_t *)(row + 4);
    for (int i = 0; i < width; i++) out[i] = scale * (float)q[i];
}

float q8_dot_row(const float *x, const uint8_t *row, int width) {
    const int8_t *q = (const int8_t *)(row + 4);
    float values[64], sum = 0;
    for (int start = 0; start < width; start += 64) {
        int n = width - start < 64 ? width - start : 64;
        for (int i = 0; i < n; i++) values[i] = (float)q[start + i];
        sum += dot_f32(x + start, values, n);
    }
    return load_scale(row) * sum;
}

/* ---- q4: groups of 32, each an f32 scale and 16 bytes of nibbles ----------------- */

static void q4_encode_group(uint8_t *out, const float *in, int n) {
    float scale = max_abs(in, n) / 7.0f;
    int8_t q[Q4_GROUP] = {0};                              /* padding nibbles stay zero */
    for (int i = 0; i < n; i++) q[i] = (int8_t)quantize(in[i], scale, -8, 7);
    memcpy(out, &scale, 4);
    for (int j = 0; j < Q4_GROUP / 2; j++)
        out[4 + j] = (uint8_t)((q[2 * j] & 0xf) | (q[2 * j + 1] & 0xf) << 4);
}

/* All 32 values of a group as floats (without the scale); sign-extends each nibble. */
static inline void q4_unpack_group(float *values, const uint8_t *group) {
    for (int j = 0; j < Q4_GROUP / 2; j++) {
        int byte = group[4 + j];
        values[2 * j] = (float)((byte & 0xf) ^ 8) - 8.0f;
        values[2 * j + 1] = (float)((byte >> 4) ^ 8) - 8.0f;
    }
}

static inline int group_len(int width, int start) {
    return width - start < Q4_GROUP ? width - start : Q4_GROUP;
}

void q4_encode_row(uint8_t *out, const float *in, int width) {
    for (int start = 0; start < width; start += Q4_GROUP, out += Q4_GROUP_BYTES)
        q4_encode_group(out, in + start, group_len(width, start));
}

void q4_decode_row(float *out, const uint8_t *row, int width) {
    float values[Q4_GROUP];
    for (int start = 0; start < width; start += Q4_GROUP, row += Q4_GROUP_BYTES) {
        q4_unpack_group(values, row);
        float scale = load_scale(row);
        int n = group_len(width, start);
        for (int i = 0; i < n; i++) out[start + i] = scale * values[i];
    }
}

float q4_dot_row(const float *x, const uint8_t *row, int width) {
    float values[Q4_GROUP], sum = 0;
    for (int start = 0; start < width; start += Q4_GROUP, row += Q4_GROUP_BYTES) {
        q4_unpack_group(values, row);
        sum += load_scale(row) * dot_f32(x + start, values, group_len(width, start));
    }
    return sum;
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
