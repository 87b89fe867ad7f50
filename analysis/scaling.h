/* Scaling laws L(N, D) = E + A / N^alpha + B / D^beta fitted to runs, after Hoffmann et al.
 * 2022 (approach 3) with the corrections of Besiroglu et al. 2024: the law is fitted in log
 * space, log L = LSE(a - alpha log N, b - beta log D, e) with A = e^a, B = e^b, E = e^e, by
 * minimising a Huber loss (delta 1e-3) of the residuals with L-BFGS (GSL's BFGS2) from a
 * grid of starting points, run to a tight tolerance (stopping early is what made the
 * original intervals too narrow); intervals come from refitting bootstrap resamples of the
 * runs. N counts RAM parameters; MeKi's ROM weights are reported beside, not in N. */
#ifndef ANALYSIS_SCALING_H
#define ANALYSIS_SCALING_H
#include <stdint.h>

typedef struct {
    double N, D, L;             /* RAM parameters, training tokens, validation loss (nats) */
} ScalingPoint;

typedef struct {
    double E, A, alpha, B, beta;
    double objective;           /* the Huber loss at the minimum (sum over points) */
    int iterations;
} ScalingLaw;

typedef struct {
    int grid;                   /* starting values per parameter (grid^5 starts); 0: 4 */
    int n_boot;                 /* bootstrap resamples; 0: 200 */
    double delta;               /* Huber threshold on log residuals; 0: 1e-3 */
    uint64_t seed;              /* of the resampling */
} ScalingOptions;
/* options with their zeros replaced by the defaults (options NULL: all defaults). */
ScalingOptions scaling_options(const ScalingOptions *options);

/* A fit and its bootstrap: the point law and every resample's (boot[n_boot]). */
typedef struct {
    ScalingLaw law;
    ScalingLaw *boot;
    int n_boot;
    double *oob;                /* log residuals of the runs each resample left out, pooled */
    int n_oob;
    int distinct_N, distinct_D;  /* set also when scaling_fit refuses the points */
} ScalingFit;

/* The law through n points. ERR_INPUT with a message naming what is missing when the
 * points cannot determine it: fewer than 3 model sizes (a law in N), fewer than 3 token
 * budgets (a law in D), fewer than 6 points, or a non-positive or non-finite value. */
int scaling_fit(const ScalingPoint *points, int n, const ScalingOptions *options, ScalingFit *out);
void scaling_fit_free(ScalingFit *fit);

double scaling_predict(const ScalingLaw *law, double N, double D);
/* The dense parameter count whose predicted loss at D equals loss: INFINITY when loss is
 * at or below what any dense size reaches at D (E + B / D^beta), NAN for a bad law. */
double scaling_params_for_loss(const ScalingLaw *dense, double loss, double D);

/* One law for a dense kind and a memory kind, fitted to both kinds' runs at once: they share
 * E, A, alpha, B, beta, and the memory kind's RAM parameters count m times over, with
 *   log m = mu + gamma (log N - cN) + kappa (log D - cD),
 * cN and cD the memory runs' mean log N and log D. m is the memory kind's effective-parameter
 * multiplier; gamma and kappa say how it moves with size and tokens. Per-kind laws give each
 * kind its own data term, so far from the grid their multiplier reads the difference of two
 * data terms; the shared law keeps the memory kind's whole difference in m. */
typedef struct {
    ScalingLaw law;             /* the shared law, which is dense's */
    double mu, gamma, kappa;
    double cN, cD;              /* the centre (fixed by the point fit, kept by the bootstrap) */
} SharedLaw;

typedef struct {
    SharedLaw law;
    SharedLaw *boot;
    int n_boot;
    double *oob[2];             /* out-of-bag log residuals of dense [0] and memory [1] runs */
    int n_oob[2];
    int distinct_N, distinct_D; /* of the memory kind's runs; set also when refused */
} SharedFit;

/* The shared law through dense[n_dense] and memory[n_memory], with bootstrap refits on runs
 * resampled within each kind. ERR_INPUT, naming what is missing, unless dense spans 3 or more
 * sizes and budgets, the memory kind 2 or more of each, with 9 or more runs in all. */
int scaling_fit_shared(const ScalingPoint *dense, int n_dense, const ScalingPoint *memory, int n_memory,
                       const ScalingOptions *options, SharedFit *out);
void scaling_shared_free(SharedFit *fit);
double scaling_shared_multiplier(const SharedLaw *law, double N, double D);
/* Predicted loss of a dense run (memory 0) or a memory run (memory 1). */
double scaling_shared_predict(const SharedLaw *law, double N, double D, int memory);

/* 95% prediction interval of one new run's loss, pa[b] e^ra[.], or of a difference of two,
 * pa[b] e^ra[.] - pb[b] e^rb[.] (pb non-NULL): pa, pb the n_boot bootstrap laws' predictions,
 * each times a residual drawn from ra[na], rb[nb] (a fit's out-of-bag residuals). */
void scaling_prediction_interval(const double *pa, const double *ra, int na, const double *pb, const double *rb, int nb,
                                 int n_boot, double *lo, double *hi);
/* Percentile interval [lo, hi] at level (0.95) of values (NaNs dropped; sorted in place);
 * returns how many values were finite. */
int scaling_percentile_interval(double *values, int n, double level, double *lo, double *hi);
#endif
