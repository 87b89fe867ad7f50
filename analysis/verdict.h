/* Verdicts a reviewer would accept: a difference over seeds with its 95% confidence
 * interval (paired on the seeds both sides ran, else Welch's t), its size in standard
 * deviations, its p value for Holm's correction, and a three-way verdict. The t and
 * normal distributions are GSL's. Nothing here knows about the database: the report
 * passes the per-seed values in. */
#ifndef ANALYSIS_VERDICT_H
#define ANALYSIS_VERDICT_H
#include <stdint.h>

typedef enum {
    VERDICT_NOT_MEASURED = -1,
    VERDICT_REPRODUCED = 0,   /* comparisons: right direction, interval excludes zero;
                               * bounds: "meets", the interval clears the bound */
    VERDICT_INCONCLUSIVE = 1, /* the interval includes zero (or the bound); always with n = 1
                               * and when no spread was observed */
    VERDICT_CONTRADICTED = 2, /* comparisons: wrong direction, interval excludes zero;
                               * bounds: "misses", the whole interval is on the wrong side */
} Verdict;

/* One side of a comparison: values[i] was measured with seeds[i] (seeds may be NULL:
 * then the sides never pair). */
typedef struct {
    const double *values;
    const uint64_t *seeds;
    int n;
} Sample;

typedef struct {
    Verdict verdict;
    int paired;           /* 1: the interval is over per-seed differences of the shared seeds */
    int n_a, n_b;         /* values on each side */
    int pairs;            /* shared seeds the interval pairs (0 when not paired) */
    int no_spread;        /* 1: a side (or the differences) showed fewer than 2 distinct values:
                           * no interval, inconclusive whatever the means */
    double difference;    /* mean(a) - mean(b), or the mean paired difference when paired */
    double lo, hi;        /* 95% confidence interval of the difference (NAN when unknown) */
    double df;            /* degrees of freedom of the t interval */
    double p;             /* two-sided p value of "difference = 0" (or of the bound); NAN when unknown */
    double noise;         /* the std the effect is measured in: pooled seed std, or of the pairs' differences */
    double effect;        /* |difference| / noise (NAN when noise is unknown or zero) */
    int seeds_needed;     /* seeds per side (pairs when paired) for 80% power at the observed
                           * effect (noncentral t), when inconclusive; 0 n/a, -1 unknown */
} Comparison;

/* The claim "a beats b", where lower (or higher) is better. */
Comparison compare_samples(Sample a, Sample b, int lower_is_better);
/* The claim "s stays at or above (below) bound": one-sample interval against the bound. */
Comparison compare_bound(Sample s, double bound, int above_is_good);

/* Student's t: quantile and CDF (df > 0, real-valued); GSL's. */
double t_quantile(double p, double df);
double t_cdf(double t, double df);
/* Power of the two-sided 5% t test with df degrees of freedom when the t statistic's
 * noncentrality is delta: P(|T'| > t_{.975,df}), T' noncentral t (exact, by integration). */
double t_test_power(double df, double delta);
/* Seeds per side for 80% power at effect size e: paired (or one sample) when paired,
 * else two independent samples of equal size; -1 when e is not finite and positive. */
int seeds_for_power(double effect, int paired);

/* Holm's step-down adjustment of m p values (NAN entries are left out of the family and
 * stay NAN); adjusted[i] belongs to p[i]. */
void holm_adjust(const double *p, int m, double *adjusted);
/* The verdict after adjustment: a verdict that the adjusted p no longer supports at 5%
 * becomes inconclusive. */
Verdict verdict_adjusted(Verdict raw, double p_adjusted);

/* "reproduced", "inconclusive", "contradicted" (bounds: "meets", "inconclusive", "misses"). */
const char *verdict_name(Verdict v, int bound);
#endif
