/* The verdict function on synthetic samples with known intervals: t quantiles against
 * table values, Welch and paired intervals against values computed by R's t.test, n = 1,
 * ties, a wrong-direction case, bounds, and the seeds needed for 80% power against
 * Cohen's table (64 per group at effect 0.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include "analysis/verdict.h"

#define CLOSE(x, y, tol) assert_true(fabs((x) - (y)) <= (tol))

static Sample sample(const double *v, const uint64_t *seeds, int n) {
    Sample s = {v, seeds, n};
    return s;
}

static void test_t_distribution(void **state) {
    CLOSE(t_quantile(0.975, 1), 12.706205, 1e-5);
    CLOSE(t_quantile(0.975, 2), 4.302653, 1e-6);
    CLOSE(t_quantile(0.975, 4), 2.776445, 1e-6);
    CLOSE(t_quantile(0.975, 10), 2.228139, 1e-6);
    CLOSE(t_quantile(0.975, 30), 2.042272, 1e-6);
    CLOSE(t_quantile(0.975, 1e7), 1.959964, 1e-5);
    CLOSE(t_quantile(0.80, 10), 0.879058, 1e-6);
    CLOSE(t_quantile(0.025, 4), -2.776445, 1e-6);
    CLOSE(t_cdf(2.0, 5), 0.9490303, 1e-7);
    CLOSE(t_cdf(0, 3), 0.5, 1e-12);
    assert_true(isnan(t_quantile(0.975, 0)));
}

static void test_welch_interval(void **state) {
    const double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    Comparison c = compare_samples(sample(a, NULL, 3), sample(b, NULL, 3), 1);
    /* R: t.test(c(1,2,3), c(4,5,6)) -> df 4, 95% CI -5.266958 -0.733042 */
    CLOSE(c.difference, -3, 1e-12);
    CLOSE(c.df, 4, 1e-9);
    CLOSE(c.lo, -5.266958, 1e-6);
    CLOSE(c.hi, -0.733042, 1e-6);
    assert_int_equal(c.paired, 0);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);   /* lower is better and a is lower */
    CLOSE(c.effect, 3.0, 1e-12);                        /* pooled std 1 */
    assert_int_equal(c.seeds_needed, 0);
}

static void test_welch_unequal_variances(void **state) {
    const double a[] = {1, 2, 3, 4, 5}, b[] = {2, 4, 6, 8, 10, 12};
    Comparison c = compare_samples(sample(a, NULL, 5), sample(b, NULL, 6), 1);
    /* by hand: se^2 = 2.5/5 + 14/6, Welch df = 6.9723; t_{.975} there is 2.3667 (table: 2.3646 at
     * df 7, 2.4469 at 6), so the CI is -4 +- 3.9838 */
    CLOSE(c.df, 6.9723, 1e-4);
    CLOSE(c.lo, -7.9838, 5e-4);
    CLOSE(c.hi, -0.0162, 5e-4);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
}

static void test_paired_by_seed(void **state) {
    /* b's seeds in another order: pairing is by seed, not by position */
    const double a[] = {1.0, 2.0, 3.0}, b[] = {3.7, 1.5, 2.4};
    const uint64_t sa[] = {1, 2, 3}, sb[] = {3, 1, 2};
    Comparison c = compare_samples(sample(a, sa, 3), sample(b, sb, 3), 1);
    /* differences -0.5, -0.4, -0.7: mean -0.53333, sd 0.152753, df 2, half-width
     * 4.302653 * 0.152753 / sqrt(3) = 0.379460 */
    assert_int_equal(c.paired, 1);
    CLOSE(c.df, 2, 1e-12);
    CLOSE(c.lo, -0.912793, 1e-5);
    CLOSE(c.hi, -0.153873, 1e-5);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
    /* the same values unpaired are far wider and inconclusive */
    Comparison u = compare_samples(sample(a, NULL, 3), sample(b, NULL, 3), 1);
    assert_int_equal(u.paired, 0);
    assert_int_equal(u.verdict, VERDICT_INCONCLUSIVE);
    assert_true(u.lo < 0 && u.hi > 0);
    assert_true(u.seeds_needed > 3);
    /* seeds that do not match do not pair */
    const uint64_t other[] = {1, 2, 4};
    assert_int_equal(compare_samples(sample(a, sa, 3), sample(b, other, 3), 1).paired, 0);
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
    const double flat[] = {2, 2, 2};
    c = compare_samples(sample(flat, NULL, 3), sample(flat, NULL, 3), 0);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    assert_int_equal(c.seeds_needed, -1);   /* no effect: no number of seeds resolves it */
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
    /* mean 1.0, sd 0.01, n 3: CI 1.0 +- 4.302653 * 0.01 / sqrt(3) */
    Comparison c = compare_bound(sample(fast, NULL, 3), 0.95, 1);
    CLOSE(c.lo, 0.05 - 0.0248414, 1e-6);
    assert_string_equal(verdict_name(VERDICT_REPRODUCED, 1), "meets");
    assert_string_equal(verdict_name(VERDICT_CONTRADICTED, 1), "misses");
    assert_string_equal(verdict_name(VERDICT_CONTRADICTED, 0), "contradicted");
}

static void test_seeds_for_power(void **state) {
    const double a[] = {0, 2}, b[] = {1, 3};   /* difference -1, pooled std sqrt(2): effect 0.707 */
    Comparison c = compare_samples(sample(a, NULL, 2), sample(b, NULL, 2), 1);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    CLOSE(c.effect, 1 / sqrt(2.0), 1e-12);
    /* normal approximation 2 (1.96 + 0.8416)^2 / 0.5 = 31.4 per group, plus about one for t */
    assert_int_equal(c.seeds_needed, 33);
    /* Cohen's table: effect 0.5 needs 64 per group */
    const double h[] = {-0.70710678, 0.70710678}, k[] = {-0.20710678, 1.20710678};
    c = compare_samples(sample(k, NULL, 2), sample(h, NULL, 2), 0);
    CLOSE(c.effect, 0.5, 1e-8);
    assert_int_equal(c.seeds_needed, 64);
    const double x[] = {0, 1}, y[] = {-1, 0};   /* paired by seed: differences 1, 1 -> noise 0 */
    const uint64_t s[] = {5, 6};
    c = compare_samples(sample(x, s, 2), sample(y, s, 2), 0);
    assert_int_equal(c.paired, 1);
    CLOSE(c.lo, 1, 1e-12);
    assert_int_equal(c.verdict, VERDICT_REPRODUCED);
    const double p[] = {1.0, 2.0, 1.5}, q[] = {0.0, 2.0, 0.5};  /* differences 1, 0, 1: mean 2/3, sd 0.577 */
    const uint64_t t[] = {1, 2, 3};
    c = compare_samples(sample(p, t, 3), sample(q, t, 3), 0);
    assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
    CLOSE(c.effect, (2.0 / 3) / sqrt(1.0 / 3), 1e-9);   /* 1.1547 */
    /* paired, normal approximation (1.96 + 0.8416)^2 / 1.1547^2 = 5.9, plus the t correction */
    assert_int_equal(c.seeds_needed, 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_distribution),   cmocka_unit_test(test_welch_interval),
        cmocka_unit_test(test_welch_unequal_variances), cmocka_unit_test(test_paired_by_seed),
        cmocka_unit_test(test_one_seed_is_inconclusive), cmocka_unit_test(test_ties),
        cmocka_unit_test(test_wrong_direction),  cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_seeds_for_power),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
