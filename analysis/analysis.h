/* Internals of the report generator shared by the analysis/ sources: the report's state, queries
 * over the views, statistics, findings (paper claim vs this run) and plots. */
#ifndef ANALYSIS_ANALYSIS_H
#define ANALYSIS_ANALYSIS_H
#include "analysis/verdict.h"
#include "runner/store.h"
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

struct ReportOptions;   /* analysis/report.h, which includes nothing of this file */

/* n measured runs, their mean and sample standard deviation (NAN below two runs). */
typedef struct {
    int n;
    double mean, std;
} Stat;

/* A condition "column = value" on the run_figures view; columns come from code, never
 * from the database, and values are bound as parameters. */
typedef struct {
    const char *column, *value;
} Cond;

typedef struct {
    char **items;
    int count, capacity;
} TextList;

/* The runs behind one side of a comparison, by status: every run counts, so that a run
 * that failed, diverged or measured NaN (stored as NULL) is seen, not silently dropped.
 * planned: seeds per variant x variants (experiment_plans), -1 when not recorded. */
typedef struct {
    int counted;                /* 0: not counted (a view without run states) */
    int planned, done, failed, diverged, running, no_value;
} RunCounts;

/* Values of one figure, each with the seed of the run that measured it (for pairing). */
typedef struct {
    double *x;
    uint64_t *seed;
    int count, capacity;
    RunCounts runs;             /* query_values fills it */
} Values;

/* One of the paper's findings checked against this run: the claim, this run's numbers,
 * the difference with its 95% interval (analysis/verdict.c) and the three-way verdict.
 * bound: a claim against a fixed bound (meets / inconclusive / misses). */
typedef struct {
    char section[24], claim[160], paper[96], ours[200];
    char difference[96], interval[96], effect[64], sides[64], test[64];
    char runs[160];             /* runs planned / done / failed / diverged / NaN on each side ("" unknown) */
    int runs_missing;           /* a planned run is not among the values: the verdict says so */
    int bound;
    Verdict verdict;            /* from the finding's own 95% interval */
    double p;                   /* its two-sided p (NAN: no test, left out of Holm's family) */
    double p_adjusted;          /* Holm-adjusted over the report's findings (report.c) */
    Verdict verdict_adjusted;   /* verdict after Holm's adjustment */
    int seeds_needed;           /* for an inconclusive finding: seeds per side for 80% power (-1 unknown,
                                 * -2 a fit, -3 no spread observed) */
} Finding;
typedef struct {
    Store *store;               /* the results database, read-only */
    const struct ReportOptions *options;
    char plots_dir[4096];
    FILE *body;                 /* the sections, written before the summary that heads them */
    char *body_text;
    size_t body_size;
    Finding *findings;
    int n_findings, capacity;
    int family;                 /* findings with a p value: Holm's family (report.c) */
    int has_plans;              /* the database has the experiment_plans table */
    int has_items;              /* ... and the item_scores table */
    int gnuplot_state;          /* 1 usable, 0 missing, -1 not tried yet */
    int plots, plot_failures;
    int paper_sections;         /* paper experiments with a section (any run in the database) */
    char absent[256];           /* the paper experiments with no run, for one line in the summary */
} Report;

/* The order variants are listed in, over the "variants" table aliased v: smaller models
 * first, the dense baseline before the memory variants, narrower memory first, then smaller
 * budgets (numerically: the variant label would sort 10 before 2.5). */
#define VARIANT_ORDER "v.d_model, v.n_layers, v.memory_kind != 'none', v.memory_kind, v.d_mem, v.train_tokens, v.variant"

/* query.c: every function returns OK or ERR_FAILURE with the SQLite message set. Statements
 * go through the store (store_prepare, store_step, store_finish in runner/store.h). */
