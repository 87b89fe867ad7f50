#include "analysis/scaling.h"
#include "analysis/scaling_min.h"
#include "util/error.h"
#include "util/rng.h"
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* theta = (a, alpha, b, beta, e); log L = LSE(a - alpha log N, b - beta log D, e). */
enum { P_A, P_ALPHA, P_B, P_BETA, P_E, N_THETA };

typedef struct {
    const double *logN, *logD, *logL;
    const int *take;            /* indices of the points in this fit (a bootstrap resample) */
    int n;
    double delta;
} Problem;

static void objective(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
    const Problem *p = params;
    double t[N_THETA];
    for (int k = 0; k < N_THETA; k++) t[k] = gsl_vector_get(x, k);
    double sum = 0, grad[N_THETA] = {0};
    for (int j = 0; j < p->n; j++) {
        int i = p->take[j];
        double u = t[P_A] - t[P_ALPHA] * p->logN[i], v = t[P_B] - t[P_BETA] * p->logD[i], w = t[P_E];
        double m = fmax(u, fmax(v, w));
        double eu = exp(u - m), ev = exp(v - m), ew = exp(w - m), s = eu + ev + ew;
        double r = m + log(s) - p->logL[i], slope;
        sum += scaling_huber(r, p->delta, &slope);
        if (!g) continue;
        double wu = eu / s, wv = ev / s, ww = ew / s;
        grad[P_A] += slope * wu;
        grad[P_ALPHA] -= slope * wu * p->logN[i];
        grad[P_B] += slope * wv;
        grad[P_BETA] -= slope * wv * p->logD[i];
        grad[P_E] += slope * ww;
    }
    if (f) *f = sum / p->n;
    if (g)
        for (int k = 0; k < N_THETA; k++) gsl_vector_set(g, k, grad[k] / p->n);
}

static double obj_f(const gsl_vector *x, void *p) {
    double f;
    objective(x, p, &f, NULL);
    return f;
}
static void obj_df(const gsl_vector *x, void *p, gsl_vector *g) { objective(x, p, NULL, g); }
static void obj_fdf(const gsl_vector *x, void *p, double *f, gsl_vector *g) { objective(x, p, f, g); }

static ScalingLaw law_of(const double t[N_THETA], double f, int iterations, double delta) {
    ScalingLaw l = {exp(t[P_E]), exp(t[P_A]), t[P_ALPHA], exp(t[P_B]), t[P_BETA], 0, iterations};
    l.objective = f * delta;    /* back to the sum-free Huber scale: mean Huber loss */
    return l;
}

typedef struct {
    const ScalingLaw *law;
    const double *logN, *logD, *logL;
} Residual;

static double residual(const void *ctx, int i) {
    const Residual *r = ctx;
    return r->logL[i] - log(scaling_predict(r->law, exp(r->logN[i]), exp(r->logD[i])));
}

ScalingOptions scaling_options(const ScalingOptions *options) {
    ScalingOptions o = options ? *options : (ScalingOptions){0};
    if (o.grid <= 0) o.grid = 4;
    if (o.n_boot <= 0) o.n_boot = 200;
    if (o.delta <= 0) o.delta = 1e-3;
    return o;
}

