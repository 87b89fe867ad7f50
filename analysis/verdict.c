/* Confidence intervals, p values, verdicts, Holm's adjustment and the seeds a finding
 * would need. The t and normal distributions are GSL's (gsl_cdf_tdist_*); the noncentral
 * t of the power calculation, which GSL lacks, is integrated over its chi factor. */
#include "analysis/verdict.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

enum { POWER_MAX_SEEDS = 10000 };
#define ALPHA 0.05
#define POWER 0.80

double t_cdf(double t, double df) {
    if (isnan(t) || !(df > 0)) return NAN;
    return gsl_cdf_tdist_P(t, df);
}

double t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
    return gsl_cdf_tdist_Pinv(p, df);
}

/* T' = (Z + delta) / S with S = sqrt(chi2_df / df): the integrand over s of
 * P(|Z + delta| > c s) times the density of S. */
typedef struct {
    double df, delta, c, log_norm;
} PowerArgs;

static double power_integrand(double s, void *arg) {
    const PowerArgs *a = arg;
    if (s <= 0) return 0;
    /* density of S: 2 df s f_chi2(df s^2), written in logs to stay finite at large df */
    double k = a->df / 2, log_density = a->log_norm + (a->df - 1) * log(s) - k * s * s;
    double tails = gsl_cdf_ugaussian_Q(a->c * s - a->delta) + gsl_cdf_ugaussian_P(-a->c * s - a->delta);
    return tails * exp(log_density);
}

double t_test_power(double df, double delta) {
    if (!(df > 0) || !isfinite(delta)) return NAN;
    PowerArgs a = {df, delta, gsl_cdf_tdist_Pinv(1 - ALPHA / 2, df), 0};
    double k = df / 2;
    a.log_norm = log(2.0) + k * log(k) - gsl_sf_lngamma(k);
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(256);
    if (!w) return NAN;
    gsl_function f = {power_integrand, &a};
    double result = NAN, error;
    gsl_error_handler_t *old = gsl_set_error_handler_off();   /* a failed integral is NAN, not abort() */
    if (gsl_integration_qagiu(&f, 0, 1e-13, 1e-11, 256, w, &result, &error)) result = NAN;
    gsl_set_error_handler(old);
    gsl_integration_workspace_free(w);
    return result;
}

/* Exact for the test the report runs: paired, df n - 1 and delta e sqrt(n); two equal
 * independent samples, df 2n - 2 and delta e sqrt(n / 2). */
int seeds_for_power(double effect, int paired) {
    if (!isfinite(effect) || !(effect > 0)) return -1;
    for (int n = 2; n <= POWER_MAX_SEEDS; n++) {
        double df = paired ? n - 1 : 2.0 * n - 2, delta = effect * sqrt(paired ? n : n / 2.0);
        double power = t_test_power(df, delta);
        if (!isfinite(power)) return -1;
        if (power >= POWER) return n;
    }
    return -1;
}

static void mean_var(const double *x, int n, double *mean, double *var) {
    double sum = 0, squares = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    *mean = n ? sum / n : NAN;
    for (int i = 0; i < n; i++) squares += (x[i] - *mean) * (x[i] - *mean);
    *var = n > 1 ? squares / (n - 1) : NAN;
}

/* At least two distinct values: a side measured twice the same gives no spread to build
 * an interval on, however many seeds it has. Values closer than rounding at the scale of
 * the measurements (differences of equal steps carry it) count as equal. */
static int has_spread(const double *x, int n, double scale) {
    for (int i = 1; i < n; i++)
        if (!(fabs(x[i] - x[0]) <= 1e-12 * scale)) return 1;
    return 0;
}

