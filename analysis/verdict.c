/* Confidence intervals, verdicts and the seeds a finding would need. The t distribution's
 * CDF comes from the regularised incomplete beta function (continued fraction, evaluated
 * in double); quantiles by bisection on it, since Welch's degrees of freedom are real. */
#include "analysis/verdict.h"
#include <math.h>
#include <stddef.h>

enum { POWER_MAX_SEEDS = 10000 };

/* Continued fraction of the incomplete beta (modified Lentz), valid for x < (a+1)/(a+b+2). */
static double beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m, num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + num * d; if (fabs(d) < tiny) d = tiny;
        c = 1 + num / c; if (fabs(c) < tiny) c = tiny;
        d = 1 / d; h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + num * d; if (fabs(d) < tiny) d = tiny;
        c = 1 + num / c; if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < 1e-15) break;
    }
    return h;
}

/* I_x(a, b), the regularised incomplete beta function. */
static double incomplete_beta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double t_cdf(double t, double df) {
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 1 : 0;
    double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));   /* P(T > |t|) */
    return t > 0 ? 1 - tail : tail;
}

double t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
    if (p == 0.5) return 0;
    if (p < 0.5) return -t_quantile(1 - p, df);
    double lo = 0, hi = 1;
    while (t_cdf(hi, df) < p && hi < 1e12) hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (t_cdf(mid, df) < p) lo = mid; else hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void mean_var(const double *x, int n, double *mean, double *var) {
    double sum = 0, squares = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    *mean = n ? sum / n : NAN;
    for (int i = 0; i < n; i++) squares += (x[i] - *mean) * (x[i] - *mean);
    *var = n > 1 ? squares / (n - 1) : NAN;
}

/* Both sides ran the same set of at least two seeds: their values pair seed by seed,
 * which removes the variance the shared seed explains (init and data order). Fills d with
 * a - b per seed in a's order. */
static int pair_by_seed(Sample a, Sample b, double *d) {
    if (!a.seeds || !b.seeds || a.n != b.n || a.n < 2) return 0;
    for (int i = 0; i < a.n; i++) {
        int found = -1;
        for (int j = 0; j < b.n; j++)
            if (b.seeds[j] == a.seeds[i]) { found = j; break; }
        if (found < 0) return 0;
        for (int k = 0; k < i; k++)
            if (a.seeds[k] == a.seeds[i]) return 0;   /* a repeated seed does not pair */
        d[i] = a.values[i] - b.values[found];
    }
    return 1;
}

/* Seeds per side for a two-sided 5% test with 80% power at effect size e (difference /
 * noise): the t-based fixed point n = k ((t_{.975,df} + t_{.80,df}) / e)^2, k = 2 for two
 * independent samples, 1 for pairs. */
static int seeds_for_power(double effect, int paired) {
    if (!isfinite(effect)) return -1;
    if (effect <= 0) return -1;
    double k = paired ? 1 : 2;
    for (int n = 2; n <= POWER_MAX_SEEDS; n++) {
        double df = paired ? n - 1 : 2.0 * n - 2;
        double needed = k * pow((t_quantile(0.975, df) + t_quantile(0.80, df)) / effect, 2);
        if (n >= needed) return n;
    }
    return -1;
}

static Comparison empty(int n_a, int n_b) {
    Comparison c = {VERDICT_NOT_MEASURED, 0, n_a, n_b, NAN, NAN, NAN, NAN, NAN, NAN, 0};
    return c;
}

/* Sorts an interval into a verdict: "better" means the claim's direction. */
static void decide(Comparison *c, double better_lo, double better_hi) {
    if (isnan(better_lo) || isnan(better_hi)) c->verdict = VERDICT_INCONCLUSIVE;
    else if (better_lo > 0) c->verdict = VERDICT_REPRODUCED;
    else if (better_hi < 0) c->verdict = VERDICT_CONTRADICTED;
    else c->verdict = VERDICT_INCONCLUSIVE;
}

Comparison compare_samples(Sample a, Sample b, int lower_is_better) {
    Comparison c = empty(a.n, b.n);
    if (a.n < 1 || b.n < 1) return c;
    double ma, va, mb, vb;
    mean_var(a.values, a.n, &ma, &va);
    mean_var(b.values, b.n, &mb, &vb);
    c.difference = ma - mb;
    double d[a.n > 0 ? a.n : 1];
    if (pair_by_seed(a, b, d)) {
        double md, vd;
        mean_var(d, a.n, &md, &vd);
        c.paired = 1;
        c.df = a.n - 1;
        c.noise = sqrt(vd);
        double half = t_quantile(0.975, c.df) * c.noise / sqrt(a.n);
        c.lo = md - half, c.hi = md + half;
    } else if (a.n >= 2 && b.n >= 2) {
        /* Welch: unequal variances; Welch–Satterthwaite degrees of freedom */
        double se2 = va / a.n + vb / b.n;
        c.noise = sqrt((va + vb) / 2);
        if (se2 > 0) {
            c.df = se2 * se2 / ((va / a.n) * (va / a.n) / (a.n - 1) + (vb / b.n) * (vb / b.n) / (b.n - 1));
            double half = t_quantile(0.975, c.df) * sqrt(se2);
            c.lo = c.difference - half, c.hi = c.difference + half;
        } else {   /* no seed noise at all: the interval is the point */
            c.df = a.n + b.n - 2;
            c.lo = c.hi = c.difference;
        }
    }
    /* with one seed on a side the noise is unknown: no interval, so never more than inconclusive */
    double sign = lower_is_better ? -1 : 1;
    if (isnan(c.lo)) decide(&c, NAN, NAN);
    else decide(&c, sign > 0 ? c.lo : -c.hi, sign > 0 ? c.hi : -c.lo);
    if (c.noise > 0) c.effect = fabs(c.difference) / c.noise;
    else if (c.noise == 0) c.effect = c.difference != 0 ? INFINITY : 0;
    if (c.verdict == VERDICT_INCONCLUSIVE) c.seeds_needed = seeds_for_power(c.effect, c.paired);
    return c;
}

Comparison compare_bound(Sample s, double bound, int above_is_good) {
    Comparison c = empty(s.n, 0);
    if (s.n < 1) return c;
    double m, v;
    mean_var(s.values, s.n, &m, &v);
    c.difference = m - bound;
    if (s.n >= 2) {
        c.df = s.n - 1;
        c.noise = sqrt(v);
        double half = t_quantile(0.975, c.df) * c.noise / sqrt(s.n);
        c.lo = c.difference - half, c.hi = c.difference + half;
    }
    if (isnan(c.lo)) decide(&c, NAN, NAN);
    else decide(&c, above_is_good ? c.lo : -c.hi, above_is_good ? c.hi : -c.lo);
    if (c.noise > 0) c.effect = fabs(c.difference) / c.noise;
    else if (c.noise == 0) c.effect = c.difference != 0 ? INFINITY : 0;
    /* one sample against a fixed bound: the paired formula (k = 1) applies */
    if (c.verdict == VERDICT_INCONCLUSIVE) c.seeds_needed = seeds_for_power(c.effect, 1);
    return c;
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
