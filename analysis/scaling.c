#include "analysis/scaling.h"
#include "util/error.h"
#include "util/rng.h"
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
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

/* Huber loss of one residual over delta (so the slope far out is 1 whatever delta is) and
 * its derivative. */
static double huber(double r, double delta, double *slope) {
    if (fabs(r) <= delta) {
        *slope = r / delta;
        return 0.5 * r * r / delta;
    }
    *slope = r > 0 ? 1 : -1;
    return fabs(r) - 0.5 * delta;
}

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
        sum += huber(r, p->delta, &slope);
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

/* One BFGS descent from start; the minimum's objective (INFINITY if it went non-finite).
 * Run to a gradient norm of 1e-10, or until 100 iterations gain less than 1e-10 relative: a loose stop leaves the fit where
 * the line search gave up, which is what narrowed the original Chinchilla intervals. */
static double descend(Problem *p, const double start[N_THETA], double out[N_THETA], int *iterations) {
    gsl_multimin_function_fdf fn = {obj_f, obj_df, obj_fdf, N_THETA, p};
    gsl_vector *x = gsl_vector_alloc(N_THETA);
    for (int k = 0; k < N_THETA; k++) gsl_vector_set(x, k, start[k]);
    gsl_multimin_fdfminimizer *m = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, N_THETA);
    gsl_multimin_fdfminimizer_set(m, &fn, x, 0.1, 0.1);
    int it = 0, status;
    double last = INFINITY;   /* the objective STALL iterations ago */
    enum { STALL = 100 };
    do {
        it++;
        status = gsl_multimin_fdfminimizer_iterate(m);
        if (status) break;   /* no further progress along the line: at the minimum's precision */
        status = gsl_multimin_test_gradient(m->gradient, 1e-10);
        if (it % STALL == 0) {   /* Huber's linear arms make BFGS crawl: stop when it has */
            if (last - m->f <= 1e-10 * fabs(m->f)) break;
            last = m->f;
        }
    } while (status == GSL_CONTINUE && it < 20000);
    double f = m->f;
    for (int k = 0; k < N_THETA; k++) out[k] = gsl_vector_get(m->x, k);
    gsl_multimin_fdfminimizer_free(m);
    gsl_vector_free(x);
    *iterations = it;
    for (int k = 0; k < N_THETA; k++)
        if (!isfinite(out[k])) return INFINITY;
    return isfinite(f) ? f : INFINITY;
}

static ScalingLaw law_of(const double t[N_THETA], double f, int iterations, double delta) {
    ScalingLaw l = {exp(t[P_E]), exp(t[P_A]), t[P_ALPHA], exp(t[P_B]), t[P_BETA], 0, iterations};
    l.objective = f * delta;    /* back to the sum-free Huber scale: mean Huber loss */
    return l;
}

static int count_distinct(const double *v, const int *take, int n) {
    int distinct = 0;
    for (int j = 0; j < n; j++) {
        int seen = 0;
        for (int k = 0; k < j && !seen; k++) seen = v[take[k]] == v[take[j]];
        distinct += !seen;
    }
    return distinct;
}

/* Hoffmann et al.'s grid: alpha, beta in [0, 2], e in [-1, 1], a, b in [0, 25], g values
 * each. The best few minima are kept as the bootstrap's starting points. */
