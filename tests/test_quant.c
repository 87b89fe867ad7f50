/* Table number formats: exact f16 / bf16 rounding, q8 / q4 error bounds, row layouts and
 * dot products. The measured worst errors are printed so reports can quote them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/quant.h"
#include "util/rng.h"

static float float_of(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* Random rows spanning many magnitudes: normal values times 10^U(-3, 3). */
static void random_row(Rng *rng, float *x, int width) {
    float scale = powf(10.0f, 6.0f * rng_uniform(rng) - 3.0f);
    for (int i = 0; i < width; i++) x[i] = scale * rng_normal(rng);
}

static const int widths[] = {1, 7, 31, 32, 33, 48, 64, 100, 257};
enum { N_WIDTHS = sizeof widths / sizeof widths[0], ROWS_PER_WIDTH = 200, MAX_WIDTH = 257 };

/* ---- f16 ---------------------------------------------------------------------- */

static void test_f16_every_half_round_trips(void **state) {
    for (uint32_t h = 0; h < 65536; h++) {
        float x = f16_to_f32((uint16_t)h);
        uint16_t back = f32_to_f16(x);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {       /* nan stays nan, same sign */
            assert_true(isnan(x));
            assert_int_equal(back & 0x8000, h & 0x8000);
            assert_true((back & 0x7c00) == 0x7c00 && (back & 0x3ff));
        } else {
            assert_int_equal(back, h);
        }
    }
}

