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

/* q8 / q4: |x - y| <= scale / 2, scale of the row (q8) or of the group of 32 (q4).
 * Slack of 2^-16 relative covers the float division and product (measured ratio printed). */
static void check_int_row(TableDtype t, const float *x, const float *y, int width, Worst *w) {
    int group = t == TABLE_Q8 ? width : 32;
    float levels = t == TABLE_Q8 ? 127.0f : 7.0f;
    for (int start = 0; start < width; start += group) {
        int n = width - start < group ? width - start : group;
        float amax = 0;
        for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[start + i]));
        double scale = amax / levels;
        for (int i = 0; i < n; i++) {
            double ratio = fabs((double)x[start + i] - y[start + i]) / scale;
            if (ratio > w->worst) w->worst = ratio;
            if (ratio > 0.5 * (1 + 0x1p-16)) fail_msg("%s: err %g scale > 1/2", table_dtype_name(t), ratio);
        }
    }
}

static void test_error_bounds_per_dtype(void **state) {
    const char *measure[] = {"", "max rel err %.3g (bound 2^-11 = %.3g)\n",
                             "max rel err %.3g (bound 2^-8 = %.3g)\n",
                             "max err / scale %.6f (bound %.1f)\n", "max err / scale %.6f (bound %.1f)\n"};
    const double bounds[] = {0, 0x1p-11, 0x1p-8, 0.5, 0.5};
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
    assert_int_equal(table_row_bytes(TABLE_Q8, 10), 14);
    assert_int_equal(table_row_bytes(TABLE_Q4, 32), 20);
    assert_int_equal(table_row_bytes(TABLE_Q4, 33), 40);
    assert_int_equal(table_row_bytes(TABLE_Q4, 1), 20);
    assert_int_equal(table_row_bytes(TABLE_F32, 0), 0);
    assert_int_equal(table_row_bytes((TableDtype)9, 10), 0);
    for (int t = 0; t < TABLE_DTYPE_COUNT; t++)
        assert_int_equal(table_dtype_parse(table_dtype_name((TableDtype)t)), t);
    assert_int_equal(table_dtype_parse("f64"), -1);
    assert_int_equal(table_dtype_parse(""), -1);
    assert_int_equal(table_dtype_parse(NULL), -1);
    assert_string_equal(table_dtype_name((TableDtype)9), "?");
}

static void test_q8_layout(void **state) {
    float x[5] = {1.27f, -2.54f, 0.0f, 0.01f, 2.54f}, y[5];
    uint8_t row[9];
    q8_encode_row(row, x, 5);
    float scale;
    memcpy(&scale, row, 4);
    assert_float_equal(scale, 2.54f / 127, 1e-9);
    assert_int_equal((int8_t)row[4 + 1], -127);
    assert_int_equal((int8_t)row[4 + 4], 127);
    assert_int_equal((int8_t)row[4 + 2], 0);
    q8_decode_row(y, row, 5);
    assert_true(y[4] == scale * 127);
    float zeros[4] = {0}, back[4] = {1, 1, 1, 1};                /* scale 0, no nan */
    q8_encode_row(row, zeros, 4);
    q8_decode_row(back, row, 4);
    for (int i = 0; i < 4; i++) assert_true(back[i] == 0.0f);
}

static void test_q4_layout_and_padding(void **state) {
    float x[40];
    for (int i = 0; i < 40; i++) x[i] = (float)(i % 15) - 7.0f;   /* -7..7, scale 1 */
    uint8_t row[40];
    memset(row, 0xff, sizeof row);
    q4_encode_row(row, x, 40);
    float scale0, scale1;
    memcpy(&scale0, row, 4);
    memcpy(&scale1, row + 20, 4);
    assert_true(scale0 == 1.0f);
    assert_true(scale1 == 5.0f / 7.0f);                     /* group 2: x[32..39] = -5..2 */
    assert_int_equal(row[4], (uint8_t)((-7 & 0xf) | (-6 & 0xf) << 4));   /* low nibble first */
    for (int j = 4 + 4; j < 20; j++) assert_int_equal(row[20 + j], 0);  /* 8 values, then zeros */
    float y[40];
    q4_decode_row(y, row, 40);
    for (int i = 0; i < 32; i++) assert_true(y[i] == x[i]);
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
        cmocka_unit_test(test_q8_layout),
        cmocka_unit_test(test_q4_layout_and_padding),
        cmocka_unit_test(test_dot_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
