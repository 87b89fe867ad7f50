/* The scaling-law fit (analysis/scaling.c): it recovers known parameters from synthetic
 * losses with noise (inside their bootstrap intervals in at least 90% of simulated
 * studies), its intervals widen with the noise, it inverts the law for effective
 * parameters, and it refuses a grid that cannot determine the law. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/scaling.h"
#include "util/error.h"
#include "util/rng.h"

/* Chinchilla's fitted law (Hoffmann et al. 2022), a plausible truth at any scale. */
static const ScalingLaw TRUTH = {1.69, 406.4, 0.34, 410.7, 0.28, 0, 0};
static const double SIZES[] = {3e5, 1e6, 3e6, 1e7}, BUDGETS[] = {1e6, 3e6, 1e7, 3e7, 1e8};
enum { N_SIZES = 4, N_BUDGETS = 5, SEEDS = 2, N_POINTS = N_SIZES * N_BUDGETS * SEEDS };

/* Every size x budget x seed, the loss multiplied by exp(noise x a standard normal). */
static void synthetic(ScalingPoint *p, double noise, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    int i = 0;
    for (int s = 0; s < N_SIZES; s++)
        for (int d = 0; d < N_BUDGETS; d++)
            for (int k = 0; k < SEEDS; k++, i++) {
                p[i].N = SIZES[s], p[i].D = BUDGETS[d];
                p[i].L = scaling_predict(&TRUTH, p[i].N, p[i].D) * exp(noise * rng_normal(&rng));
            }
}

static double param(const ScalingLaw *l, int k) {
    const double v[5] = {l->E, l->A, l->alpha, l->B, l->beta};
    return v[k];
}

static void interval(const ScalingFit *f, int k, double *lo, double *hi) {
    double *v = malloc(sizeof(double) * (size_t)f->n_boot);
    for (int b = 0; b < f->n_boot; b++) v[b] = param(&f->boot[b], k);
    scaling_percentile_interval(v, f->n_boot, 0.95, lo, hi);
    free(v);
}

static void test_recovers_known_law(void **state) {
    enum { STUDIES = 10 };
    static const char *names[5] = {"E", "A", "alpha", "B", "beta"};
    int covered[5] = {0};
    for (int study = 0; study < STUDIES; study++) {
        ScalingPoint p[N_POINTS];
        synthetic(p, 0.01, 1000 + (uint64_t)study);
        ScalingFit fit;
        ScalingOptions o = {.grid = 2, .n_boot = 40, .seed = (uint64_t)study};
        assert_int_equal(scaling_fit(p, N_POINTS, &o, &fit), OK);
        for (int k = 0; k < 5; k++) {
            double lo, hi;
            interval(&fit, k, &lo, &hi);
            covered[k] += lo <= param(&TRUTH, k) && param(&TRUTH, k) <= hi;
            if (k == 4) assert_true(hi - lo < 0.2);   /* informative, not just wide: beta to +-0.1 */
        }
        scaling_fit_free(&fit);
    }
    for (int k = 0; k < 5; k++) {
        printf("  %s: truth inside the 95%% bootstrap interval in %d of %d studies\n", names[k], covered[k], STUDIES);
        assert_true(covered[k] >= STUDIES * 9 / 10);
    }
}

static void test_noise_free_fit_is_exact(void **state) {
    ScalingPoint p[N_POINTS];
    synthetic(p, 0, 1);
    ScalingFit fit;
    ScalingOptions o = {.grid = 2, .n_boot = 2};
    assert_int_equal(scaling_fit(p, N_POINTS, &o, &fit), OK);
    for (int i = 0; i < N_POINTS; i++)
        assert_true(fabs(scaling_predict(&fit.law, p[i].N, p[i].D) / p[i].L - 1) < 1e-6);
    assert_true(fabs(fit.law.alpha - TRUTH.alpha) < 1e-3);
    assert_true(fabs(fit.law.beta - TRUTH.beta) < 1e-3);
    scaling_fit_free(&fit);
}

static void test_interval_widens_with_noise(void **state) {
    double width[2];
    const double noise[2] = {0.002, 0.02};
    for (int n = 0; n < 2; n++) {
        ScalingPoint p[N_POINTS];
        synthetic(p, noise[n], 77);
        ScalingFit fit;
        ScalingOptions o = {.grid = 2, .n_boot = 60, .seed = 5};
        assert_int_equal(scaling_fit(p, N_POINTS, &o, &fit), OK);
        double lo, hi;
        interval(&fit, 4, &lo, &hi);   /* beta */
        width[n] = hi - lo;
        scaling_fit_free(&fit);
    }
    printf("  beta's interval: %.4f wide at noise 0.002, %.4f at 0.02\n", width[0], width[1]);
    assert_true(width[1] > 3 * width[0]);
}

