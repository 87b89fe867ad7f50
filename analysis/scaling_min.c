#include "analysis/scaling_min.h"
#include <math.h>
#include <string.h>

double scaling_huber(double r, double delta, double *slope) {
    if (fabs(r) <= delta) {
        *slope = r / delta;
        return 0.5 * r * r / delta;
    }
    *slope = r > 0 ? 1 : -1;
    return fabs(r) - 0.5 * delta;
}

/* Run to a gradient norm of 1e-10, or until 100 iterations gain less than 1e-10 relative: a
 * loose stop leaves the fit where the line search gave up, which is what narrowed the
 * original Chinchilla intervals. */
double scaling_descend(gsl_multimin_function_fdf *fn, const double *start, double *out, int *iterations) {
    size_t dim = fn->n;
    gsl_vector *x = gsl_vector_alloc(dim);
    gsl_multimin_fdfminimizer *m = x ? gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, dim) : NULL;
    if (!m) {
        if (x) gsl_vector_free(x);
        *iterations = 0;
        return INFINITY;
    }
    for (size_t k = 0; k < dim; k++) gsl_vector_set(x, k, start[k]);
    gsl_multimin_fdfminimizer_set(m, fn, x, 0.1, 0.1);
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
    for (size_t k = 0; k < dim; k++) out[k] = gsl_vector_get(m->x, k);
    gsl_multimin_fdfminimizer_free(m);
    gsl_vector_free(x);
    *iterations = it;
    for (size_t k = 0; k < dim; k++)
        if (!isfinite(out[k])) return INFINITY;
    return isfinite(f) ? f : INFINITY;
}

double scaling_grid(gsl_multimin_function_fdf *fn, int g, double *best, double *best_f, int *iterations) {
    enum { KEEP = SCALING_KEEP };
    size_t dim = fn->n;
    for (int k = 0; k < KEEP; k++) best_f[k] = INFINITY;
    if (dim < SCALING_LAW_PARAMS || dim > SCALING_MAX_PARAMS) return INFINITY;
    static const double lo[SCALING_LAW_PARAMS] = {0, 0, 0, 0, -1}, hi[SCALING_LAW_PARAMS] = {25, 2, 25, 2, 1};
    long total = 1;
    for (int k = 0; k < SCALING_LAW_PARAMS; k++) total *= g;
    for (long idx = 0; idx < total; idx++) {
        double start[SCALING_MAX_PARAMS] = {0}, t[SCALING_MAX_PARAMS];
        long r = idx;
        for (int k = 0; k < SCALING_LAW_PARAMS; k++, r /= g)
            start[k] = g == 1 ? 0.5 * (lo[k] + hi[k]) : lo[k] + (hi[k] - lo[k]) * (double)(r % g) / (g - 1);
        int it;
        double f = scaling_descend(fn, start, t, &it);
        if (f < best_f[0]) *iterations = it;
        scaling_keep(best, best_f, dim, t, f);
    }
    return best_f[0];
}

double scaling_refit(gsl_multimin_function_fdf *fn, const double *best, const double *best_f, int count, double *out,
                     int *iterations) {
    size_t dim = fn->n;
    double t[SCALING_MAX_PARAMS], f = INFINITY;
    memcpy(out, best, sizeof(double) * dim);
    *iterations = 0;
    for (int k = 0; k < count && isfinite(best_f[k]); k++) {
        int it;
        double kf = scaling_descend(fn, best + k * dim, t, &it);
        if (kf < f) f = kf, *iterations = it, memcpy(out, t, sizeof(double) * dim);
    }
    return f;
}

int scaling_out_of_bag(const int *take, int from, int to, double (*residual)(const void *ctx, int i), const void *ctx,
                       double *out) {
    int count = 0;
    for (int i = from; i < to; i++) {
        int in = 0;
        for (int j = from; j < to && !in; j++) in = take[j] == i;
        if (!in) out[count++] = residual(ctx, i);
    }
    return count;
}

void scaling_keep(double *best, double *best_f, size_t dim, const double *t, double f) {
    enum { KEEP = SCALING_KEEP };
    int pos = KEEP;
    while (pos > 0 && f < best_f[pos - 1]) pos--;
    if (pos == KEEP) return;
    if (pos > 0 && fabs(best_f[pos - 1] - f) < 1e-15) return;   /* the same minimum again */
    for (int k = KEEP - 1; k > pos; k--) {
        best_f[k] = best_f[k - 1];
        memcpy(best + k * dim, best + (k - 1) * dim, sizeof(double) * dim);
    }
    best_f[pos] = f;
    memcpy(best + pos * dim, t, sizeof(double) * dim);
}

int scaling_one_ratio(const double *logN, const double *logD, const int *take, int n) {
    for (int j = 1; j < n; j++)
        if (fabs((logD[take[j]] - logN[take[j]]) - (logD[take[0]] - logN[take[0]])) > log(1.05)) return 0;
    return 1;
}

int scaling_count_distinct(const double *v, const int *take, int n) {
    int distinct = 0;
    for (int j = 0; j < n; j++) {
        int seen = 0;
        for (int k = 0; k < j && !seen; k++) seen = v[take[k]] == v[take[j]];
        distinct += !seen;
    }
    return distinct;
}