int db_open_readonly(Report *r, const char *path);
int db_apply_views(Report *r, const char *analysis_dir);
/* Opens the read transaction of the whole report and fills the temp tables "figures",
 * "figure_values", "variants" and "variant_stats" (snapshots of the views run_figures,
 * run_values, variant_summary and variant_values). */
int db_snapshot(Report *r);
/* Column 0 of every row of sql (NULLs skipped) into list. */
int query_texts(Report *r, const char *sql, const char *const *params, int n_params, TextList *list);
/* One number (column 0 of the first row; NAN when no row or NULL). */
int query_number(Report *r, const char *sql, const char *const *params, int n_params, double *value);
/* Non-NULL values of a metric (by name, in figure_values) for the experiment's runs meeting
 * conds, with each run's seed; the _in forms read a column of another view (lens_kl,
 * dtype_figures), which must have a seed column too. */
int query_values(Report *r, const char *metric, const char *experiment, const Cond *conds, int n_conds,
                 Values *values);
int query_values_in(Report *r, const char *view, const char *column, const char *experiment, const Cond *conds,
                    int n_conds, Values *values);
int query_stat_in(Report *r, const char *view, const char *column, const char *experiment, const Cond *conds,
                  int n_conds, Stat *stat);
int query_stat(Report *r, const char *metric, const char *experiment, const Cond *conds, int n_conds,
               Stat *stat);
/* A metric's n, mean and std over the seeds of one variant (variant_stats); n 0 if absent. */
int query_variant_stat(Report *r, const char *experiment, const char *variant, const char *metric, Stat *stat);
/* The experiment's scales, smallest model first. */
int query_scales(Report *r, const char *experiment, TextList *scales);
void text_list_add(TextList *list, const char *text);
void text_list_free(TextList *list);
void values_add(Values *values, double x, uint64_t seed);
void values_free(Values *values);

/* stats.c */
Stat stat_of(const double *x, int n);
typedef struct {
    int n;
    double intercept, slope, r2;
    double residual_std;        /* sqrt(SSE / (n - 2)), NAN below three points */
    double slope_se;            /* standard error of the slope, NAN below three points */
} LineFit;
LineFit fit_line(const double *x, const double *y, int n);   /* least squares y = a + b x */
/* Lack-of-fit F test of a line against the means at each distinct x: p NAN when it cannot
 * be tested (fewer than 3 distinct x, no x with two points, or no spread among them). */
typedef struct {
    int df_lack, df_pure;
    double f, p;
} LackOfFit;
LackOfFit lack_of_fit(const double *x, const double *y, int n, LineFit fit);
/* Two-sided p of "slope = 0" (t with n - 2 degrees of freedom); NAN below three points. */
double fit_slope_p(LineFit fit);
/* The claim "a beats b" where lower (or higher) is better, from per-seed values (paired by
 * seed when both sides ran the same seeds, else Welch): fills f's numbers and verdict.
 * scale multiplies values for display (100 for percent). */
void finding_compare(Finding *f, const char *a_name, const Values *a, const char *b_name, const Values *b,
                     int lower_is_better, const char *unit, int digits, double scale);
/* The claim "s stays at or above (below) bound": meets / inconclusive / misses. */
void finding_bound(Finding *f, const char *name, const Values *s, double bound, int above_is_good, const char *unit,
                   int digits, double scale);
/* The numbers of a comparison into f's text fields (difference, interval, effect, sides, test). */
void finding_numbers(Finding *f, Comparison c, const char *unit, int digits, double scale);
/* "MeKi: 3 of 3 planned done" or "dense: 2 of 3 planned done, 1 diverged"; returns 1 when
 * a run is missing from the values. */
