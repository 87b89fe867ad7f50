/* The verdict function on synthetic samples with known intervals. Every reference value
 * was computed with scipy 1.10 (the call beside it; `t` is scipy.stats.t, `welch(a, b)`
 * the Welch–Satterthwaite df with t.ppf(0.975, df) * se, and `power(df, d)` is
 * nct.sf(c, df, d) + nct.cdf(-c, df, d) with c = t.ppf(0.975, df)). Cases: n = 1, n = 2,
 * zero spread on one or both sides, partial seed overlap, repeated seeds, NaN, unequal
 * n, bounds, exact power, and a Holm family whose adjusted verdict flips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include "analysis/verdict.h"

#define CLOSE(x, y, tol) assert_true(fabs((x) - (y)) <= (tol))
#define TOL 1e-8   /* GSL and scipy agree to about 1e-9 on these */

static Sample sample(const double *v, const uint64_t *seeds, int n) {
    Sample s = {v, seeds, n};
    return s;
}

static void test_t_distribution(void **state) {
    CLOSE(t_quantile(0.975, 1), 12.706204736432095, TOL);   /* t.ppf(0.975, 1) */
    CLOSE(t_quantile(0.975, 2), 4.302652729911275, TOL);    /* t.ppf(0.975, 2) */
    CLOSE(t_quantile(0.975, 4), 2.7764451051977987, TOL);   /* t.ppf(0.975, 4) */
    CLOSE(t_quantile(0.975, 10), 2.2281388519649385, TOL);  /* t.ppf(0.975, 10) */
    CLOSE(t_quantile(0.975, 30), 2.0422724563012373, TOL);  /* t.ppf(0.975, 30) */
    CLOSE(t_quantile(0.975, 1e7), 1.959964221767205, TOL);  /* t.ppf(0.975, 1e7) */
    CLOSE(t_quantile(0.80, 10), 0.8790578285505841, TOL);   /* t.ppf(0.80, 10) */
    CLOSE(t_quantile(0.025, 4), -2.7764451051977996, TOL);  /* t.ppf(0.025, 4) */
    CLOSE(t_quantile(0.975, 6.97229), 2.3665306754938977, TOL);   /* t.ppf(0.975, 6.97229): a real df */
    CLOSE(t_cdf(2.0, 5), 0.9490302605850709, TOL);          /* t.cdf(2.0, 5) */
    CLOSE(t_cdf(0, 3), 0.5, 1e-12);
    assert_true(isnan(t_quantile(0.975, 0)));
}

static void test_welch_interval(void **state) {
    const double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    Comparison c = compare_samples(sample(a, NULL, 3), sample(b, NULL, 3), 1);
    CLOSE(c.difference, -3, 1e-12);
    CLOSE(c.df, 4, TOL);                        /* welch([1,2,3], [4,5,6]) */
    CLOSE(c.lo, -5.266957935527524, TOL);
    CLOSE(c.hi, -0.7330420644724769, TOL);
    CLOSE(c.p, 0.021311641128756727, TOL);      /* ttest_ind(a, b, equal_var=False).pvalue */
    assert_int_equal(c.paired, 0);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);   /* lower is better and a is lower */
    CLOSE(c.effect, 3.0, 1e-12);                        /* pooled std 1 */
    assert_int_equal(c.seeds_needed, 0);
}

static void test_welch_unequal_variances(void **state) {
    /* unequal n and variances; the old hand value -7.9838 was 3.3e-4 off */
    const double a[] = {1, 2, 3, 4, 5}, b[] = {2, 4, 6, 8, 10, 12};
    Comparison c = compare_samples(sample(a, NULL, 5), sample(b, NULL, 6), 1);
    CLOSE(c.df, 6.9722557297949335, TOL);       /* welch([1..5], [2,4,..,12]) */
    CLOSE(c.lo, -7.983468694612164, TOL);
    CLOSE(c.hi, -0.01653130538783598, TOL);
    CLOSE(c.p, 0.04928433820673049, TOL);       /* ttest_ind(a, b, equal_var=False).pvalue */
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
}