static void test_f16_special_values(void **state) {
    struct { float x; uint16_t h; } cases[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000},
        {65504.0f, 0x7bff}, {65519.99f, 0x7bff}, {65520.0f, 0x7c00}, {1e10f, 0x7c00},
        {INFINITY, 0x7c00}, {-INFINITY, 0xfc00},
        {0x1p-14f, 0x0400},                                 /* smallest normal */
        {0x1p-24f, 0x0001},                                 /* smallest subnormal */
        {0x1p-25f, 0x0000},                                 /* tie: to even (zero) */
        {0x1.8p-25f, 0x0001},                               /* above the tie */
        {0x3p-25f, 0x0002},                                 /* tie between 1 and 2: even */
        {0x5p-25f, 0x0002},                                 /* tie between 2 and 3: even */
        {0x1.ffcp-15f, 0x0400},                             /* subnormal rounding up to normal */
        {1.0f + 0x1p-11f, 0x3c00},                          /* tie: to even */
        {1.0f + 0x3p-11f, 0x3c02},                          /* tie: to even (up) */
        {1.0f + 0x1p-11f + 0x1p-23f, 0x3c01},               /* just above the tie */
        {0x1.ffdffep+15f, 0x7bff},                          /* one f32 ulp below 65520 */
        {1e-30f, 0x0000}, {0x1p-149f, 0x0000},              /* f32 subnormal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (f32_to_f16(cases[i].x) != cases[i].h)
            fail_msg("f32_to_f16(%a) = %04x, expected %04x", cases[i].x, f32_to_f16(cases[i].x),
                     cases[i].h);
    }
    assert_true(isnan(f16_to_f32(f32_to_f16(NAN))));
    assert_true(f16_to_f32(0x0001) == 0x1p-24f);
    assert_true(f16_to_f32(0x7bff) == 65504.0f);
    assert_true(isinf(f16_to_f32(0xfc00)) && f16_to_f32(0xfc00) < 0);
}

/* Where the compiler has _Float16, its conversion is an independent reference. */
static void test_f16_matches_compiler(void **state) {
#ifdef __FLT16_MAX__
    Rng rng;
    rng_seed(&rng, 11);
    for (int i = 0; i < 1 << 20; i++) {
        uint32_t u = (uint32_t)rng_next(&rng);
        if (i & 1) u = (u & 0x807fffff) | (uint32_t)(100 + rng_below(&rng, 45)) << 23; /* half range */
        float x = float_of(u);
        volatile _Float16 ref = (_Float16)x;
        uint16_t ref_bits;
        memcpy(&ref_bits, (const void *)&ref, 2);
        uint16_t got = f32_to_f16(x);
        if (isnan(x)) assert_true((got & 0x7c00) == 0x7c00 && (got & 0x3ff));
        else if (got != ref_bits) fail_msg("f32_to_f16(%a) = %04x, _Float16 gives %04x", x, got, ref_bits);
    }
#else
    skip();
#endif
}

/* ---- bf16 --------------------------------------------------------------------- */

static void test_bf16_round_trip_and_rounding(void **state) {
    for (uint32_t h = 0; h < 65536; h++) {
        float x = bf16_to_f32((uint16_t)h);
        uint16_t back = f32_to_bf16(x);
        if (isnan(x)) assert_true(isnan(bf16_to_f32(back)));
        else assert_int_equal(back, h);
    }
    assert_int_equal(f32_to_bf16(float_of(0x3f808000)), 0x3f80);   /* tie: to even (down) */
    assert_int_equal(f32_to_bf16(float_of(0x3f818000)), 0x3f82);   /* tie: to even (up) */
    assert_int_equal(f32_to_bf16(float_of(0x3f808001)), 0x3f81);   /* above the tie */
    assert_int_equal(f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(f32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(f32_to_bf16(3.4e38f), 0x7f80);                 /* overflows to inf */
    assert_true(isnan(bf16_to_f32(f32_to_bf16(float_of(0x7f800001))))); /* low-bit nan kept */
}

/* ---- error bounds per dtype on random rows ------------------------------------- */

typedef struct { double worst; } Worst;

/* Decode(encode(x)) for one row, through the generic dispatch. */
static void encode_decode(TableDtype t, float *out, const float *x, int width) {
    uint8_t row[4 * MAX_WIDTH + 64];
    memset(row, 0xa5, sizeof row);
    quant_encode_row(t, row, x, width);
    quant_decode_row(t, out, row, width);
}

static void check_half_row(TableDtype t, const float *x, const float *y, int width, Worst *w) {
    double bound = t == TABLE_F16 ? 0x1p-11 : 0x1p-8;
    for (int i = 0; i < width; i++) {
        double err = fabs((double)x[i] - y[i]);
        if (t == TABLE_F16 && fabsf(x[i]) < 0x1p-14f) {     /* subnormal half: absolute bound */
            assert_true(err <= 0x1p-25);
            continue;
        }
        double rel = err / fabs((double)x[i]);
        if (rel > w->worst) w->worst = rel;
        if (rel > bound) fail_msg("%s: x=%a decoded %a, rel err %g > %g", table_dtype_name(t), x[i], y[i], rel, bound);
    }
}

/* q8_0 / q4_0, per block (32 values, or the whole row when narrow), unit u:
 *   blocked q8_0: u = amax / 127, err <= u / 2 plus the f16 rounding of d (127 * 2^-11 u);
 *   narrow q8_0: u = amax / 127, err <= half the power-of-two scale < u;
 *   q4_0: u = amax / 8, err <= u (the clipped q = 15 side), else u / 2, plus f16 rounding
 *   (at most |q| * 2^-25 absolute where d is an f16 subnormal).
 * Slack of 2^-16 relative covers the float division and product (measured ratio printed). */
static void check_int_row(TableDtype t, const float *x, const float *y, int width, Worst *w) {
    int blocked = width % 32 == 0, group = blocked ? 32 : width;
    float levels = t == TABLE_Q8 ? 127.0f : 8.0f;
    double bound = t == TABLE_Q4 ? 1 + 8 * 0x1p-11 : blocked ? 0.5 + 127 * 0x1p-11 : 1.0;
    for (int start = 0; start < width; start += group) {
        int n = width - start < group ? width - start : group;
        float amax = 0;
        for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[start + i]));
        double scale = amax / levels;
        for (int i = 0; i < n; i++) {
            double err = fabs((double)x[start + i] - y[start + i]), ratio = err / scale;
            double subnormal = blocked || t == TABLE_Q4 ? levels * 0x1p-25 : 0;
            if (ratio > w->worst) w->worst = ratio;
            if (err > bound * (1 + 0x1p-16) * scale + subnormal)
                fail_msg("%s width %d: err %g unit > %g", table_dtype_name(t), width, ratio, bound);
        }
    }
}

static void test_error_bounds_per_dtype(void **state) {
    const char *measure[] = {"", "max rel err %.3g (bound 2^-11 = %.3g)\n",
                             "max rel err %.3g (bound 2^-8 = %.3g)\n",
                             "max err / unit %.6f (bound %.2f)\n", "max err / unit %.6f (bound %.2f)\n"};
    const double bounds[] = {0, 0x1p-11, 0x1p-8, 1.0, 1.0};
    Rng rng;
    rng_seed(&rng, 7);
    float x[MAX_WIDTH], y[MAX_WIDTH];
    for (int t = TABLE_F16; t <= TABLE_Q4; t++) {
        Worst worst = {0};
        for (int w = 0; w < N_WIDTHS; w++)
            for (int r = 0; r < ROWS_PER_WIDTH; r++) {
                random_row(&rng, x, widths[w]);
                encode_decode((TableDtype)t, y, x, widths[w]);
                if (t <= TABLE_BF16) check_half_row((TableDtype)t, x, y, widths[w], &worst);
                else check_int_row((TableDtype)t, x, y, widths[w], &worst);
            }
        print_message("%-4s ", table_dtype_name((TableDtype)t));
        print_message(measure[t], worst.worst, bounds[t]);
    }
    random_row(&rng, x, 100);
    encode_decode(TABLE_F32, y, x, 100);
    assert_memory_equal(x, y, sizeof(float) * 100);
}

/* ---- layouts ------------------------------------------------------------------ */

static void test_row_bytes_and_names(void **state) {
    assert_int_equal(table_row_bytes(TABLE_F32, 10), 40);
    assert_int_equal(table_row_bytes(TABLE_F16, 10), 20);
    assert_int_equal(table_row_bytes(TABLE_BF16, 10), 20);
    assert_int_equal(table_row_bytes(TABLE_Q8, 64), 2 * 34);      /* ggml blocks */
    assert_int_equal(table_row_bytes(TABLE_Q4, 64), 2 * 18);
    assert_int_equal(table_row_bytes(TABLE_Q8, 16), 1 + 16);      /* narrow: one block */
    assert_int_equal(table_row_bytes(TABLE_Q4, 16), 2 + 8);
    assert_int_equal(table_row_bytes(TABLE_Q4, 33), 2 + 17);
    assert_int_equal(table_row_bytes(TABLE_Q4, 1), 3);
    assert_int_equal(table_row_bytes(TABLE_F32, 0), 0);
    assert_int_equal(table_row_bytes((TableDtype)9, 10), 0);
    for (int t = 0; t < TABLE_DTYPE_COUNT; t++)
        assert_int_equal(table_dtype_parse(table_dtype_name((TableDtype)t)), t);
    assert_string_equal(table_dtype_name(TABLE_Q8), "q8_0");
    assert_string_equal(table_dtype_name(TABLE_Q4), "q4_0");
    assert_int_equal(table_dtype_parse("q8"), TABLE_Q8);          /* old names: aliases */
    assert_int_equal(table_dtype_parse("q4"), TABLE_Q4);
    assert_int_equal(table_dtype_parse("f64"), -1);
    assert_int_equal(table_dtype_parse(""), -1);
    assert_int_equal(table_dtype_parse(NULL), -1);
    assert_string_equal(table_dtype_name((TableDtype)9), "?");
    /* every width is smaller than f32, and narrow rows meet the size goal from 16 */
    for (int w = 1; w <= 300; w++) {
        assert_true(table_row_bytes(TABLE_Q8, w) < 4 * (size_t)w);
        assert_true(table_row_bytes(TABLE_Q4, w) < 4 * (size_t)w);
        if (w >= 16 && w % 8 == 0) {
            assert_true(table_row_bytes(TABLE_Q8, w) <= 0.28 * 4 * w);
            assert_true(table_row_bytes(TABLE_Q4, w) <= 0.16 * 4 * w);
        }
    }
}

static uint16_t half_at(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return h; }

/* The bytes of ggml's quantize_row_q8_0_ref, worked by hand for one block. */
static void test_q8_0_block_layout(void **state) {
    float x[64], y[64];
    for (int i = 0; i < 64; i++) x[i] = i < 32 ? (float)(i - 16) * 0.5f : (i == 40 ? -2.54f : 0.01f);
    uint8_t row[68];
    q8_encode_row(row, x, 64);
    float d0 = 8.0f / 127, d1 = 2.54f / 127;
    assert_int_equal(half_at(row), f32_to_f16(d0));
    assert_int_equal((int8_t)row[2 + 0], -127);                    /* -8 / d0 */
    assert_int_equal((int8_t)row[2 + 16], 0);
    assert_int_equal((int8_t)row[2 + 31], (int)roundf(7.5f / d0));
    assert_int_equal(half_at(row + 34), f32_to_f16(d1));
    assert_int_equal((int8_t)row[34 + 2 + 8], -127);
    assert_int_equal((int8_t)row[34 + 2 + 0], (int)roundf(0.01f / d1));
    q8_decode_row(y, row, 64);
    assert_true(y[0] == f16_to_f32(f32_to_f16(d0)) * -127);
    float zeros[32] = {0}, back[32];
    for (int i = 0; i < 32; i++) back[i] = 1;
    q8_encode_row(row, zeros, 32);                                 /* d 0, no nan */
    q8_decode_row(back, row, 32);
    for (int i = 0; i < 32; i++) assert_true(back[i] == 0.0f);
}

/* Narrow q8_0: an E8M0 byte then int8. */
static void test_q8_0_narrow_layout(void **state) {
    float x[16] = {1.0f, -3.0f, 0.5f}, y[16];
    uint8_t row[17];
    q8_encode_row(row, x, 16);
    assert_int_equal(row[0], 127 - 5);                             /* 3 / 2^-5 = 96 <= 127 < 192 */
    assert_int_equal((int8_t)row[1], 32);
    assert_int_equal((int8_t)row[2], -96);
    q8_decode_row(y, row, 16);
    for (int i = 0; i < 16; i++) assert_true(y[i] == x[i]);
    float zeros[16] = {0};
    q8_encode_row(row, zeros, 16);
    q8_decode_row(y, row, 16);
    for (int i = 0; i < 16; i++) assert_true(y[i] == 0.0f);
}

/* ggml's quantize_row_q4_0_ref by hand: d = max / -8, byte j = q[j] | q[j + 16] << 4. */
static void test_q4_0_layout(void **state) {
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)(i % 16) - 7.0f;   /* -7..8: max 8, d = -1 */
    uint8_t row[18];
    q4_encode_row(row, x, 32);
    assert_int_equal(half_at(row), f32_to_f16(-1.0f));
    for (int j = 0; j < 16; j++) {
        int q = (int)(x[j] * -1.0f + 8.5f);
        q = q < 15 ? q : 15;
        assert_int_equal(row[2 + j], (uint8_t)(q | q << 4));      /* x[j + 16] == x[j] */
    }
    float y[32];
    q4_decode_row(y, row, 32);
    for (int i = 0; i < 32; i++) assert_true(y[i] == x[i]);        /* 8 -> q 0 -> -8 * -1 */
    /* narrow: width 5, h = 3, the last high nibble is 8 */
    float n5[5] = {-4, 2, 0, 1, 3}, back[5];
    uint8_t small[5];
    q4_encode_row(small, n5, 5);
    assert_int_equal(half_at(small), f32_to_f16(0.5f));           /* max -4 -> d = 0.5 */
    assert_int_equal(small[2], (uint8_t)(0 | 10 << 4));           /* q[0] = 0, q[3] = 10 */
    assert_int_equal(small[4] >> 4, 8);
    q4_decode_row(back, small, 5);
    for (int i = 0; i < 5; i++) assert_true(back[i] == n5[i]);
}

