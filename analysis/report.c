/* The report: a header describing where the runs came from, a summary of the paper's
 * findings against this run, then one section per experiment in the paper's order. */
#include "analysis/analysis.h"
#include "util/progress.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name, *title;
    int curves, decode;         /* draw loss curves and decode bars (not where a figure says more) */
} KnownExperiment;

/* The paper's tables and figures, in the paper's order; experiment names are the INI files'. */
static const KnownExperiment KNOWN[] = {
    {"table1", "Table 1: dense vs MeKi at three scales", 1, 1},
    {"table2", "Table 2: MeKi vs PLE vs Engram at the same ROM budget", 1, 1},
    {"table3", "Table 3: memory type (static, dynamic, both)", 1, 1},
    {"table4", "Table 4: position of the MeKi module", 1, 1},
    {"fig5", "Figure 5: fusion of expert vector and gate", 1, 1},
    {"fig6", "Figure 6: memory width vs ROM weights", 0, 0},
    {"projector", "Projector: SwiGLU vs linear", 1, 1},
    {"fig7", "Figure 7: logit lens", 0, 0},   /* its runs are Table 1's: their curves are there */
    {"layers", "Which layers carry memory", 1, 1},
    {"quant", "ROM table dtype: perplexity, bytes, decode speed", 0, 1},
};
#define N_KNOWN ((int)(sizeof KNOWN / sizeof KNOWN[0]))

static const char *verdict_text(const Finding *f) {
    return f->verdict < 0 ? "not measured" : f->verdict ? "**reproduced**" : "**not reproduced**";
}

/* The findings added since index first, as one table. */
static void write_findings(FILE *out, const Report *r, int first) {
    if (first >= r->n_findings) return;
    fprintf(out, "| paper's finding | paper | this run | gap | gap / seed std | verdict |\n|---|---|---|---|---|---|\n");
    for (int i = first; i < r->n_findings; i++) {
        const Finding *f = &r->findings[i];
        fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", f->claim, f->paper, f->ours, f->gap, f->noise,
                verdict_text(f));
    }
    fprintf(out, "\n");
}

/* Run counts of one experiment by status: done, failed or diverged, running. */
static int experiment_counts(Report *r, const char *experiment, double counts[3]) {
    static const char *const sql[] = {
        "SELECT count(*) FROM run_membership m JOIN runs r ON r.hash = m.hash WHERE m.experiment = ?1 AND r.status = 'done'",
        "SELECT count(*) FROM run_membership m JOIN runs r ON r.hash = m.hash WHERE m.experiment = ?1 "
        "AND r.status IN ('failed', 'diverged')",
        "SELECT count(*) FROM run_membership m JOIN runs r ON r.hash = m.hash WHERE m.experiment = ?1 AND r.status = 'running'",
    };
    for (int i = 0; i < 3; i++) {
        int rc = query_number(r, sql[i], &experiment, 1, &counts[i]);
        if (rc) return rc;
    }
    return OK;
}

static int known_section(Report *r, const char *name) {
    if (!strcmp(name, "table1")) return section_table1(r);
    if (!strcmp(name, "table2")) return section_table2(r);
    if (!strcmp(name, "fig6")) return section_fig6(r);
    if (!strcmp(name, "fig7")) return section_fig7(r);
    if (!strcmp(name, "quant")) return section_quant(r);
    return section_ablation(r, name);
}

/* One experiment: its table, findings, plots and the per-variant figures; or why not. */
static int write_experiment(Report *r, const char *name, const char *title, const KnownExperiment *known,
                            int *present) {
    double counts[3];
    int rc = experiment_counts(r, name, counts);
    if (rc) return rc;
    fprintf(r->body, "## %s (`%s`)\n\n", title, name);
    *present = counts[0] > 0;
    if (!*present) {
        if (counts[1] + counts[2] > 0)
            fprintf(r->body, "No finished run yet (%.0f failed or diverged, %.0f running).\n\n", counts[1], counts[2]);
        else
            fprintf(r->body, "Not run yet.\n\n");
        return OK;
    }
    int first = r->n_findings;
    if (known && (rc = known_section(r, name))) return rc;
    write_findings(r->body, r, first);
    if ((!known || known->curves) && (rc = plot_curves(r, name))) return rc;
    if ((!known || known->decode) && (rc = plot_decode(r, name))) return rc;
    return section_generic(r, name);
}

