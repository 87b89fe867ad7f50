/* Verdicts a reviewer would accept: a difference over seeds with its 95% confidence
 * interval (Welch's t, or paired by seed when both sides ran the same seeds), its size in
 * seed standard deviations, and a three-way verdict. Nothing here knows about the
 * database: the report passes the per-seed values in. */
#ifndef ANALYSIS_VERDICT_H
#define ANALYSIS_VERDICT_H
#include <stdint.h>

typedef enum {
    VERDICT_NOT_MEASURED = -1,
    VERDICT_REPRODUCED = 0,   /* comparisons: right direction, interval excludes zero;
                               * bounds: "meets", the interval clears the bound */
    VERDICT_INCONCLUSIVE = 1, /* the interval includes zero (or the bound); always with n = 1 */
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
    int paired;           /* 1: the interval is over per-seed differences */
    int n_a, n_b;         /* values on each side (pairs: both = the number of pairs) */
    double difference;    /* mean(a) - mean(b) */
    double lo, hi;        /* 95% confidence interval of the difference (NAN when unknown) */
    double df;            /* degrees of freedom of the t interval */
    double noise;         /* the seed std the effect is measured in (pooled, or of the pairs) */
    double effect;        /* |difference| / noise (NAN when noise is unknown; INFINITY if 0) */
    int seeds_needed;     /* seeds per side for 80% power at the observed effect, when the
                           * verdict is inconclusive; 0 when not applicable, -1 when unknown */
} Comparison;

/* The claim "a beats b", where lower (or higher) is better. */
Comparison compare_samples(Sample a, Sample b, int lower_is_better);
/* The claim "s stays at or above (below) bound": one-sample interval against the bound. */
Comparison compare_bound(Sample s, double bound, int above_is_good);

/* Student's t: the two-sided 95% quantile t_{0.975, df} (df > 0, real-valued) and the CDF. */
double t_quantile(double p, double df);
double t_cdf(double t, double df);

/* "reproduced", "inconclusive", "contradicted" (bounds: "meets", "inconclusive", "misses"). */
const char *verdict_name(Verdict v, int bound);
#endif
