/* The shared law of a dense and a memory kind (analysis/scaling.h): the per-kind fit's
 * method (Huber loss of log residuals, tight BFGS, Hoffmann's start grid, bootstrap over
 * runs) with three more parameters, the memory kind's log multiplier and its slopes. */
#include "analysis/scaling.h"
#include "analysis/scaling_min.h"
#include "util/error.h"
#include "util/rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* theta = (a, alpha, b, beta, e, mu, gamma, kappa) */
enum { P_A, P_ALPHA, P_B, P_BETA, P_E, P_MU, P_GAMMA, P_KAPPA, N_THETA };

typedef struct {
    const double *logN, *logD, *logL;
    int n_dense;                /* points [0, n_dense) are dense, the rest the memory kind's */
    const int *take;
    int n;
    double cN, cD, delta;
} Problem;

/* log L = LSE(a - alpha (log N + s lam), b - beta log D, e), s = 1 for memory runs. */
static void objective(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
    const Problem *p = params;
    double t[N_THETA] = {0};    /* 5 values: the pooled law, every run counted as dense */
    for (size_t k = 0; k < x->size; k++) t[k] = gsl_vector_get(x, k);
    double sum = 0, grad[N_THETA] = {0};
    for (int j = 0; j < p->n; j++) {
        int i = p->take[j], memory = i >= p->n_dense;
        double dN = p->logN[i] - p->cN, dD = p->logD[i] - p->cD;
        double xN = p->logN[i] + (memory ? t[P_MU] + t[P_GAMMA] * dN + t[P_KAPPA] * dD : 0);
        double u = t[P_A] - t[P_ALPHA] * xN, v = t[P_B] - t[P_BETA] * p->logD[i], w = t[P_E];
        double m = fmax(u, fmax(v, w));
        double eu = exp(u - m), ev = exp(v - m), ew = exp(w - m), s = eu + ev + ew;
        double r = m + log(s) - p->logL[i], slope;
        sum += scaling_huber(r, p->delta, &slope);
        if (!g) continue;
        double wu = slope * eu / s, wv = slope * ev / s;
        grad[P_A] += wu;
        grad[P_ALPHA] -= wu * xN;
        grad[P_B] += wv;
        grad[P_BETA] -= wv * p->logD[i];
        grad[P_E] += slope * ew / s;
        if (memory && g->size == N_THETA) {
            grad[P_MU] -= wu * t[P_ALPHA];
            grad[P_GAMMA] -= wu * t[P_ALPHA] * dN;
            grad[P_KAPPA] -= wu * t[P_ALPHA] * dD;
        }
    }
    if (f) *f = sum / p->n;
    if (g)
        for (size_t k = 0; k < g->size; k++) gsl_vector_set(g, k, grad[k] / p->n);
}

static double obj_f(const gsl_vector *x, void *p) {
    double f;
    objective(x, p, &f, NULL);
    return f;
}
static void obj_df(const gsl_vector *x, void *p, gsl_vector *g) { objective(x, p, NULL, g); }
static void obj_fdf(const gsl_vector *x, void *p, double *f, gsl_vector *g) { objective(x, p, f, g); }

static SharedLaw law_of(const double t[N_THETA], double f, int iterations, const Problem *p) {
    SharedLaw l = {{exp(t[P_E]), exp(t[P_A]), t[P_ALPHA], exp(t[P_B]), t[P_BETA], f * p->delta, iterations},
                   t[P_MU], t[P_GAMMA], t[P_KAPPA], p->cN, p->cD};
    return l;
}

typedef struct {
    const SharedLaw *law;
    const Problem *p;
} Residual;

static double residual(const void *ctx, int i) {
    const Residual *r = ctx;
    const Problem *p = r->p;
    return p->logL[i] - log(scaling_shared_predict(r->law, exp(p->logN[i]), exp(p->logD[i]), i >= p->n_dense));
}

