/* The shared scaling law (analysis/scaling_shared.c): one law for dense and a memory kind,
 * the memory kind's N counted m times over. It recovers a known multiplier and its slopes
 * from synthetic losses with noise (inside their bootstrap intervals in at least 90% of
 * simulated studies), tells a real multiplier from none, and refuses grids that cannot
 * determine it. */
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

/* Chinchilla's law (Hoffmann et al. 2022) for dense; the memory kind worth 1.6 dense
 * parameters per parameter at the grid's centre, less at larger sizes and budgets. */
static const ScalingLaw TRUTH = {1.69, 406.4, 0.34, 410.7, 0.28, 0, 0};
static const double MU = 0.47, GAMMA = -0.15, KAPPA = -0.10;
static const double SIZES[] = {3e5, 1e6, 3e6, 1e7}, BUDGETS[] = {1e6, 3e6, 1e7, 3e7, 1e8};
enum { N_SIZES = 4, N_BUDGETS = 5, SEEDS = 1, N_KIND = N_SIZES * N_BUDGETS * SEEDS };

static SharedLaw truth(double mu, double gamma, double kappa) {
    SharedLaw l = {TRUTH, mu, gamma, kappa, 0, 0};
    for (int s = 0; s < N_SIZES; s++) l.cN += log(SIZES[s]) / N_SIZES;
    for (int d = 0; d < N_BUDGETS; d++) l.cD += log(BUDGETS[d]) / N_BUDGETS;
    return l;
}

/* Every size x budget x seed of each kind, losses multiplied by exp(noise x a standard normal). */
static void synthetic(const SharedLaw *t, ScalingPoint *dense, ScalingPoint *memory, double noise, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    int i = 0;
    for (int s = 0; s < N_SIZES; s++)
        for (int d = 0; d < N_BUDGETS; d++)
            for (int k = 0; k < SEEDS; k++, i++) {
                dense[i] = memory[i] = (ScalingPoint){SIZES[s], BUDGETS[d], 0};
                dense[i].L = scaling_shared_predict(t, SIZES[s], BUDGETS[d], 0) * exp(noise * rng_normal(&rng));
                memory[i].L = scaling_shared_predict(t, SIZES[s], BUDGETS[d], 1) * exp(noise * rng_normal(&rng));
            }
}

static double param(const SharedLaw *l, int k) {
    const double v[3] = {l->mu, l->gamma, l->kappa};
    return v[k];
}

static void interval(const SharedFit *f, int k, double *lo, double *hi) {
    double *v = malloc(sizeof(double) * (size_t)f->n_boot);
    for (int b = 0; b < f->n_boot; b++) v[b] = param(&f->boot[b], k);
    scaling_percentile_interval(v, f->n_boot, 0.95, lo, hi);
    free(v);
}

static void test_noise_free_fit_is_exact(void **state) {
    SharedLaw t = truth(MU, GAMMA, KAPPA);
    ScalingPoint dense[N_KIND], memory[N_KIND];
    synthetic(&t, dense, memory, 0, 1);
    SharedFit fit;
    ScalingOptions o = {.grid = 2, .n_boot = 2};
    assert_int_equal(scaling_fit_shared(dense, N_KIND, memory, N_KIND, &o, &fit), OK);
    assert_true(fabs(fit.law.cN - t.cN) < 1e-12 && fabs(fit.law.cD - t.cD) < 1e-12);
    assert_true(fabs(fit.law.mu - MU) < 1e-3);
    assert_true(fabs(fit.law.gamma - GAMMA) < 1e-3);
    assert_true(fabs(fit.law.kappa - KAPPA) < 1e-3);
    assert_true(fabs(fit.law.law.alpha - TRUTH.alpha) < 1e-3);
    scaling_shared_free(&fit);
}

/* Coverage of mu, gamma, kappa; and mu's interval above zero (a gain told from none) when
 * the truth has one, around zero when it has none. */
