/* Finite-difference gradient checking for the kernel tests.
 *
 * A test wraps a forward pass in a LossFunction that returns the scalar
 * L = sum(out * R) for a fixed random R, so dL/dout = R is what the backward receives.
 * gradient_check then perturbs one input element at a time and compares the central
 * difference (L(x+h) - L(x-h)) / 2h with the backward's gradient.
 *
 * Everything is static: each tests/test_*.c is its own binary, and a header keeps these
 * helpers out of the library folders. */
#ifndef TESTS_GRADCHECK_H
#define TESTS_GRADCHECK_H
#include "util/rng.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef double (*LossFunction)(void *context);

/* |analytic - numeric| <= absolute + relative * max(|analytic|, |numeric|).
 * The absolute floor covers float32 rounding in the forward, which the division by 2h
 * magnifies: about 1e-7 * |L| / 1e-3. */
typedef struct { double relative, absolute; } Tolerance;

static const Tolerance GRADIENT_TOLERANCE = {1e-2, 1e-3};
static const float FINITE_DIFFERENCE_STEP = 1e-3f;

static inline float *random_array(Rng *rng, long n, float low, float high) {
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (long i = 0; i < n; i++) x[i] = low + (high - low) * rng_uniform(rng);
    return x;
}

static inline float *zero_array(long n) {
    float *x = calloc((size_t)n, sizeof(float));
    if (!x) { fprintf(stderr, "out of memory\n"); exit(1); }
    return x;
}

static inline float *copy_array(const float *x, long n) {
    float *y = malloc(sizeof(float) * (size_t)n);
    if (!y) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (long i = 0; i < n; i++) y[i] = x[i];
    return y;
}

/* Summed in double so the loss adds no rounding of its own to the forward's. */
static inline double weighted_sum(const float *out, const float *weights, long n) {
    double sum = 0;
    for (long i = 0; i < n; i++) sum += (double)out[i] * weights[i];
    return sum;
}

static inline int values_close(double a, double b, Tolerance tolerance) {
    return fabs(a - b) <= tolerance.absolute + tolerance.relative * fmax(fabs(a), fabs(b));
}

/* Divides by the step actually taken in float, not the nominal 2h, since x + h rounds. */
static inline double numeric_gradient(LossFunction loss, void *context, float *x, long i,
                                      float h) {
    float saved = x[i], plus = saved + h, minus = saved - h;
    x[i] = plus;
    double loss_plus = loss(context);
    x[i] = minus;
    double loss_minus = loss(context);
    x[i] = saved;
    return (loss_plus - loss_minus) / ((double)plus - (double)minus);
}

/* Checks every element when n <= samples, else `samples` random elements.
 * Returns the number of mismatches and prints the first few, named. */
static inline int gradient_check_with(const char *name, LossFunction loss, void *context,
                                      float *x, const float *analytic, long n, long samples,
                                      Rng *rng, Tolerance tolerance) {
    int failures = 0;
    long count = n <= samples ? n : samples;
    for (long s = 0; s < count; s++) {
        long i = n <= samples ? s : (long)rng_below(rng, (uint64_t)n);
        double numeric = numeric_gradient(loss, context, x, i, FINITE_DIFFERENCE_STEP);
        if (values_close(analytic[i], numeric, tolerance)) continue;
        if (failures++ < 5)
            fprintf(stderr, "%s[%ld]: analytic %.7g, numeric %.7g\n", name, i,
                    (double)analytic[i], numeric);
    }
    return failures;
}

static inline int gradient_check(const char *name, LossFunction loss, void *context, float *x,
                                 const float *analytic, long n, Rng *rng) {
    return gradient_check_with(name, loss, context, x, analytic, n, 64, rng,
                               GRADIENT_TOLERANCE);
}

/* Elementwise comparison of two arrays; returns mismatches, printing the first few. */
static inline int arrays_close(const char *name, const float *actual, const double *expected,
                               long n, Tolerance tolerance) {
    int failures = 0;
    for (long i = 0; i < n; i++) {
        if (values_close(actual[i], expected[i], tolerance)) continue;
        if (failures++ < 5)
            fprintf(stderr, "%s[%ld]: got %.9g, expected %.9g\n", name, i, (double)actual[i],
                    expected[i]);
    }
    return failures;
}

/* Backwards add to the gradient they are given: a run that started from `initial`
 * must end at initial + (the gradient a run from zero produced). */
static inline int accumulates(const char *name, const float *result, const float *initial,
                              const float *fresh, long n) {
    double *expected = malloc(sizeof(double) * (size_t)n);
    if (!expected) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (long i = 0; i < n; i++) expected[i] = (double)initial[i] + fresh[i];
    int failures = arrays_close(name, result, expected, n, (Tolerance){1e-5, 1e-6});
    free(expected);
    return failures;
}
#endif