static void test_one_size_refused(void **state) {
    ScalingPoint p[N_BUDGETS * 2];
    for (int i = 0; i < N_BUDGETS * 2; i++) {
        p[i].N = 1e6, p[i].D = BUDGETS[i % N_BUDGETS];
        p[i].L = scaling_predict(&TRUTH, p[i].N, p[i].D);
    }
    ScalingFit fit;
    assert_int_equal(scaling_fit(p, N_BUDGETS * 2, NULL, &fit), ERR_INPUT);
    assert_non_null(strstr(error_message(), "3 or more model sizes"));
    assert_non_null(strstr(error_message(), "have 1"));
    p[0].L = NAN;
    assert_int_equal(scaling_fit(p, N_BUDGETS * 2, NULL, &fit), ERR_INPUT);
    assert_non_null(strstr(error_message(), "run 1"));
}

/* Table 1 at every size, each at 20 tokens per parameter: four sizes and four budgets, but N
 * and D move together, so the law is refused rather than fitted along a line. */
static void test_one_ratio_refused(void **state) {
    ScalingPoint p[N_SIZES * 2];
    for (int i = 0; i < N_SIZES * 2; i++) {
        p[i].N = SIZES[i % N_SIZES], p[i].D = ceil(20 * p[i].N / 4096) * 4096;   /* rounded up to whole steps */
        p[i].L = scaling_predict(&TRUTH, p[i].N, p[i].D);
    }
    ScalingFit fit;
    assert_int_equal(scaling_fit(p, N_SIZES * 2, NULL, &fit), ERR_INPUT);
    assert_non_null(strstr(error_message(), "about 20 tokens per parameter"));
    assert_non_null(strstr(error_message(), "N and D move together"));
    p[0].D *= 2;   /* one run at another ratio is enough to separate them */
    ScalingOptions o = {.grid = 1, .n_boot = 2};
    assert_int_equal(scaling_fit(p, N_SIZES * 2, &o, &fit), OK);
    scaling_fit_free(&fit);
}

static void test_effective_params_inverts_the_law(void **state) {
    for (int s = 0; s < N_SIZES; s++) {
        double loss = scaling_predict(&TRUTH, SIZES[s], 1e7);
        assert_true(fabs(scaling_params_for_loss(&TRUTH, loss, 1e7) / SIZES[s] - 1) < 1e-9);
    }
    /* at or below what any dense size reaches at this budget */
    assert_true(isinf(scaling_params_for_loss(&TRUTH, TRUTH.E + TRUTH.B / pow(1e7, TRUTH.beta), 1e7)));
}

/* A prediction interval for a new run at a size and budget of the grid (the bootstrap's laws
 * with out-of-bag residuals) holds about 95% of new runs drawn from the truth; the bootstrap's
 * confidence interval of the law alone far fewer. */
static void test_prediction_interval_covers_new_runs(void **state) {
    ScalingPoint p[N_POINTS];
    synthetic(p, 0.02, 4242);
    ScalingFit fit;
    ScalingOptions o = {.grid = 2, .n_boot = 100, .seed = 9};
    assert_int_equal(scaling_fit(p, N_POINTS, &o, &fit), OK);
    double pred[100], lo, hi, clo, chi;
    for (int b = 0; b < 100; b++) pred[b] = scaling_predict(&fit.boot[b], 1e6, 1e7);
    assert_true(fit.n_oob > 100 * N_POINTS / 4);   /* about e^-1 of the runs are left out of each resample */
    scaling_prediction_interval(pred, fit.oob, fit.n_oob, NULL, NULL, 0, 100, &lo, &hi);
    scaling_percentile_interval(pred, 100, 0.95, &clo, &chi);
    Rng rng;
    rng_seed(&rng, 77);
    int in_pi = 0, in_ci = 0, draws = 2000;
    for (int i = 0; i < draws; i++) {
        double L = scaling_predict(&TRUTH, 1e6, 1e7) * exp(0.02 * rng_normal(&rng));
        in_pi += lo <= L && L <= hi;
        in_ci += clo <= L && L <= chi;
    }
    printf("  new runs inside: the prediction interval %d of %d, the law's confidence interval %d\n", in_pi, draws, in_ci);
    assert_true(in_pi >= 0.85 * draws && in_pi <= 0.99 * draws);
    assert_true(in_ci < 0.6 * draws);
    /* a difference of two: the gain of a kind with itself is 0 inside an interval of twice the spread */
    scaling_prediction_interval(pred, fit.oob, fit.n_oob, pred, fit.oob, fit.n_oob, 100, &lo, &hi);
    assert_true(lo < 0 && 0 < hi);
    scaling_fit_free(&fit);
}

static void test_percentile_interval(void **state) {
    /* numpy.percentile([1..10], [2.5, 97.5]) = [1.225, 9.775]; NaNs dropped */
    double v[12] = {10, 9, NAN, 8, 7, 6, 5, 4, 3, 2, 1, NAN}, lo, hi;
    assert_int_equal(scaling_percentile_interval(v, 12, 0.95, &lo, &hi), 10);
    assert_true(fabs(lo - 1.225) < 1e-12 && fabs(hi - 9.775) < 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_free_fit_is_exact),
        cmocka_unit_test(test_recovers_known_law),
        cmocka_unit_test(test_interval_widens_with_noise),
        cmocka_unit_test(test_one_size_refused),
        cmocka_unit_test(test_one_ratio_refused),
        cmocka_unit_test(test_effective_params_inverts_the_law),
        cmocka_unit_test(test_prediction_interval_covers_new_runs),
        cmocka_unit_test(test_percentile_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
