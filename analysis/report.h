/* The report generator: reads the results database (read-only), applies the views of
 * analysis/views.sql, writes <out>/report.md with the paper's tables (mean ± sample std
 * over seeds, the paper's reported direction and whether this run reproduces it) and
 * draws the PNG files of <out>/plots with gnuplot from the .dat files it writes beside them. */
#ifndef ANALYSIS_REPORT_H
#define ANALYSIS_REPORT_H

typedef struct ReportOptions {
    const char *db_path;        /* results database, e.g. results/meki.db */
    const char *out_dir;        /* report.md and plots/ go here, e.g. results */
    const char *analysis_dir;   /* where views.sql and the *.gp scripts are, e.g. analysis */
    const char *gnuplot;        /* program to run; NULL means "gnuplot", "" draws no plots */
} ReportOptions;

typedef struct {
    int runs, done, failed;     /* rows of the runs table by status (failed counts diverged too) */
    int experiments;            /* experiments with at least one finished run */
    int findings;               /* paper findings measured, and by verdict (bounds: meets counts */
    int reproduced, inconclusive, contradicted;   /* as reproduced, misses as contradicted) */
    int plots, plot_failures;   /* PNG files drawn, gnuplot invocations that failed */
    int gnuplot_missing;        /* 1 when plots were wanted but gnuplot could not be run */
    char report_path[4096];
} ReportSummary;

/* OK, ERR_INPUT (missing or unreadable database, missing views.sql) or ERR_FAILURE, with
 * the message in error_message(). summary may be NULL. A failed plot is not an error:
 * it is counted and named in the report. */
int analysis_report(const ReportOptions *options, ReportSummary *summary);
#endif