/* A block whose largest value is finite but tiny (scale below 2^-128): 1 / d overflowed to
 * inf and inf (or 0 * inf = nan) was cast to int8, undefined (issue 26, 17; the sanitized
 * build traps it). Such blocks now encode to zeros: q4_0 nibbles 8, q8_0 bytes 0. */
static void test_tiny_blocks_encode_to_zero(void **state) {
    float x[32] = {0}, y[32];
    x[3] = 2e-38f;                                                 /* d 1.6e-40: 1 / d = inf */
    x[7] = -1e-39f;
    uint8_t q8[34], q4[18], narrow4[2 + 8];
    q8_encode_row(q8, x, 32);
    q4_encode_row(q4, x, 32);
    q4_encode_row(narrow4, x, 16);
    assert_int_equal(half_at(q8), 0);
    for (int j = 0; j < 32; j++) assert_int_equal(q8[2 + j], 0);
    for (int j = 0; j < 16; j++) assert_int_equal(q4[2 + j], 0x88);
    for (int j = 0; j < 8; j++) assert_int_equal(narrow4[2 + j], 0x88);
    q4_decode_row(y, q4, 32);
    for (int i = 0; i < 32; i++) assert_true(y[i] == 0.0f);
}

/* quant_find_overflow names the value whose encoding would not be finite (issue 26, 4). */
static void test_find_overflow(void **state) {
    float x[2][64] = {{0}};
    for (int i = 0; i < 64; i++) x[0][i] = x[1][i] = 0.01f * (float)i;
    assert_int_equal(quant_find_overflow(TABLE_Q8, x[0], 2, 64), -1);
    assert_int_equal(quant_find_overflow(TABLE_F16, x[0], 2, 64), -1);
    x[1][40] = 1e7f;                               /* q8_0 d = 78740: fits f32, not f16 */
    assert_int_equal(quant_find_overflow(TABLE_Q8, x[0], 2, 64), 64 + 40);
    assert_int_equal(quant_find_overflow(TABLE_Q4, x[0], 2, 64), 64 + 40);
    assert_int_equal(quant_find_overflow(TABLE_F16, x[0], 2, 64), 64 + 40);
    assert_int_equal(quant_find_overflow(TABLE_BF16, x[0], 2, 64), -1);
    assert_int_equal(quant_find_overflow(TABLE_F32, x[0], 2, 64), -1);
    x[1][40] = 8e6f;                               /* d = 62992: still an f16 */
    assert_int_equal(quant_find_overflow(TABLE_Q8, x[0], 2, 64), -1);
    assert_int_equal(quant_find_overflow(TABLE_Q4, x[0], 2, 64), 64 + 40);   /* d = 1e6 */
    assert_int_equal(quant_find_overflow(TABLE_Q8, x[0], 1, 16), -1);        /* narrow: E8M0 */
    float near_max[3] = {1.0f, -3.3788354e38f, 2.0f};   /* q 64 at 2^122 rounds up to 2^128 (fuzz_wquant) */
    assert_int_equal(quant_find_overflow(TABLE_Q8, near_max, 1, 3), 1);
    near_max[1] = -3.0e38f;
    assert_int_equal(quant_find_overflow(TABLE_Q8, near_max, 1, 3), -1);
    x[0][5] = 3.4e38f;
    assert_int_equal(quant_find_overflow(TABLE_BF16, x[0], 2, 64), 5);
    x[0][2] = NAN;                                 /* non-finite: the loaders' to refuse */
    assert_int_equal(quant_find_overflow(TABLE_F32, x[0], 2, 64), -1);
    assert_int_equal(quant_find_overflow(TABLE_BF16, x[0], 1, 64), 5);
}