static void test_two_seeds_each(void **state) {
    const double a[] = {3.0, 3.2}, b[] = {3.5, 3.9};
    Comparison c = compare_samples(sample(a, NULL, 2), sample(b, NULL, 2), 1);
    CLOSE(c.df, 1.4705882352941186, TOL);       /* welch([3.0, 3.2], [3.5, 3.9]) */
    CLOSE(c.lo, -1.9837045669553626, TOL);
    CLOSE(c.hi, 0.7837045669553624, TOL);
    CLOSE(c.p, 0.15796345394903613, TOL);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
}

static void test_paired_by_seed(void **state) {
    /* b's seeds in another order: pairing is by seed, not by position */
    const double a[] = {1.0, 2.0, 3.0}, b[] = {3.7, 1.5, 2.4};
    const uint64_t sa[] = {1, 2, 3}, sb[] = {3, 1, 2};
    Comparison c = compare_samples(sample(a, sa, 3), sample(b, sb, 3), 1);
    assert_int_equal(c.paired, 1);
    assert_int_equal(c.pairs, 3);
    CLOSE(c.df, 2, 1e-12);
    CLOSE(c.lo, -0.9127916367072801, TOL);      /* ttest_rel([1,2,3], [1.5,2.4,3.7]).confidence_interval() */
    CLOSE(c.hi, -0.1538750299593865, TOL);
    CLOSE(c.p, 0.026271008879704728, TOL);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
    /* the same values unpaired are far wider and inconclusive */
    Comparison u = compare_samples(sample(a, NULL, 3), sample(b, NULL, 3), 1);
    assert_int_equal(u.paired, 0);
    assert_int_equal(u.verdict, VERDICT_INCONCLUSIVE);
    assert_true(u.lo < 0 && u.hi > 0);
    assert_true(u.seeds_needed > 3);
    /* one shared seed is no pairing */
    const uint64_t other[] = {1, 5, 4};
    assert_int_equal(compare_samples(sample(a, sa, 3), sample(b, other, 3), 1).paired, 0);
}

static void test_partial_seed_overlap(void **state) {
    /* 3 vs 4 seeds, 3 shared: paired on the shared seeds, seed 4 shown as unpaired */
    const double a[] = {3.0, 3.2, 3.1}, b[] = {3.12, 3.28, 3.22, 3.5};
    const uint64_t sa[] = {1, 2, 3}, sb[] = {1, 2, 3, 4};
    Comparison c = compare_samples(sample(a, sa, 3), sample(b, sb, 4), 1);
    assert_int_equal(c.paired, 1);
    assert_int_equal(c.pairs, 3);
    assert_int_equal(c.n_a, 3);
    assert_int_equal(c.n_b, 4);
    CLOSE(c.lo, -0.16403536973215097, TOL);     /* ttest_rel([3.0,3.2,3.1], [3.12,3.28,3.22]) */
    CLOSE(c.hi, -0.049297963601182264, TOL);
    CLOSE(c.p, 0.015268072165338509, TOL);
    CLOSE(c.difference, (-0.12 - 0.08 - 0.12) / 3, 1e-12);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
    /* the case: a constant difference over the shared seeds is no spread */
    const double d[] = {3.1, 3.3, 3.2, 3.5};
    c = compare_samples(sample(a, sa, 3), sample(d, sb, 4), 1);
    assert_int_equal(c.pairs, 3);
    assert_true(c.no_spread);
    assert_true(isnan(c.lo) && isnan(c.p));
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
}

static void test_repeated_seed(void **state) {
    /* seed 1 twice on a: it pairs with nothing; seeds 2 and 3 pair */
    const double a[] = {3.0, 3.05, 3.2, 3.1}, b[] = {3.12, 3.28, 3.15};
    const uint64_t sa[] = {1, 1, 2, 3}, sb[] = {1, 2, 3};
    Comparison c = compare_samples(sample(a, sa, 4), sample(b, sb, 3), 1);
    assert_int_equal(c.pairs, 2);
    CLOSE(c.lo, -0.2555930710464799, TOL);      /* ttest_rel([3.2, 3.1], [3.28, 3.15]) */
    CLOSE(c.hi, 0.12559307104648046, TOL);
    CLOSE(c.p, 0.14438463102129415, TOL);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
}