static int write_sections(Report *r, int *present_count) {
    int rc, present;
    Progress progress;   /* plots run gnuplot once each: a full database takes a while */
    progress_begin_after(&progress, "report", N_KNOWN + 1, 5);
    for (int i = 0; i < N_KNOWN; i++) {
        progress_update(&progress, i, KNOWN[i].name);
        if ((rc = write_experiment(r, KNOWN[i].name, KNOWN[i].title, &KNOWN[i], &present))) return rc;
        *present_count += present;
    }
    TextList others = {0};
    rc = query_texts(r, "SELECT DISTINCT experiment FROM run_membership ORDER BY experiment", NULL, 0, &others);
    for (int i = 0; !rc && i < others.count; i++) {
        int known = 0;
        for (int k = 0; k < N_KNOWN; k++) known |= !strcmp(others.items[i], KNOWN[k].name);
        if (known) continue;
        char title[160];
        snprintf(title, sizeof title, "Other experiment: %s", others.items[i]);
        rc = write_experiment(r, others.items[i], title, NULL, &present);
        *present_count += present;
    }
    text_list_free(&others);
    progress_update(&progress, N_KNOWN + 1, "");
    progress_end(&progress);
    return rc;
}

/* Table cells: a '|' would split the cell and a newline the row. */
static void write_cell(FILE *out, const char *text) {
    fputs("| ", out);
    for (const char *c = text ? text : ""; *c; c++) {
        if (*c == '|') fputs("\\|", out);
        else fputc(*c == '\n' || *c == '\r' ? ' ' : *c, out);
    }
    fputc(' ', out);
}

static int write_list(Report *r, FILE *out, const char *label, const char *sql) {
    TextList list = {0};
    int rc = query_texts(r, sql, NULL, 0, &list);
    fprintf(out, "- %s: ", label);
    for (int i = 0; i < list.count; i++) fprintf(out, "%s%s", i ? "; " : "", list.items[i]);
    fprintf(out, "%s\n", list.count ? "" : "not recorded");
    text_list_free(&list);
    return rc;
}

static int write_failures(Report *r, FILE *out) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT experiment, variant, seed, status, error FROM run_failures "
                           "ORDER BY experiment, variant, seed LIMIT 50", &st), step, rows = 0;
    if (rc) return rc;
    while ((step = store_step(r->store, st)) == SQLITE_ROW) {
        if (!rows++) fprintf(out, "\nRuns that failed or diverged (at most 50 listed):\n\n"
                                  "| experiment | variant | seed | status | error |\n|---|---|---|---|---|\n");
        for (int c = 0; c < 5; c++) write_cell(out, (const char *)sqlite3_column_text(st, c));
        fprintf(out, "|\n");
    }
    return store_finish(st, step < 0 ? -step : OK);
}

static int status_count(Report *r, const char *status, int *count) {
    double n;
    int rc = query_number(r, "SELECT count(*) FROM runs WHERE status = ?1", &status, 1, &n);
    *count = rc ? 0 : (int)n;
    return rc;
}

static int write_setup(Report *r, FILE *out, ReportSummary *s) {
    int rc, running, diverged;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(out, "# MeKi at small scale: reproduction report\n\nGenerated %s from `%s` by `./meki report`.\n\n"
                 "## Setup\n\n", stamp, r->options->db_path);
    if ((rc = write_list(r, out, "git revisions (runs)", "SELECT git_revision || ' (' || count(*) || ')' "
                                "FROM runs GROUP BY git_revision ORDER BY count(*) DESC")) ||
        (rc = write_list(r, out, "machines", "SELECT host || ': ' || cpu_model || ', ' || cores || ' cores, ' || "
                                "threads || ' threads, ' || openblas FROM environment ORDER BY first_seen")) ||
        (rc = write_list(r, out, "threads per run", "SELECT DISTINCT threads FROM runs ORDER BY threads")))
        return rc;
    if ((rc = status_count(r, "done", &s->done)) || (rc = status_count(r, "failed", &s->failed)) ||
        (rc = status_count(r, "diverged", &diverged)) || (rc = status_count(r, "running", &running)))
        return rc;
    s->runs = s->done + s->failed + diverged + running;
    fprintf(out, "- runs (distinct configurations): %d in total, %d done, %d failed, %d diverged, %d running or "
                 "interrupted\n", s->runs, s->done, s->failed, diverged, running);
    s->failed += diverged;
    return write_failures(r, out);
}

static void write_reading_guide(FILE *out) {
    fprintf(out,
            "\n## How to read this report\n\n"
            "Every figure is the mean ± sample standard deviation over seeds (\"(n=1)\": one seed, no spread); only "
            "finished runs count. The paper trains 0.6B–4B models on 50B tokens and reports zero-shot accuracy on "
            "ten benchmarks; these are small models trained on a CPU, so compare directions, not values. Our main "
            "figure is the validation loss (nats per token, lower is better); \"zero-shot avg\" is the mean of the "
            "cloze (last word) and 4-way continuation accuracies (length-normalised) built from held-out text. "
            "Where the paper names a scale (0.6B, 1.7B, 4B), our model sizes are matched to it by rank, smallest "
            "first.\n\n"
            "A finding is **reproduced** when this run's difference points the paper's way. \"gap / seed std\" "
            "divides the difference of means by the pooled seed standard deviation sqrt((s_a² + s_b²) / 2): "
            "\"exceeds\" means the gap is larger than the spread between seeds, \"within\" that seed noise alone "
            "could produce it.\n\n");
}