static double largest(const double *x, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static int count_seed(const uint64_t *seeds, int n, uint64_t seed) {
    int count = 0;
    for (int i = 0; i < n; i++) count += seeds[i] == seed;
    return count;
}

/* The seeds both sides ran once each pair up: d gets a - b per shared seed (in a's order)
 * and pa, pb the two sides' values. A seed repeated on a side pairs with nothing. */
static int pair_by_seed(Sample a, Sample b, double *d, double *pa, double *pb) {
    int pairs = 0;
    if (!a.seeds || !b.seeds) return 0;
    for (int i = 0; i < a.n; i++) {
        if (count_seed(a.seeds, a.n, a.seeds[i]) != 1 || count_seed(b.seeds, b.n, a.seeds[i]) != 1) continue;
        for (int j = 0; j < b.n; j++)
            if (b.seeds[j] == a.seeds[i]) {
                pa[pairs] = a.values[i], pb[pairs] = b.values[j];
                d[pairs] = a.values[i] - b.values[j];
                pairs++;
            }
    }
    return pairs;
}

static Comparison empty(int n_a, int n_b) {
    Comparison c = {VERDICT_NOT_MEASURED, 0, n_a, n_b, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0};
    return c;
}

/* Sorts an interval into a verdict: "better" means the claim's direction. */
static void decide(Comparison *c, double better_lo, double better_hi) {
    if (isnan(better_lo) || isnan(better_hi)) c->verdict = VERDICT_INCONCLUSIVE;
    else if (better_lo > 0) c->verdict = VERDICT_REPRODUCED;
    else if (better_hi < 0) c->verdict = VERDICT_CONTRADICTED;
    else c->verdict = VERDICT_INCONCLUSIVE;
}

/* The t interval and two-sided p of centre with standard error se and df degrees of freedom. */
static void t_interval(Comparison *c, double centre, double se, double df) {
    if (!isfinite(centre) || !(se > 0) || !isfinite(se) || !(df > 0)) return;   /* a NaN value: no interval */
    double half = t_quantile(1 - ALPHA / 2, df) * se;
    c->df = df;
    c->lo = centre - half, c->hi = centre + half;
    c->p = 2 * gsl_cdf_tdist_Q(fabs(centre) / se, df);
}

static void finish(Comparison *c, int better_sign, int paired_power) {
    if (isnan(c->lo)) decide(c, NAN, NAN);
    else decide(c, better_sign > 0 ? c->lo : -c->hi, better_sign > 0 ? c->hi : -c->lo);
    if (c->noise > 0) c->effect = fabs(c->difference) / c->noise;
    if (c->verdict == VERDICT_INCONCLUSIVE) c->seeds_needed = seeds_for_power(c->effect, paired_power);
}

Comparison compare_samples(Sample a, Sample b, int lower_is_better) {
    Comparison c = empty(a.n, b.n);
    if (a.n < 1 || b.n < 1) return c;
    double ma, va, mb, vb;
    mean_var(a.values, a.n, &ma, &va);
    mean_var(b.values, b.n, &mb, &vb);
    c.difference = ma - mb;
    int most = a.n > 0 ? a.n : 1;
    double d[most], pa[most], pb[most];
    int pairs = pair_by_seed(a, b, d, pa, pb);
    if (pairs >= 2) {
        /* the shared seed fixes initialisation and data order: its variance cancels; the
         * seeds only one side ran stay out of the interval (the report shows them) */
        double md, vd;
        mean_var(d, pairs, &md, &vd);
        c.paired = 1, c.pairs = pairs;
        c.difference = md;
        c.df = pairs - 1;
        double scale = fmax(largest(pa, pairs), largest(pb, pairs));
        c.no_spread = !has_spread(pa, pairs, scale) || !has_spread(pb, pairs, scale) || !has_spread(d, pairs, scale);
        c.noise = sqrt(vd);
        if (!c.no_spread) t_interval(&c, md, c.noise / sqrt(pairs), pairs - 1);
    } else if (a.n >= 2 && b.n >= 2) {
        /* Welch: unequal variances; Welch–Satterthwaite degrees of freedom */
        double se2 = va / a.n + vb / b.n;
        c.noise = sqrt((va + vb) / 2);
        c.no_spread = !has_spread(a.values, a.n, largest(a.values, a.n)) ||
                      !has_spread(b.values, b.n, largest(b.values, b.n));
        if (!c.no_spread)
            t_interval(&c, c.difference, sqrt(se2),
                       se2 * se2 / ((va / a.n) * (va / a.n) / (a.n - 1) + (vb / b.n) * (vb / b.n) / (b.n - 1)));
    }
    /* one seed on a side, or no spread: no interval, so never more than inconclusive */
    finish(&c, lower_is_better ? -1 : 1, c.paired);
    return c;
}

Comparison compare_bound(Sample s, double bound, int above_is_good) {
    Comparison c = empty(s.n, 0);
    if (s.n < 1) return c;
    double m, v;
    mean_var(s.values, s.n, &m, &v);
    c.difference = m - bound;
    if (s.n >= 2) {
        c.noise = sqrt(v);
        c.df = s.n - 1;
        c.no_spread = !has_spread(s.values, s.n, largest(s.values, s.n));
        if (!c.no_spread) t_interval(&c, c.difference, c.noise / sqrt(s.n), s.n - 1);
    }
    /* one sample against a fixed bound: the paired power formula applies */
    finish(&c, above_is_good ? 1 : -1, 1);
    return c;
}

typedef struct {
    double p;
    int index;
} Ranked;

static int by_p(const void *x, const void *y) {
    const Ranked *a = x, *b = y;
    return a->p < b->p ? -1 : a->p > b->p ? 1 : a->index - b->index;
}

void holm_adjust(const double *p, int m, double *adjusted) {
    Ranked *ranked = malloc((size_t)(m > 0 ? m : 1) * sizeof *ranked);
    if (!ranked) abort();
    int k = 0;
    for (int i = 0; i < m; i++) {
        adjusted[i] = NAN;
        if (!isnan(p[i])) ranked[k++] = (Ranked){p[i], i};
    }
    qsort(ranked, (size_t)k, sizeof *ranked, by_p);
    /* p_(j) times the hypotheses left, made monotone: each adjusted p at least the one before */
    double running = 0;
    for (int j = 0; j < k; j++) {
        double scaled = fmin(1.0, (k - j) * ranked[j].p);
        running = fmax(running, scaled);
        adjusted[ranked[j].index] = running;
    }
    free(ranked);
}

Verdict verdict_adjusted(Verdict raw, double p_adjusted) {
    if (raw == VERDICT_REPRODUCED || raw == VERDICT_CONTRADICTED)
        return p_adjusted < ALPHA ? raw : VERDICT_INCONCLUSIVE;
    return raw;
}

const char *verdict_name(Verdict v, int bound) {
    switch (v) {
    case VERDICT_REPRODUCED: return bound ? "meets" : "reproduced";
    case VERDICT_INCONCLUSIVE: return "inconclusive";
    case VERDICT_CONTRADICTED: return bound ? "misses" : "contradicted";
    case VERDICT_NOT_MEASURED: break;
    }
    return "not measured";
}