static void test_no_spread_is_inconclusive(void **state) {
    /* identical values on both sides: a point "interval" would claim certainty */
    const double a[] = {3.0, 3.0}, b[] = {3.1, 3.1};
    Comparison c = compare_samples(sample(a, NULL, 2), sample(b, NULL, 2), 1);
    assert_true(c.no_spread);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    assert_true(isnan(c.lo) && isnan(c.hi) && isnan(c.p));
    assert_int_equal(c.seeds_needed, -1);
    /* one side without spread is no better: its variance is not known to be small */
    const double spread[] = {3.1, 3.3, 3.2};
    c = compare_samples(sample(a, NULL, 2), sample(spread, NULL, 3), 1);
    assert_true(c.no_spread);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    /* paired: equal differences are no spread either */
    const double x[] = {0, 1}, y[] = {-1, 0};
    const uint64_t s[] = {5, 6};
    c = compare_samples(sample(x, s, 2), sample(y, s, 2), 0);
    assert_int_equal(c.paired, 1);
    assert_true(c.no_spread);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    /* a bound with one value repeated */
    const double flat[] = {0.99, 0.99, 0.99};
    c = compare_bound(sample(flat, NULL, 3), 0.95, 1);
    assert_true(c.no_spread);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    /* a NaN never yields a verdict */
    const double nan_side[] = {3.0, NAN, 3.2};
    c = compare_samples(sample(nan_side, NULL, 3), sample(spread, NULL, 3), 1);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    assert_true(isnan(c.p));
}

static void test_one_seed_is_inconclusive(void **state) {
    const double a[] = {3.0}, b[] = {5.0};
    Comparison c = compare_samples(sample(a, NULL, 1), sample(b, NULL, 1), 1);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    assert_true(isnan(c.lo) && isnan(c.hi));
    assert_int_equal(c.seeds_needed, -1);   /* the noise is unknown */
    const double many[] = {5.0, 5.1, 4.9};
    assert_int_equal(compare_samples(sample(a, NULL, 1), sample(many, NULL, 3), 1).verdict, VERDICT_INCONCLUSIVE);
    assert_int_equal(compare_samples(sample(a, NULL, 0), sample(many, NULL, 3), 1).verdict, VERDICT_NOT_MEASURED);
}

static void test_ties(void **state) {
    const double a[] = {1, 2, 3};
    const uint64_t s[] = {1, 2, 3};
    Comparison c = compare_samples(sample(a, s, 3), sample(a, s, 3), 1);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    CLOSE(c.difference, 0, 0);
}

static void test_wrong_direction(void **state) {
    const double a[] = {4, 5, 6}, b[] = {1, 2, 3};
    Comparison c = compare_samples(sample(a, NULL, 3), sample(b, NULL, 3), 1);
    assert_int_equal(c.verdict, VERDICT_CONTRADICTED);
    c = compare_samples(sample(a, NULL, 3), sample(b, NULL, 3), 0);   /* higher is better */
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
}

static void test_bounds(void **state) {
    const double edge[] = {0.949, 0.951, 0.950}, fast[] = {0.99, 1.00, 1.01}, slow[] = {0.50, 0.52, 0.51};
    assert_int_equal(compare_bound(sample(edge, NULL, 3), 0.95, 1).verdict, VERDICT_INCONCLUSIVE);
    assert_int_equal(compare_bound(sample(fast, NULL, 3), 0.95, 1).verdict, VERDICT_REPRODUCED);
    assert_int_equal(compare_bound(sample(slow, NULL, 3), 0.95, 1).verdict, VERDICT_CONTRADICTED);
    assert_int_equal(compare_bound(sample(slow, NULL, 3), 0.95, 0).verdict, VERDICT_REPRODUCED);
    const double one[] = {0.949};
    assert_int_equal(compare_bound(sample(one, NULL, 1), 0.95, 1).verdict, VERDICT_INCONCLUSIVE);
    Comparison c = compare_bound(sample(fast, NULL, 3), 0.95, 1);
    CLOSE(c.lo, 0.025158622881562454, TOL);     /* ttest_1samp([0.99,1,1.01], 0.95).confidence_interval() - 0.95 */
    CLOSE(c.hi, 0.07484137711843752, TOL);
    CLOSE(c.p, 0.013072457560346517, TOL);
    assert_string_equal(verdict_name(VERDICT_REPRODUCED, 1), "meets");
    assert_string_equal(verdict_name(VERDICT_CONTRADICTED, 1), "misses");
    assert_string_equal(verdict_name(VERDICT_CONTRADICTED, 0), "contradicted");
}