static void write_summary(FILE *out, const Report *r, int present) {
    int reproduced = 0, measured = 0, beyond = 0;
    for (int i = 0; i < r->n_findings; i++) {
        const Finding *f = &r->findings[i];
        if (f->verdict < 0) continue;
        measured++;
        reproduced += f->verdict;
        beyond += f->verdict && f->noise_exceeded == 1;
    }
    fprintf(out, "## Findings at a glance\n\n%d of %d experiments have finished runs. %d of %d measured findings "
                 "reproduced, %d of them by more than the seed noise.\n\n", present, N_KNOWN, reproduced, measured,
            beyond);
    if (!r->n_findings) return;
    fprintf(out, "| section | paper's finding | verdict | gap / seed std |\n|---|---|---|---|\n");
    for (int i = 0; i < r->n_findings; i++)
        fprintf(out, "| %s | %s | %s | %s |\n", r->findings[i].section, r->findings[i].claim,
                verdict_text(&r->findings[i]), r->findings[i].noise);
    fprintf(out, "\n");
}

static int write_report_file(Report *r, const char *path, int present, ReportSummary *s) {
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    if ((rc = write_setup(r, af.file, s))) { atomic_abort(&af); return rc; }
    write_reading_guide(af.file);
    write_summary(af.file, r, present);
    if (r->gnuplot_state == 0 && r->options->gnuplot && !r->options->gnuplot[0])
        fprintf(af.file, "Plots were not requested.\n\n");
    else if (r->gnuplot_state == 0)
        fprintf(af.file, "Plots are missing: gnuplot could not be run.\n\n");
    if (r->plot_failures)
        fprintf(af.file, "%d plot(s) failed to draw: see plots/gnuplot.log.\n\n", r->plot_failures);
    atomic_write(&af, r->body_text, r->body_size);
    return atomic_commit(&af);
}

static void count_findings(const Report *r, ReportSummary *s) {
    for (int i = 0; i < r->n_findings; i++) {
        s->findings += r->findings[i].verdict >= 0;
        s->reproduced += r->findings[i].verdict == 1;
    }
}

static int generate(Report *r, ReportSummary *s) {
    const ReportOptions *o = r->options;
    int rc, present = 0;
    if ((rc = db_open_readonly(r, o->db_path)) || (rc = db_apply_views(r, o->analysis_dir)) || (rc = db_snapshot(r)))
        return rc;
    snprintf(r->plots_dir, sizeof r->plots_dir, "%s/plots", o->out_dir);
    if ((rc = make_dirs(r->plots_dir))) return rc;
    char log[4200];
    snprintf(log, sizeof log, "%s/gnuplot.log", r->plots_dir);
    FILE *fresh = fopen(log, "w");   /* gnuplot appends to it: start each report empty */
    if (!fresh) return error_set(ERR_FAILURE, "cannot write %s: %s", log, strerror(errno));
    fclose(fresh);
    r->body = open_memstream(&r->body_text, &r->body_size);
    if (!r->body) return error_set(ERR_FAILURE, "out of memory");
    rc = write_sections(r, &present);
    if (fclose(r->body) != 0 && !rc) rc = error_set(ERR_FAILURE, "out of memory");
    r->body = NULL;
    if (rc) return rc;
    snprintf(s->report_path, sizeof s->report_path, "%s/report.md", o->out_dir);
    s->experiments = present;
    count_findings(r, s);
    s->plots = r->plots, s->plot_failures = r->plot_failures;
    s->gnuplot_missing = r->gnuplot_state == 0 && !(o->gnuplot && !o->gnuplot[0]);
    return write_report_file(r, s->report_path, present, s);
}

int analysis_report(const ReportOptions *options, ReportSummary *summary) {
    ReportSummary local;
    Report r = {0};
    if (!summary) summary = &local;
    memset(summary, 0, sizeof *summary);
    r.options = options;
    r.gnuplot_state = options->gnuplot && !options->gnuplot[0] ? 0 : -1;
    int rc = generate(&r, summary);
    if (r.body) fclose(r.body);
    free(r.body_text);
    free(r.findings);
    store_close(r.store);   /* ends the read transaction: nothing to keep */
    return rc;
}