enum { KEEP = 4 };
static double grid_fit(Problem *p, int g, double best[KEEP][N_THETA], double best_f[KEEP], int *iterations) {
    for (int k = 0; k < KEEP; k++) best_f[k] = INFINITY;
    static const double lo[N_THETA] = {0, 0, 0, 0, -1}, hi[N_THETA] = {25, 2, 25, 2, 1};
    long total = 1;
    for (int k = 0; k < N_THETA; k++) total *= g;
    for (long idx = 0; idx < total; idx++) {
        double start[N_THETA], t[N_THETA];
        long r = idx;
        for (int k = 0; k < N_THETA; k++, r /= g)
            start[k] = g == 1 ? 0.5 * (lo[k] + hi[k]) : lo[k] + (hi[k] - lo[k]) * (double)(r % g) / (g - 1);
        int it;
        double f = descend(p, start, t, &it);
        /* keep the KEEP best distinct minima, best first */
        int pos = KEEP;
        while (pos > 0 && f < best_f[pos - 1]) pos--;
        if (pos == KEEP) continue;
        if (pos > 0 && fabs(best_f[pos - 1] - f) < 1e-15) continue;   /* the same minimum again */
        for (int k = KEEP - 1; k > pos; k--) {
            best_f[k] = best_f[k - 1];
            memcpy(best[k], best[k - 1], sizeof best[k]);
        }
        best_f[pos] = f;
        memcpy(best[pos], t, sizeof best[pos]);
        if (pos == 0) *iterations = it;
    }
    return best_f[0];
}

int scaling_fit(const ScalingPoint *points, int n, const ScalingOptions *options, ScalingFit *out) {
    memset(out, 0, sizeof *out);
    ScalingOptions o = options ? *options : (ScalingOptions){0};
    if (o.grid <= 0) o.grid = 4;
    if (o.n_boot <= 0) o.n_boot = 200;
    if (o.delta <= 0) o.delta = 1e-3;
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
    out->distinct_N = count_distinct(logN, take, n);
    out->distinct_D = count_distinct(logD, take, n);
    int rc = OK;
    if (out->distinct_N < 3)
        rc = error_set(ERR_INPUT, "scaling fit: a law in N needs runs at 3 or more model sizes; these %d runs have %d (N = %g%s)",
                       n, out->distinct_N, n ? points[0].N : 0, out->distinct_N > 1 ? ", ..." : "");
    else if (out->distinct_D < 3)
        rc = error_set(ERR_INPUT, "scaling fit: a law in D needs runs at 3 or more token budgets; these %d runs have %d",
                       n, out->distinct_D);
    else if (n < 6)
        rc = error_set(ERR_INPUT, "scaling fit: 5 parameters need at least 6 runs; there are %d", n);
    if (rc != OK) {
        free(logs), free(take);
        return rc;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();   /* a failed step is a return code */
    Problem p = {logN, logD, logL, take, n, o.delta};
    double best[KEEP][N_THETA], best_f[KEEP];
    int it = 0;
    double f = grid_fit(&p, o.grid, best, best_f, &it);
    out->law = law_of(best[0], f, it, o.delta);
    out->boot = calloc((size_t)o.n_boot, sizeof *out->boot);
    if (!out->boot) {
        gsl_set_error_handler(old);
        free(logs), free(take);
        return error_set(ERR_FAILURE, "scaling fit: out of memory");
    }
    /* Bootstrap: resample the runs with replacement (again when a resample loses a size or
     * budget the law needs) and refit from the point fit's best minima. */
    Rng rng;
    rng_seed(&rng, o.seed ^ 0x5ca1ab1e);
    for (int b = 0; b < o.n_boot; b++) {
        do {
            for (int j = 0; j < n; j++) take[j] = (int)rng_below(&rng, (uint64_t)n);
        } while (count_distinct(logN, take, n) < 3 || count_distinct(logD, take, n) < 3);
        double t[N_THETA], bt[N_THETA], bf = INFINITY;
        memcpy(bt, best[0], sizeof bt);
        int bit = 0;
        for (int k = 0; k < KEEP && isfinite(best_f[k]); k++) {
            int kit;
            double kf = descend(&p, best[k], t, &kit);
            if (kf < bf) bf = kf, bit = kit, memcpy(bt, t, sizeof bt);
        }
        out->boot[b] = isfinite(bf) ? law_of(bt, bf, bit, o.delta)
                                    : (ScalingLaw){NAN, NAN, NAN, NAN, NAN, NAN, bit};
    }
    out->n_boot = o.n_boot;
    gsl_set_error_handler(old);
    free(logs), free(take);
    return OK;
}

void scaling_fit_free(ScalingFit *fit) {
    free(fit->boot);
    fit->boot = NULL;
    fit->n_boot = 0;
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