static void test_dot_products(void **state) {
    Rng rng;
    rng_seed(&rng, 3);
    float x[MAX_WIDTH], v[MAX_WIDTH], y[MAX_WIDTH];
    uint8_t row[4 * MAX_WIDTH + 64];
    for (int t = 0; t < TABLE_DTYPE_COUNT; t++)
        for (int w = 0; w < N_WIDTHS; w++) {
            int n = widths[w];
            random_row(&rng, v, n);
            for (int i = 0; i < n; i++) x[i] = rng_normal(&rng);
            quant_encode_row((TableDtype)t, row, v, n);
            quant_decode_row((TableDtype)t, y, row, n);
            double ref = 0, mag = 0;
            for (int i = 0; i < n; i++) { ref += (double)x[i] * y[i]; mag += fabs((double)x[i] * y[i]); }
            double got = quant_dot_row((TableDtype)t, x, row, n);
            if (fabs(got - ref) > 1e-5 * mag + 1e-30)
                fail_msg("%s width %d: dot %g, reference %g", table_dtype_name((TableDtype)t), n, got, ref);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_every_half_round_trips),
        cmocka_unit_test(test_f16_special_values),
        cmocka_unit_test(test_f16_matches_compiler),
        cmocka_unit_test(test_bf16_round_trip_and_rounding),
        cmocka_unit_test(test_error_bounds_per_dtype),
        cmocka_unit_test(test_row_bytes_and_names),
        cmocka_unit_test(test_q8_0_block_layout),
        cmocka_unit_test(test_q8_0_narrow_layout),
        cmocka_unit_test(test_q4_0_layout),
        cmocka_unit_test(test_tiny_blocks_encode_to_zero),
        cmocka_unit_test(test_find_overflow),
        cmocka_unit_test(test_dot_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
