/* What the scaling-law section's two files share: analysis/scaling_report.c (per-kind laws,
 * effective parameters, extrapolation, plots) and analysis/scaling_shared_report.c (one law
 * for dense and a memory kind). */
#ifndef ANALYSIS_SCALING_REPORT_H
#define ANALYSIS_SCALING_REPORT_H
#include "analysis/analysis.h"
#include "analysis/scaling.h"
#include <stddef.h>

enum { MAX_KINDS = 8, N_BOOT = 200 };

typedef struct {
    char kind[32];
    ScalingPoint *points;
    double *rom;                /* ROM weights of each run (MeKi's folded table), beside N */
    int n, capacity;
    ScalingFit fit;
    int fitted;
    char why[256];              /* why it was not fitted */
    SharedFit shared;           /* with dense, for a memory kind */
    int shared_fitted;
    char shared_why[256];
} KindRuns;

/* The paper's models: RAM parameters N, training tokens D, average zero-shot accuracy of
 * dense and MeKi, and the multiplier bracket (1 to hi) those accuracies imply. */
typedef struct {
    const char *name;
    double N, D;
    double dense_acc, meki_acc;
    const char *bracket;
    double hi;
} PaperModel;
extern const PaperModel SCALING_PAPER[];
extern const int SCALING_N_PAPER;

enum { OF_N, OF_D, OF_RATIO };
/* Distinct values of the runs' N, D or D / N (rounded to a readable ratio), at most max, ascending. */
int scaling_distinct(double *out, int max, const ScalingPoint *p, int n, int of);
/* A kind's runs as a table's grid: rows its sizes N, columns its budgets, as tokens per
 * parameter when they scale with size (fewer distinct ratios than budgets), else as D. */
enum { SCALING_MAX_COLS = 16 };
typedef struct {
    double N[SCALING_MAX_COLS], cols[SCALING_MAX_COLS];
    int nN, ncols, by_ratio;
} ScalingGrid;
int scaling_table_grid(const KindRuns *m, ScalingGrid *g);
void scaling_table_head(Report *r, const ScalingGrid *g);   /* "| N \ ... |" and the rule */
double scaling_table_D(const ScalingGrid *g, int i, int j);   /* the tokens of cell (N[i], column j) */
/* From N0 up in steps of 10^0.05 to 10^11.5, the first N whose interval (at D = 20 N) includes
 * null, NAN if none; *step counts the steps taken (0: at N0 already). */
double scaling_fade(double N0, void (*interval)(const void *ctx, double N, double *lo, double *hi), const void *ctx,
                    double null, int *step);
/* Log residuals log(L / predicted) of a kind's runs (malloc'd, kr->n of them; NULL when out of memory). */
double *scaling_residuals(const KindRuns *kr, double (*predict)(const void *ctx, double N, double D), const void *ctx);
/* "v [lo, hi]" to digits significant digits; digits < 0: as a multiplier (∞, –, 2 decimals). */
void scaling_fmt_range(char *out, size_t size, double v, double lo, double hi, int digits);
/* A gain interval (dense - the memory kind) read: "ahead", "behind" or "not resolved". */
const char *scaling_gain_reading(double lo, double hi);

/* The shared law's paragraph, and its multiplier curve as one more block of the multiplier
 * plot's data (returns 1 when it wrote one). */
void scaling_write_shared(Report *r, const KindRuns *dense, const KindRuns *m);
int scaling_shared_plot_block(FILE *h, const KindRuns *m, int first);
#endif
