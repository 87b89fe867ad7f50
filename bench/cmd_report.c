/* ./meki report: results/report.md and plots from the results database. */
#include "analysis/report.h"
#include "bench/args.h"
#include "bench/commands.h"
#include "util/error.h"
#include "util/fileio.h"
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The analysis folder sits beside the meki binary (the repository root), so the report
 * works from any working directory; ./analysis is the fallback. */
static void default_analysis_dir(char *out, size_t size) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        snprintf(out, size, "%s/analysis", dirname(exe));
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/views.sql", out);
        if (file_exists(probe)) return;
    }
    snprintf(out, size, "analysis");
}

int cmd_report(int argc, char **argv) {
    const char *db = "results/meki.db", *out = "results", *analysis = NULL, *gnuplot = "gnuplot";
    int no_plots = 0;
    ArgSpec specs[] = {
        {"--db", ARG_STRING, &db, "results database to read (default results/meki.db); opened read-only", 0, 0},
        {"--out", ARG_STRING, &out, "folder for report.md and plots/ (default results)", 0, 0},
        {"--analysis", ARG_STRING, &analysis, "folder of views.sql and the gnuplot scripts (default: beside ./meki)", 0, 0},
        {"--gnuplot", ARG_STRING, &gnuplot, "gnuplot program (default gnuplot)", 0, 0},
        {"--no-plots", ARG_FLAG, &no_plots, "write report.md without drawing plots", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "[--db results/meki.db] [--out results] [--no-plots]");
    if (rc) return rc == 1 ? 0 : rc;
    if (args_check_in_file("report", "--db", db) || args_check_out_dir("report", "--out", out)) return 2;
    char analysis_dir[4096];
    if (analysis) snprintf(analysis_dir, sizeof analysis_dir, "%s", analysis);
    else default_analysis_dir(analysis_dir, sizeof analysis_dir);
    ReportOptions options = {db, out, analysis_dir, no_plots ? "" : gnuplot};
    ReportSummary s;
    if ((rc = analysis_report(&options, &s))) {
        fprintf(stderr, "meki report: %s\n", error_message());
        return rc;
    }
    printf("wrote %s: %d runs (%d done, %d failed or diverged), %d experiments with results, %d findings "
           "measured: %d reproduced or met, %d inconclusive, %d contradicted or missed, %d plots\n", s.report_path,
           s.runs, s.done, s.failed, s.experiments, s.findings, s.reproduced, s.inconclusive, s.contradicted, s.plots);
    if (s.gnuplot_missing) fprintf(stderr, "meki report: warning: gnuplot could not be run; no plots drawn\n");
    if (s.plot_failures) fprintf(stderr, "meki report: warning: %d plot(s) failed, see %s/plots/gnuplot.log\n",
                                 s.plot_failures, out);
    return 0;
}