int scaling_fit(const ScalingPoint *points, int n, const ScalingOptions *options, ScalingFit *out) {
    memset(out, 0, sizeof *out);
    ScalingOptions o = scaling_options(options);
    for (int i = 0; i < n; i++)
        if (!(points[i].N > 0 && points[i].D > 0 && points[i].L > 0) || !isfinite(points[i].N) ||
            !isfinite(points[i].D) || !isfinite(points[i].L))
            return error_set(ERR_INPUT, "scaling fit: run %d has N %g, D %g, loss %g; each must be positive and finite",
                             i + 1, points[i].N, points[i].D, points[i].L);
    double *logs = malloc(sizeof(double) * 3 * (size_t)(n > 0 ? n : 1));
    int *take = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!logs || !take) {
        free(logs), free(take);
        return error_set(ERR_FAILURE, "scaling fit: out of memory");
    }
    double *logN = logs, *logD = logs + n, *logL = logs + 2 * n;
    for (int i = 0; i < n; i++) {
        logN[i] = log(points[i].N), logD[i] = log(points[i].D), logL[i] = log(points[i].L);
        take[i] = i;
    }
    out->distinct_N = scaling_count_distinct(logN, take, n);
    out->distinct_D = scaling_count_distinct(logD, take, n);
    int rc = OK;
    if (out->distinct_N < 3)
        rc = error_set(ERR_INPUT, "scaling fit: a law in N needs runs at 3 or more model sizes; these %d runs have %d (N = %g%s)",
                       n, out->distinct_N, n ? points[0].N : 0, out->distinct_N > 1 ? ", ..." : "");
    else if (out->distinct_D < 3)
        rc = error_set(ERR_INPUT, "scaling fit: a law in D needs runs at 3 or more token budgets; these %d runs have %d",
                       n, out->distinct_D);
    else if (scaling_one_ratio(logN, logD, take, n))
        rc = error_set(ERR_INPUT, "scaling fit: every run has about %.3g tokens per parameter, so N and D move together "
                                  "and no law can separate their terms; add budgets at other ratios",
                       points[0].D / points[0].N);
    else if (n < 6)
        rc = error_set(ERR_INPUT, "scaling fit: 5 parameters need at least 6 runs; there are %d", n);
    if (rc != OK) {
        free(logs), free(take);
        return rc;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();   /* a failed step is a return code */
    Problem p = {logN, logD, logL, take, n, o.delta};
    gsl_multimin_function_fdf fn = {obj_f, obj_df, obj_fdf, N_THETA, &p};
    enum { KEEP = SCALING_KEEP };
    double best[KEEP][N_THETA], best_f[KEEP];
    int it = 0;
    double f = scaling_grid(&fn, o.grid, best[0], best_f, &it);
    out->law = law_of(best[0], f, it, o.delta);
    out->boot = calloc((size_t)o.n_boot, sizeof *out->boot);
    out->oob = malloc(sizeof(double) * (size_t)o.n_boot * (size_t)n);
    if (!out->boot || !out->oob) {
        gsl_set_error_handler(old);
        free(logs), free(take);
        scaling_fit_free(out);
        return error_set(ERR_FAILURE, "scaling fit: out of memory");
    }
    /* Bootstrap: resample the runs with replacement (again when a resample loses a size or
     * budget the law needs) and refit from the point fit's best minima. */
    Rng rng;
    rng_seed(&rng, o.seed ^ 0x5ca1ab1e);
    for (int b = 0; b < o.n_boot; b++) {
        do {
            for (int j = 0; j < n; j++) take[j] = (int)rng_below(&rng, (uint64_t)n);
        } while (scaling_count_distinct(logN, take, n) < 3 || scaling_count_distinct(logD, take, n) < 3 ||
                 scaling_one_ratio(logN, logD, take, n));
        double bt[N_THETA];
        int bit;
        double bf = scaling_refit(&fn, best[0], best_f, KEEP, bt, &bit);
        out->boot[b] = isfinite(bf) ? law_of(bt, bf, bit, o.delta)
                                    : (ScalingLaw){NAN, NAN, NAN, NAN, NAN, NAN, bit};
        if (isfinite(bf)) {
            Residual res = {&out->boot[b], logN, logD, logL};
            out->n_oob += scaling_out_of_bag(take, 0, n, residual, &res, out->oob + out->n_oob);
        }
    }
    out->n_boot = o.n_boot;
    gsl_set_error_handler(old);
    free(logs), free(take);
    return OK;
}

void scaling_fit_free(ScalingFit *fit) {
    free(fit->boot), free(fit->oob);
    fit->boot = NULL, fit->oob = NULL;
    fit->n_boot = fit->n_oob = 0;
}

double scaling_predict(const ScalingLaw *law, double N, double D) {
    return law->E + law->A / pow(N, law->alpha) + law->B / pow(D, law->beta);
}

double scaling_params_for_loss(const ScalingLaw *dense, double loss, double D) {
    if (!(dense->A > 0) || !(dense->alpha > 0) || !isfinite(loss)) return NAN;
    double room = loss - dense->E - dense->B / pow(D, dense->beta);
    if (room <= 1e-12 * fabs(loss)) return INFINITY;   /* at the asymptote, to rounding */
    return pow(dense->A / room, 1 / dense->alpha);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int scaling_percentile_interval(double *values, int n, double level, double *lo, double *hi) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(values[i])) values[m++] = values[i];
    *lo = *hi = NAN;
    if (m == 0) return 0;
    qsort(values, (size_t)m, sizeof *values, cmp_double);
    /* linear interpolation between order statistics (numpy's default percentile) */
    double q[2] = {(1 - level) / 2, 1 - (1 - level) / 2}, *out[2] = {lo, hi};
    for (int k = 0; k < 2; k++) {
        double pos = q[k] * (m - 1);
        int i = (int)floor(pos);
        double frac = pos - i;
        *out[k] = i + 1 < m ? values[i] + frac * (values[i + 1] - values[i]) : values[m - 1];
    }
    return m;
}

void scaling_prediction_interval(const double *pa, const double *ra, int na, const double *pb, const double *rb, int nb,
                                 int n_boot, double *lo, double *hi) {
    double *v = malloc(sizeof(double) * (size_t)(n_boot ? n_boot : 1));
    *lo = *hi = NAN;
    if (!v || !ra || na < 1 || (pb && (!rb || nb < 1))) {
        free(v);
        return;
    }
    Rng rng;
    rng_seed(&rng, 0x9e3779b97f4a7c15ull);   /* fixed: the same report from the same runs */
    for (int b = 0; b < n_boot; b++) {
        v[b] = pa[b] * exp(ra[rng_below(&rng, (uint64_t)na)]);
        if (pb) v[b] -= pb[b] * exp(rb[rng_below(&rng, (uint64_t)nb)]);
    }
    scaling_percentile_interval(v, n_boot, 0.95, lo, hi);
    free(v);
}