static void test_exact_power(void **state) {
    CLOSE(t_test_power(2, 3.0), 0.3874001285054798, 1e-9);    /* power(2, 3.0) */
    CLOSE(t_test_power(5, 1.5), 0.231649753703078, 1e-9);     /* power(5, 1.5) */
    CLOSE(t_test_power(20, 2.8), 0.7591483002001531, 1e-9);   /* power(20, 2.8) */
    CLOSE(t_test_power(1, 4.0), 0.24635558728419363, 1e-9);   /* power(1, 4.0) */
    CLOSE(t_test_power(10, 0.0), 0.05, 1e-9);                 /* no effect: the test's size */
    /* smallest n with power(df(n), e sqrt(n or n/2)) >= 0.8, searched with scipy */
    const double a[] = {0, 2}, b[] = {1, 3};   /* difference -1, pooled std sqrt(2): effect 0.707 */
    Comparison c = compare_samples(sample(a, NULL, 2), sample(b, NULL, 2), 1);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    CLOSE(c.effect, 1 / sqrt(2.0), 1e-12);
    assert_int_equal(c.seeds_needed, 33);
    assert_int_equal(seeds_for_power(0.5, 0), 64);   /* Cohen's table too */
    const double p[] = {1.0, 2.0, 1.5}, q[] = {0.0, 2.0, 0.5};  /* differences 1, 0, 1 */
    const uint64_t t[] = {1, 2, 3};
    c = compare_samples(sample(p, t, 3), sample(q, t, 3), 0);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    CLOSE(c.p, 0.1835034190722739, TOL);      /* ttest_rel(p, q).pvalue */
    CLOSE(c.effect, (2.0 / 3) / sqrt(1.0 / 3), 1e-9);   /* 1.1547 */
    /* the normal approximation said 8; power at 8 pairs is below 0.8, at 9 above */
    assert_int_equal(c.seeds_needed, 9);
    assert_int_equal(seeds_for_power(1.15, 1), 9);
    assert_int_equal(seeds_for_power(INFINITY, 1), -1);
}

static void test_holm(void **state) {
    /* statsmodels multipletests(p, method='holm') (scipy has none): sorted 0.01, 0.03,
     * 0.04 times 3, 2, 1, made monotone: 0.03, 0.06, 0.06; the NAN is no member */
    const double p[] = {0.04, 0.01, NAN, 0.03};
    double adjusted[4];
    holm_adjust(p, 4, adjusted);
    CLOSE(adjusted[0], 0.06, 1e-15);
    CLOSE(adjusted[1], 0.03, 1e-15);
    assert_true(isnan(adjusted[2]));
    CLOSE(adjusted[3], 0.06, 1e-15);
    /* 0.04 alone is reproduced; in this family of three it is not */
    assert_int_equal(verdict_adjusted(VERDICT_REPRODUCED, adjusted[0]), VERDICT_INCONCLUSIVE);
    assert_int_equal(verdict_adjusted(VERDICT_REPRODUCED, adjusted[1]), VERDICT_REPRODUCED);
    assert_int_equal(verdict_adjusted(VERDICT_CONTRADICTED, adjusted[3]), VERDICT_INCONCLUSIVE);
    assert_int_equal(verdict_adjusted(VERDICT_INCONCLUSIVE, 0.001), VERDICT_INCONCLUSIVE);
    const double big[] = {0.5, 0.9};
    holm_adjust(big, 2, adjusted);
    CLOSE(adjusted[0], 1.0, 1e-15);   /* capped at 1 */
    CLOSE(adjusted[1], 1.0, 1e-15);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_distribution),          cmocka_unit_test(test_welch_interval),
        cmocka_unit_test(test_welch_unequal_variances), cmocka_unit_test(test_two_seeds_each),
        cmocka_unit_test(test_paired_by_seed),          cmocka_unit_test(test_partial_seed_overlap),
        cmocka_unit_test(test_repeated_seed),           cmocka_unit_test(test_no_spread_is_inconclusive),
        cmocka_unit_test(test_one_seed_is_inconclusive), cmocka_unit_test(test_ties),
        cmocka_unit_test(test_wrong_direction),         cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_exact_power),             cmocka_unit_test(test_holm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