int format_runs(char *out, size_t size, const char *name, const Values *v);
/* "9.8× seed std", "12× seed std", "> 1000× seed std" (noise names the unit). */
void format_effect(char *out, size_t size, double effect, const char *noise);
Sample sample_of(const Values *v);
/* A 95% interval of the slope of fit (t with n - 2 degrees of freedom): NAN below three points. */
void fit_slope_interval(LineFit fit, double *lo, double *hi);
/* "4.2686 ± 0.0160", "4.2686 (n=1)" or "–" when nothing was measured. */
char *format_stat(char *out, size_t size, Stat s, int digits, double scale);
char *format_count(char *out, size_t size, double value);   /* 1234567 -> "1.23M" */
char *format_bytes(char *out, size_t size, double bytes);    /* 262144 -> "256 KiB" */

/* report_util.c: helpers the sections share (report.c only dispatches). */
Finding *report_add_finding(Report *r, const char *section, const char *claim, const char *paper);
/* Legends: "model.preset=small memory.kind=none train.lr=0.003" -> "small dense lr=0.003":
 * every swept value, the memory kind and preset bare, the others with their key. */
void short_label(char *out, size_t size, const char *variant);
void sanitize_name(char *out, size_t size, const char *text);   /* for file names */
#define MAX_AXES 12
/* The swept axes of an experiment: the keys of its variant labels ("a.b=v c.d=w"), in
 * order of first appearance. */
void label_axes(const TextList *variants, TextList *axes);
/* The value of axis key in a label, or "" (the label does not name it). */
void label_value(char *out, size_t size, const char *variant, const char *key);

/* sections.c: the paper's tables. Each returns OK or an error (SQLite). */
int section_table1(Report *r);
int section_table2(Report *r);
int section_ablation(Report *r, const char *experiment);     /* table3, table4, fig5, projector, layers */
int section_generic(Report *r, const char *experiment);      /* any experiment: per-variant figures */
/* baseline.c: every variant against the experiment's baseline ([analysis] baseline, else
 * the dense variant, else the first value of the first axis), Holm over the experiment. */
int section_baseline(Report *r, const char *experiment);
/* zeroshot.c: accuracy per zero-shot task and variant, its interval with items as the unit. */
int section_zero_shot(Report *r, const char *experiment);
/* Mean of x with its 95% t interval over the n units (NAN below 2 units or without spread). */
void mean_interval(const double *x, int n, double *mean, double *low, double *high);

/* figures.c: sections built around a plot. */
int section_fig6(Report *r);
int section_fig7(Report *r);
int section_quant(Report *r);

/* recipe.c: the harness's own checks of the main claim (experiments/recipe.ini, budget.ini). */
int section_recipe(Report *r);
int section_budget(Report *r);
/* A scaling law per memory kind when the experiment's runs span 3+ sizes and 3+ budgets
 * (analysis/scaling_report.c); with always, a line saying why not otherwise. */
int section_scaling(Report *r, const char *experiment, int always);

/* plots.c: .dat files and gnuplot. Each writes a markdown image line into the body when
 * the PNG was drawn, a note when it was not. Plot failures are not errors. */
int plot_curves(Report *r, const char *experiment);
int plot_decode(Report *r, const char *experiment);
/* Folded / dense decode speed against the model preset (parity_figures), one line per RAM
 * weights dtype and table dtype measured; nothing when the experiment has no such figure. */
int plot_parity(Report *r, const char *experiment);
/* Runs analysis_dir/script with the -e assignments; returns 1 when output was drawn. */
int plot_run(Report *r, const char *script, const char *assignments, const char *png_path);
/* gnuplot string literal: single-quoted, quotes doubled. */
void gnuplot_quote(char *out, size_t size, const char *text);
void plot_embed(Report *r, const char *png_name, const char *caption, int drawn);
/* plots/<name>.dat for writing (NULL with the message set), and its checked close. */
FILE *plot_data_open(Report *r, const char *name);
int plot_data_close(Report *r, FILE *f, const char *name);
/* Draws plots/<name>.png from <name>.dat with script (extra: more "-e" assignments) and
 * embeds it in the body with title as caption. */
int plot_draw(Report *r, const char *script, const char *name, const char *title, const char *extra);
#endif
