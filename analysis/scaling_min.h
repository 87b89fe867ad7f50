/* The minimisation both scaling fits share (analysis/scaling.c per kind, analysis/
 * scaling_shared.c across kinds): a Huber loss of log residuals, BFGS run to a tight stop,
 * and Hoffmann et al.'s grid of starting points. The first five parameters of every model
 * are (a, alpha, b, beta, e) of log L = LSE(a - alpha log N, b - beta log D, e). */
#ifndef ANALYSIS_SCALING_MIN_H
#define ANALYSIS_SCALING_MIN_H
#include <gsl/gsl_multimin.h>

enum { SCALING_LAW_PARAMS = 5, SCALING_MAX_PARAMS = 8, SCALING_KEEP = 4 };

/* Huber loss of residual r over delta (so the slope far out is 1 whatever delta is); its
 * derivative in *slope. */
double scaling_huber(double r, double delta, double *slope);

/* One BFGS descent of fn from start (fn->n values) into out; the minimum's objective,
 * INFINITY if it or the parameters went non-finite. */
double scaling_descend(gsl_multimin_function_fdf *fn, const double *start, double *out, int *iterations);

/* Descents from Hoffmann et al.'s grid: a, b in [0, 25], alpha, beta in [0, 2], e in
 * [-1, 1], g values each; parameters past the fifth start at 0. The SCALING_KEEP best
 * distinct minima, best first, in best[k * fn->n ...] and best_f[k] (INFINITY when fewer);
 * returns best_f[0]. */
double scaling_grid(gsl_multimin_function_fdf *fn, int g, double *best, double *best_f, int *iterations);

/* The best of descents from the first `count` finite minima of best (best first, fn->n
 * values each) into out: a bootstrap refit. Its objective, INFINITY if none was finite. */
double scaling_refit(gsl_multimin_function_fdf *fn, const double *best, const double *best_f, int count, double *out,
                     int *iterations);

/* The runs i in [from, to) that the resample take[from..to) left out: their log residuals
 * residual(ctx, i) appended to out; returns how many. Out-of-bag residuals are honest
 * prediction errors, where the fit's own residuals are shrunk by the fit (a least-absolute
 * fit passes through some runs exactly). */
int scaling_out_of_bag(const int *take, int from, int to, double (*residual)(const void *ctx, int i), const void *ctx,
                       double *out);

/* Inserts minimum t (objective f) into the SCALING_KEEP best, best first, unless it is worse
 * than all of them or the same minimum as its better neighbour. */
void scaling_keep(double *best, double *best_f, size_t dim, const double *t, double f);

/* Whether the runs take[0..n) all have about one ratio D / N (within 5%, as budgets rounded
 * up to whole steps do): then N and D move together and no law can separate their terms. */
int scaling_one_ratio(const double *logN, const double *logD, const int *take, int n);

/* How many distinct values v[take[j]] has over j < n. */
int scaling_count_distinct(const double *v, const int *take, int n);
#endif