static void test_recovers_known_multiplier(void **state) {
    enum { STUDIES = 10 };
    static const char *names[3] = {"mu", "gamma", "kappa"};
    const double want[3] = {MU, GAMMA, KAPPA};
    int covered[3] = {0}, told = 0, null_covered = 0;
    for (int study = 0; study < STUDIES; study++) {
        SharedLaw t = truth(MU, GAMMA, KAPPA), none = truth(0, 0, 0);
        ScalingPoint dense[N_KIND], memory[N_KIND];
        ScalingOptions o = {.grid = 2, .n_boot = 40, .seed = (uint64_t)study};
        SharedFit fit;
        double lo, hi;
        synthetic(&t, dense, memory, 0.01, 2000 + (uint64_t)study);
        assert_int_equal(scaling_fit_shared(dense, N_KIND, memory, N_KIND, &o, &fit), OK);
        for (int k = 0; k < 3; k++) {
            interval(&fit, k, &lo, &hi);
            covered[k] += lo <= want[k] && want[k] <= hi;
            if (k == 0) told += lo > 0;
            if (k == 1) assert_true(hi - lo < 0.5);   /* informative: gamma to +-0.25 */
        }
        scaling_shared_free(&fit);
        synthetic(&none, dense, memory, 0.01, 3000 + (uint64_t)study);
        assert_int_equal(scaling_fit_shared(dense, N_KIND, memory, N_KIND, &o, &fit), OK);
        interval(&fit, 0, &lo, &hi);
        null_covered += lo <= 0 && 0 <= hi;
        scaling_shared_free(&fit);
    }
    for (int k = 0; k < 3; k++) {
        printf("  %s: truth inside the 95%% bootstrap interval in %d of %d studies\n", names[k], covered[k], STUDIES);
        assert_true(covered[k] >= STUDIES * 9 / 10);
    }
    printf("  multiplier 1.6: interval above 1 in %d of %d; multiplier 1: interval includes 1 in %d of %d\n", told,
           STUDIES, null_covered, STUDIES);
    assert_true(told >= STUDIES * 9 / 10);
    assert_true(null_covered >= STUDIES * 9 / 10);
}

static void test_grids_that_cannot_determine_it_are_refused(void **state) {
    SharedLaw t = truth(MU, GAMMA, KAPPA);
    ScalingPoint dense[N_KIND], memory[N_KIND];
    synthetic(&t, dense, memory, 0, 1);
    SharedFit fit;
    /* memory runs at one size (the first N_BUDGETS * SEEDS points) */
    assert_int_equal(scaling_fit_shared(dense, N_KIND, memory, N_BUDGETS * SEEDS, NULL, &fit), ERR_INPUT);
    assert_non_null(strstr(error_message(), "2 or more model sizes"));
    assert_non_null(strstr(error_message(), "have 1 and 5"));
    /* dense runs at two sizes */
    assert_int_equal(scaling_fit_shared(dense, 2 * N_BUDGETS * SEEDS, memory, N_KIND, NULL, &fit), ERR_INPUT);
    assert_non_null(strstr(error_message(), "3 or more model sizes"));
    memory[3].L = -1;
    assert_int_equal(scaling_fit_shared(dense, N_KIND, memory, N_KIND, NULL, &fit), ERR_INPUT);
    assert_non_null(strstr(error_message(), "memory run 4"));
}

static void test_multiplier_and_prediction(void **state) {
    SharedLaw t = truth(MU, GAMMA, KAPPA);
    /* at the centre the multiplier is e^mu; a memory run of N predicts as a dense run of m N */
    double N = exp(t.cN), D = exp(t.cD);
    assert_true(fabs(scaling_shared_multiplier(&t, N, D) - exp(MU)) < 1e-12);
    assert_true(fabs(scaling_shared_predict(&t, N, D, 1) - scaling_predict(&TRUTH, exp(MU) * N, D)) < 1e-12);
    assert_true(fabs(scaling_shared_multiplier(&t, 10 * N, D) / scaling_shared_multiplier(&t, N, D) - pow(10, GAMMA)) < 1e-12);
    assert_true(fabs(scaling_shared_multiplier(&t, N, 10 * D) / scaling_shared_multiplier(&t, N, D) - pow(10, KAPPA)) < 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiplier_and_prediction),
        cmocka_unit_test(test_noise_free_fit_is_exact),
        cmocka_unit_test(test_recovers_known_multiplier),
        cmocka_unit_test(test_grids_that_cannot_determine_it_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