/* Draws n_dense of the dense runs and n - n_dense of the memory runs, each with replacement. */
static void resample(Rng *rng, int *take, int n_dense, int n) {
    for (int j = 0; j < n; j++)
        take[j] = j < n_dense ? (int)rng_below(rng, (uint64_t)n_dense)
                              : n_dense + (int)rng_below(rng, (uint64_t)(n - n_dense));
}

/* Whether the runs take[0..n) can determine the law: dense over 3+ sizes and budgets, the
 * memory kind over 2+ of each. */
static int enough(const Problem *p, const int *take, int n_dense, int n) {
    return scaling_count_distinct(p->logN, take, n_dense) >= 3 && scaling_count_distinct(p->logD, take, n_dense) >= 3 &&
           !scaling_one_ratio(p->logN, p->logD, take, n_dense) &&
           scaling_count_distinct(p->logN, take + n_dense, n - n_dense) >= 2 &&
           scaling_count_distinct(p->logD, take + n_dense, n - n_dense) >= 2;
}

int scaling_fit_shared(const ScalingPoint *dense, int n_dense, const ScalingPoint *memory, int n_memory,
                       const ScalingOptions *options, SharedFit *out) {
    memset(out, 0, sizeof *out);
    ScalingOptions o = scaling_options(options);
    int n = n_dense + n_memory;
    for (int i = 0; i < n; i++) {
        const ScalingPoint *q = i < n_dense ? &dense[i] : &memory[i - n_dense];
        if (!(q->N > 0 && q->D > 0 && q->L > 0) || !isfinite(q->N) || !isfinite(q->D) || !isfinite(q->L))
            return error_set(ERR_INPUT, "shared scaling fit: %s run %d has N %g, D %g, loss %g; each must be positive and finite",
                             i < n_dense ? "dense" : "memory", i < n_dense ? i + 1 : i - n_dense + 1, q->N, q->D, q->L);
    }
    double *logs = malloc(sizeof(double) * 3 * (size_t)(n > 0 ? n : 1));
    int *take = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!logs || !take) {
        free(logs), free(take);
        return error_set(ERR_FAILURE, "shared scaling fit: out of memory");
    }
    Problem p = {logs, logs + n, logs + 2 * n, n_dense, take, n, 0, 0, o.delta};
    for (int i = 0; i < n; i++) {
        const ScalingPoint *q = i < n_dense ? &dense[i] : &memory[i - n_dense];
        logs[i] = log(q->N), logs[n + i] = log(q->D), logs[2 * n + i] = log(q->L);
        take[i] = i;
        if (i >= n_dense) p.cN += logs[i] / n_memory, p.cD += logs[n + i] / n_memory;
    }
    int dN = scaling_count_distinct(p.logN, take, n_dense), dD = scaling_count_distinct(p.logD, take, n_dense);
    out->distinct_N = scaling_count_distinct(p.logN, take + n_dense, n_memory);
    out->distinct_D = scaling_count_distinct(p.logD, take + n_dense, n_memory);
    int rc = OK;
    if (dN < 3 || dD < 3)
        rc = error_set(ERR_INPUT, "shared scaling fit: the dense law needs runs at 3 or more model sizes and 3 or more "
                                  "budgets; the dense runs have %d and %d", dN, dD);
    else if (scaling_one_ratio(p.logN, p.logD, take, n_dense))
        rc = error_set(ERR_INPUT, "shared scaling fit: every dense run has about %.3g tokens per parameter, so N and D "
                                  "move together and no law can separate their terms; add budgets at other ratios",
                       dense[0].D / dense[0].N);
    else if (out->distinct_N < 2 || out->distinct_D < 2)
        rc = error_set(ERR_INPUT, "shared scaling fit: the multiplier's slopes need memory runs at 2 or more model sizes "
                                  "and 2 or more budgets; they have %d and %d", out->distinct_N, out->distinct_D);
    else if (n < N_THETA + 1)
        rc = error_set(ERR_INPUT, "shared scaling fit: %d parameters need at least %d runs; there are %d", N_THETA,
                       N_THETA + 1, n);
    if (rc != OK) {
        free(logs), free(take);
        return rc;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();   /* a failed step is a return code */
    /* Hoffmann's grid on the pooled law (5 parameters, cheap), then the shared law from its
     * best minima at m = 1/e, 1 and e: the 8-parameter descent from the grid's far corners
     * crawls for no better minimum. */
    gsl_multimin_function_fdf pooled = {obj_f, obj_df, obj_fdf, SCALING_LAW_PARAMS, &p};
    gsl_multimin_function_fdf fn = {obj_f, obj_df, obj_fdf, N_THETA, &p};
    enum { KEEP = SCALING_KEEP };
    double seeds[KEEP][SCALING_LAW_PARAMS], seeds_f[KEEP], best[KEEP][N_THETA], best_f[KEEP], t[N_THETA];
    int it = 0;
    scaling_grid(&pooled, o.grid, seeds[0], seeds_f, &it);
    for (int k = 0; k < KEEP; k++) best_f[k] = INFINITY;
    for (int k = 0; k < KEEP && isfinite(seeds_f[k]); k++)
        for (int mu = -1; mu <= 1; mu++) {
            double start[N_THETA] = {0};
            memcpy(start, seeds[k], sizeof seeds[k]);
            start[P_MU] = mu;
            int kit;
            double f = scaling_descend(&fn, start, t, &kit);
            if (f < best_f[0]) it = kit;
            scaling_keep(best[0], best_f, N_THETA, t, f);
        }
    if (!isfinite(best_f[0])) {
        gsl_set_error_handler(old);
        free(logs), free(take);
        return error_set(ERR_FAILURE, "shared scaling fit: no descent reached a finite minimum");
    }
    out->law = law_of(best[0], best_f[0], it, &p);
    out->boot = calloc((size_t)o.n_boot, sizeof *out->boot);
    out->oob[0] = malloc(sizeof(double) * (size_t)o.n_boot * (size_t)(n_dense ? n_dense : 1));
    out->oob[1] = malloc(sizeof(double) * (size_t)o.n_boot * (size_t)(n_memory ? n_memory : 1));
    if (!out->boot || !out->oob[0] || !out->oob[1]) {
        gsl_set_error_handler(old);
        free(logs), free(take);
        scaling_shared_free(out);
        return error_set(ERR_FAILURE, "shared scaling fit: out of memory");
    }
    Rng rng;
    rng_seed(&rng, o.seed ^ 0x5ca1ab1e);
    for (int b = 0; b < o.n_boot; b++) {
        do resample(&rng, take, n_dense, n);
        while (!enough(&p, take, n_dense, n));
        double bt[N_THETA];
        int bit;
        double bf = scaling_refit(&fn, best[0], best_f, 2, bt, &bit);   /* the two best: 8-parameter descents are dear */
        if (isfinite(bf)) {
            out->boot[b] = law_of(bt, bf, bit, &p);
            Residual res = {&out->boot[b], &p};
            out->n_oob[0] += scaling_out_of_bag(take, 0, n_dense, residual, &res, out->oob[0] + out->n_oob[0]);
            out->n_oob[1] += scaling_out_of_bag(take, n_dense, n, residual, &res, out->oob[1] + out->n_oob[1]);
        } else out->boot[b] = (SharedLaw){{NAN, NAN, NAN, NAN, NAN, NAN, bit}, NAN, NAN, NAN, p.cN, p.cD};
    }
    out->n_boot = o.n_boot;
    gsl_set_error_handler(old);
    free(logs), free(take);
    return OK;
}

void scaling_shared_free(SharedFit *fit) {
    free(fit->boot), free(fit->oob[0]), free(fit->oob[1]);
    fit->boot = NULL, fit->oob[0] = fit->oob[1] = NULL;
    fit->n_boot = fit->n_oob[0] = fit->n_oob[1] = 0;
}

double scaling_shared_multiplier(const SharedLaw *l, double N, double D) {
    return exp(l->mu + l->gamma * (log(N) - l->cN) + l->kappa * (log(D) - l->cD));
}

double scaling_shared_predict(const SharedLaw *l, double N, double D, int memory) {
    return scaling_predict(&l->law, memory ? N * scaling_shared_multiplier(l, N, D) : N, D);
}
