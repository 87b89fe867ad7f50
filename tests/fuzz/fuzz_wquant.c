/* The weight packers on arbitrary floats (non-finite ones set to 0: loaders refuse those):
 * input = a mode byte (row width), then floats. For each RAM weights dtype (kernels/wquant.h)
 * and each table dtype (kernels/quant.h, narrow widths too): encode, decode every row, dot
 * products. A value is reported by the overflow check exactly when its decoded row holds a
 * non-finite value; the packed dot products match the decoded rows' within rounding; the
 * in-place round trip equals encode then decode. */
#include "kernels/quant.h"
#include "kernels/wquant.h"
#include <math.h>
#include "tests/fuzz/fuzz_common.h"

static int row_finite(const float *x, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* a close to b: both finite, within a relative bound of the magnitude summed */
static void check_close(double a, double b, double magnitude) {
    if (!isfinite(a) || !isfinite(b) || !isfinite(magnitude)) return;
    if (fabs(a - b) > 1e-3 * magnitude + 1e-30) abort();
}

static void check_rows(int overflow_reported, const float *decoded, long rows, int C) {
    int finite = row_finite(decoded, (int)(rows * C));
    if (finite == overflow_reported) abort();   /* reported <=> something decodes to inf / nan */
}

static void fuzz_weights(const float *w, long rows, int C, const float *x) {
    for (int t = WEIGHTS_F32; t <= WEIGHTS_Q8_0; t++) {
        size_t bytes = weights_bytes((WeightsDtype)t, rows, C);
        if (!bytes) continue;
        void *packed = malloc(bytes);
        float *decoded = malloc(sizeof(float) * (size_t)(rows * C)), *trip = malloc(sizeof(float) * (size_t)(rows * C));
        float *sums = malloc(sizeof(float) * (size_t)rows);
        weights_encode((WeightsDtype)t, packed, w, rows, C);
        for (long r = 0; r < rows; r++) weights_decode_row((WeightsDtype)t, packed, r, C, decoded + r * C);
        check_rows(weights_find_overflow((WeightsDtype)t, w, rows, C) >= 0, decoded, rows, C);
        memcpy(trip, w, sizeof(float) * (size_t)(rows * C));
        weights_roundtrip((WeightsDtype)t, trip, rows, C);
        for (long i = 0; i < rows * C; i++)
            if (memcmp(&trip[i], &decoded[i], sizeof(float)) && !(isnan(trip[i]) && isnan(decoded[i]))) abort();
        if (t != WEIGHTS_F32) {
            weights_rows_dot((WeightsDtype)t, packed, (int)rows, C, x, sums);
            for (long r = 0; r < rows; r++) {
                double exact = 0, magnitude = 0;
                for (int c = 0; c < C; c++) {
                    exact += (double)decoded[r * C + c] * x[c];
                    magnitude += fabs((double)decoded[r * C + c] * x[c]);
                }
                check_close(sums[r], exact, magnitude);
            }
        }
        free(packed), free(decoded), free(trip), free(sums);
    }
}

static void fuzz_tables(const float *w, int width, const float *x) {
    for (int t = 0; t < TABLE_DTYPE_COUNT; t++) {
        size_t bytes = table_row_bytes((TableDtype)t, width);
        if (!bytes) abort();
        uint8_t *row = malloc(bytes);
        float *decoded = malloc(sizeof(float) * (size_t)width);
        quant_encode_row((TableDtype)t, row, w, width);
        quant_decode_row((TableDtype)t, decoded, row, width);
        check_rows(quant_find_overflow((TableDtype)t, w, 1, width) >= 0, decoded, 1, width);
        double exact = 0, magnitude = 0;
        for (int c = 0; c < width; c++) {
            exact += (double)decoded[c] * x[c];
            magnitude += fabs((double)decoded[c] * x[c]);
        }
        check_close(quant_dot_row((TableDtype)t, x, row, width), exact, magnitude);
        free(row), free(decoded);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 + sizeof(float)) return 0;
    int mode = data[0];
    long n = (long)((size - 1) / sizeof(float));
    float *w = malloc(sizeof(float) * (size_t)n), *x = malloc(sizeof(float) * (size_t)n);
    memcpy(w, data + 1, sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) {
        if (!isfinite(w[i])) w[i] = 0;
        x[i] = (float)((i * 7 + mode) % 13) / 6.5f - 1.0f;   /* a fixed vector in [-1, 1) */
    }
    /* blocked rows of 32, 64 or 96 for the RAM packers; any width for the table rows */
    int C = 32 * (1 + mode % 3);
    if (n >= C) fuzz_weights(w, n / C, C, x);
    int width = 1 + (int)((mode >> 2) % (unsigned long)n);
    fuzz_tables(w, width, x);
    free(w), free(x);
    return 0;
}
