/* The report: a header describing where the runs came from, a summary of the paper's
 * findings against this run, then one section per experiment in the paper's order. */
#include "analysis/report.h"
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
    {"table1", "Table 1: dense vs MeKi at each scale", 1, 1},
    {"table2", "Table 2: MeKi vs PLE vs Engram at the same ROM budget", 1, 1},
    {"table3", "Table 3: memory type (static, dynamic, both)", 1, 1},
    {"table4", "Table 4: position of the MeKi module", 1, 1},
    {"fig5", "Figure 5: fusion of expert vector and gate", 1, 1},
    {"fig6", "Figure 6: memory width vs ROM weights", 0, 0},
    {"projector", "Projector: SwiGLU vs linear", 1, 1},
    {"fig7", "Figure 7: logit lens", 0, 0},   /* its runs are Table 3's: their curves are there */
    {"layers", "Which layers carry memory", 1, 1},
    {"quant", "ROM table dtype: perplexity, bytes, decode speed", 0, 1},
};
#define N_KNOWN ((int)(sizeof KNOWN / sizeof KNOWN[0]))

/* The harness's own experiments with a section of their own (not the paper's: they are
 * listed after them and never counted among the paper's experiments). */
static const KnownExperiment OWN[] = {
    {"recipe", "Training recipe: MeKi's gain under the harness's and the reference's recipe", 1, 0},
    {"budget", "MeKi's gain against training tokens", 0, 0},
    {"scaling", "Scaling law: does MeKi's gain survive scale?", 0, 0},
};
#define N_OWN ((int)(sizeof OWN / sizeof OWN[0]))

static const char *verdict_text(const Finding *f) {
    static const char *const bold[] = {"**reproduced**", "**inconclusive**", "**contradicted**"};
    static const char *const bound[] = {"**meets**", "**inconclusive**", "**misses**"};
    static const char *const bold_missing[] = {"**reproduced** (runs missing)", "**inconclusive** (runs missing)",
                                               "**contradicted** (runs missing)"};
    static const char *const bound_missing[] = {"**meets** (runs missing)", "**inconclusive** (runs missing)",
                                                "**misses** (runs missing)"};
    if (f->verdict == VERDICT_NOT_MEASURED) return f->runs_missing ? "not measured (runs missing)" : "not measured";
    if (f->runs_missing) return f->bound ? bound_missing[f->verdict] : bold_missing[f->verdict];
    return f->bound ? bound[f->verdict] : bold[f->verdict];
}

/* Seeds per side that would resolve an inconclusive finding at its observed effect. */
static const char *seeds_text(char *out, size_t size, const Finding *f) {
    if (f->verdict != VERDICT_INCONCLUSIVE) snprintf(out, size, "–");
    else if (f->seeds_needed == -2) snprintf(out, size, "n/a (a fit)");
    else if (f->seeds_needed == -3) snprintf(out, size, "unknown (no spread observed)");
    else if (f->seeds_needed > 0) snprintf(out, size, "%d", f->seeds_needed);
    else snprintf(out, size, "unknown (needs 2 seeds to estimate)");
    return out;
}

/* "**reproduced**" or, when Holm's adjustment changed it, "reproduced → **inconclusive**". */
static const char *adjusted_text(char *out, size_t size, const Finding *f) {
    if (f->verdict_adjusted == f->verdict) snprintf(out, size, "%s", verdict_text(f));
    else snprintf(out, size, "%s → %s", verdict_name(f->verdict, f->bound),
                  f->bound ? (const char *[]){"**meets**", "**inconclusive**", "**misses**"}[f->verdict_adjusted]
                           : (const char *[]){"**reproduced**", "**inconclusive**", "**contradicted**"}[f->verdict_adjusted]);
    return out;
}

static const char *p_text(char *out, size_t size, double p) {
    if (isnan(p)) snprintf(out, size, "–");
    else snprintf(out, size, "%.2g", p);
    return out;
}

/* A section's findings are written once Holm's adjustment over the whole report is known:
 * the section leaves this marker in the body and write_report_file puts the table there. */
#define FINDINGS_MARK '\x01'
static void mark_findings(FILE *out, const Report *r, int first) {
    if (first < r->n_findings) fprintf(out, "%c%d %d%c", FINDINGS_MARK, first, r->n_findings, FINDINGS_MARK);
}

/* The findings [first, last) as one table. */
static void write_findings(FILE *out, const Report *r, int first, int last) {
    fprintf(out, "| paper's finding | paper | this run | difference | 95%% CI | effect | n | runs | test | verdict | "
                 "p (Holm) | verdict after Holm | seeds for 80%% power |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = first; i < last; i++) {
        const Finding *f = &r->findings[i];
        char seeds[64], adjusted[96], p[32];
        fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f->claim, f->paper, f->ours,
                f->difference, f->interval, f->effect, f->sides, f->runs[0] ? f->runs : "–", f->test, verdict_text(f),
                p_text(p, sizeof p, f->p_adjusted), adjusted_text(adjusted, sizeof adjusted, f),
                seeds_text(seeds, sizeof seeds, f));
    }
    fprintf(out, "\n");
}

/* The body with each findings marker replaced by its table. */
static void write_body(FILE *out, const Report *r) {
    const char *p = r->body_text, *end = r->body_text + r->body_size;
    while (p < end) {
        const char *mark = memchr(p, FINDINGS_MARK, (size_t)(end - p));
        if (!mark) { fwrite(p, 1, (size_t)(end - p), out); break; }
        fwrite(p, 1, (size_t)(mark - p), out);
        int first = 0, last = 0;
        sscanf(mark + 1, "%d %d", &first, &last);
        write_findings(out, r, first, last);
        const char *close = memchr(mark + 1, FINDINGS_MARK, (size_t)(end - mark - 1));
        p = close ? close + 1 : end;
    }
}

/* Holm's step-down correction over every finding of the report with a test: the family
 * is the report, so that about 44 findings do not give a "reproduced" by chance alone. */
static void adjust_findings(Report *r) {
    double *p = malloc((size_t)(r->n_findings ? r->n_findings : 1) * 2 * sizeof *p), *adjusted = p + r->n_findings;
    if (!p) abort();
    r->family = 0;
    for (int i = 0; i < r->n_findings; i++) p[i] = r->findings[i].p, r->family += !isnan(p[i]);
    holm_adjust(p, r->n_findings, adjusted);
    for (int i = 0; i < r->n_findings; i++) {
        Finding *f = &r->findings[i];
        f->p_adjusted = adjusted[i];
        f->verdict_adjusted = isnan(adjusted[i]) ? f->verdict : verdict_adjusted(f->verdict, adjusted[i]);
    }
    free(p);
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
    if (!strcmp(name, "recipe")) return section_recipe(r);
    if (!strcmp(name, "budget")) return section_budget(r);
    if (!strcmp(name, "scaling")) return OK;   /* its section follows the tables (section_scaling) */
    return section_ablation(r, name);
}

/* Which corpus the experiment's runs trained on; with several, that they are kept apart. */
static int corpus_note(Report *r, const char *experiment) {
    TextList corpora = {0};
    int rc = query_texts(r, "SELECT corpus || coalesce(' (content hash ' || json_extract(min(u.config_json), "
                            "'$.corpus_hash') || ', ' || count(*) || ' run' || CASE WHEN count(*) = 1 THEN ')' ELSE 's)' END, '') FROM run_membership m "
                            "JOIN runs u ON u.hash = m.hash WHERE m.experiment = ?1 GROUP BY corpus ORDER BY corpus",
                         &experiment, 1, &corpora);
    if (!rc && corpora.count == 1) fprintf(r->body, "Corpus: %s.\n\n", corpora.items[0]);
    else if (!rc && corpora.count > 1) {
        fprintf(r->body, "**Runs of %d corpora**, kept apart: each variant label below ends in `corpus=` and its "
                         "corpus, and no figure or verdict pools them. Corpora:", corpora.count);
        for (int i = 0; i < corpora.count; i++) fprintf(r->body, "%s %s", i ? ";" : "", corpora.items[i]);
        fprintf(r->body, ".\n\n");
    }
    text_list_free(&corpora);
    /* the shapes and budgets too, so that every figure below traces to what was trained */
    TextList shapes = {0};
    /* one entry per shape, its budgets in increasing order (a grid's runs list each once) */
    if (!rc) rc = query_texts(r, "SELECT 'd_model ' || d || ', ' || l || ' layers, ' || group_concat(t, ', ') || "
                                 "' training tokens' FROM (SELECT DISTINCT json_extract(u.config_json, '$.model.d_model') AS d, "
                                 "json_extract(u.config_json, '$.model.n_layers') AS l, json_extract(u.config_json, '$.train.tokens') AS n, "
                                 "CASE WHEN json_extract(u.config_json, '$.train.tokens') >= 100000 "
                                 "THEN printf('%.2fM', json_extract(u.config_json, '$.train.tokens') / 1e6) "
                                 "ELSE json_extract(u.config_json, '$.train.tokens') END AS t "
                                 "FROM run_membership m JOIN runs u ON u.hash = m.hash WHERE m.experiment = ?1 "
                                 "AND json_valid(u.config_json) ORDER BY d, l, n) GROUP BY d, l ORDER BY d, l",
                              &experiment, 1, &shapes);
    if (!rc && shapes.count) {
        fprintf(r->body, "Models and budgets: ");
        for (int i = 0; i < shapes.count; i++) fprintf(r->body, "%s%s", i ? "; " : "", shapes.items[i]);
        fprintf(r->body, " (full shapes in Setup).\n\n");
    }
    text_list_free(&shapes);
    return rc;
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
    if ((rc = corpus_note(r, name))) return rc;
    int first = r->n_findings;
    if (known && (rc = known_section(r, name))) return rc;
    mark_findings(r->body, r, first);
    if ((!known || known->curves) && (rc = plot_curves(r, name))) return rc;
    if ((!known || known->decode) && (rc = plot_decode(r, name))) return rc;
    if ((rc = plot_parity(r, name))) return rc;
    if ((rc = section_generic(r, name))) return rc;
    /* any experiment whose runs form a size x budget grid; experiments/scaling.ini always */
    if ((rc = section_scaling(r, name, !strcmp(name, "scaling")))) return rc;
    if ((rc = section_baseline(r, name))) return rc;
    return section_zero_shot(r, name);
}

static int has_runs(Report *r, const char *experiment, int *has) {
    double n;
    int rc = query_number(r, "SELECT count(*) FROM run_membership WHERE experiment = ?1", &experiment, 1, &n);
    *has = !rc && n > 0;
    return rc;
}

/* A section for every experiment the database holds: the paper's first, in the paper's
 * order, then the others by name. A paper experiment with no run gets no section. */
static int write_sections(Report *r, int *present_count, int *paper_present) {
    int rc, present, has;
    Progress progress;   /* plots run gnuplot once each: a full database takes a while */
    progress_begin_after(&progress, "report", N_KNOWN + 1, 5);
    r->absent[0] = 0;
    for (int i = 0; i < N_KNOWN; i++) {
        progress_update(&progress, i, KNOWN[i].name);
        if ((rc = has_runs(r, KNOWN[i].name, &has))) return rc;
        if (!has) {
            size_t used = strlen(r->absent);
            snprintf(r->absent + used, sizeof r->absent - used, "%s`%s`", used ? ", " : "", KNOWN[i].name);
            continue;
        }
        r->paper_sections++;
        if ((rc = write_experiment(r, KNOWN[i].name, KNOWN[i].title, &KNOWN[i], &present))) return rc;
        *present_count += present;
        *paper_present += present;
    }
    TextList others = {0};
    rc = query_texts(r, "SELECT DISTINCT experiment FROM run_membership ORDER BY experiment", NULL, 0, &others);
    for (int i = 0; !rc && i < others.count; i++) {
        int known = 0;
        for (int k = 0; k < N_KNOWN; k++) known |= !strcmp(others.items[i], KNOWN[k].name);
        if (known) continue;
        const KnownExperiment *own = NULL;
        for (int k = 0; k < N_OWN; k++)
            if (!strcmp(others.items[i], OWN[k].name)) own = &OWN[k];
        char title[160];
        snprintf(title, sizeof title, "Experiment %s", others.items[i]);
        rc = write_experiment(r, others.items[i], own ? own->title : title, own, &present);
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

/* The title names what the database holds: the paper's reproduction when any paper
 * experiment has runs, else the experiments by name; and the corpus or corpora. */
static int write_title(Report *r, FILE *out) {
    TextList experiments = {0}, corpora = {0};
    int rc = query_texts(r, "SELECT DISTINCT experiment FROM run_membership ORDER BY experiment", NULL, 0, &experiments);
    if (!rc) rc = query_texts(r, "SELECT DISTINCT corpus FROM run_membership ORDER BY corpus", NULL, 0, &corpora);
    if (r->paper_sections) fprintf(out, "# MeKi at small scale: reproduction report");
    else {
        fprintf(out, "# Experiment report: ");
        for (int i = 0; i < experiments.count && i < 6; i++) fprintf(out, "%s%s", i ? ", " : "", experiments.items[i]);
        if (experiments.count > 6) fprintf(out, " and %d more", experiments.count - 6);
        if (!experiments.count) fprintf(out, "no runs");
    }
    if (corpora.count) fprintf(out, " — corpus ");
    for (int i = 0; i < corpora.count; i++) fprintf(out, "%s%s", i ? " and " : "", corpora.items[i]);
    fprintf(out, "\n\n");
    text_list_free(&experiments);
    text_list_free(&corpora);
    return rc;
}

/* Where every figure comes from: corpus, model shapes, budgets, machine, revision, dates,
 * all read from the runs' identities (runs.config_json) and the environment table. */
#define IDENTITY(path) "coalesce(json_extract(config_json, '" path "'), '?')"
static int write_provenance(Report *r, FILE *out) {
    int rc;
    if ((rc = write_list(r, out, "corpus (from each run's identity)",
                         "SELECT m.corpus || ': content hash ' || coalesce(" IDENTITY("$.corpus_hash") ", '?') || "
                         "', ' || count(DISTINCT u.hash) || CASE WHEN count(DISTINCT u.hash) = 1 THEN ' run' ELSE ' runs' END || coalesce(', ' || CAST(max(t.value) AS INTEGER) || "
                         "' training tokens and ' || CAST(max(v.value) AS INTEGER) || ' validation tokens prepared', "
                         "', corpus size not recorded') FROM run_membership m JOIN runs u ON u.hash = m.hash "
                         "LEFT JOIN metrics t ON t.hash = u.hash AND t.name = 'corpus_train_tokens' "
                         "LEFT JOIN metrics v ON v.hash = u.hash AND v.name = 'corpus_val_tokens' "
                         "GROUP BY m.corpus ORDER BY m.corpus")) ||
        (rc = write_list(r, out, "model shapes",
                         "SELECT shape || ' (' || coalesce((SELECT group_concat(DISTINCT p.preset) FROM preset_sizes p "
                         "WHERE p.d_model = d AND p.n_layers = l), (SELECT 'the ' || b.name || ' preset''s shape' FROM "
                         "builtin_presets b WHERE b.d_model = d AND b.n_layers = l AND b.n_heads = h AND b.ffn_hidden = "
                         "ff), 'no preset') || '; ' || count(*) || ' run' || CASE WHEN count(*) = 1 THEN ')' ELSE 's)' END "
                         "FROM (SELECT " IDENTITY("$.model.d_model") " AS d, " IDENTITY("$.model.n_layers") " AS l, "
                         IDENTITY("$.model.n_heads") " AS h, " IDENTITY("$.model.ffn_hidden") " AS ff, "
                         "'d_model ' || " IDENTITY("$.model.d_model") " || ', ' || " IDENTITY("$.model.n_layers")
                         " || ' layers, ' || " IDENTITY("$.model.n_heads") " || ' heads (' || "
                         IDENTITY("$.model.n_kv_heads") " || ' KV), FFN ' || " IDENTITY("$.model.ffn_hidden")
                         " || ', vocab ' || " IDENTITY("$.model.vocab_size") " || ', context ' || "
                         IDENTITY("$.model.seq_len") " AS shape FROM runs WHERE json_valid(config_json)) "
                         "GROUP BY shape ORDER BY min(d), min(l)")) ||
        /* with the passes over the corpus its runs prepared (corpus_train_tokens): a budget
         * beyond the corpus repeats it, which a reader of the figures must know */
        (rc = write_list(r, out, "token budgets",
                         "SELECT budget || ' (' || count(*) || ' run' || CASE WHEN count(*) = 1 THEN ')' ELSE 's)' END FROM ("
                         "SELECT tokens, tokens || ' training tokens' || CASE WHEN epochs IS NULL THEN '' ELSE ' (' || CASE WHEN "
                         "epochs >= 10 THEN printf('%.0f', epochs) ELSE printf('%.2g', epochs) END || CASE WHEN epochs = 1 "
                         "THEN ' epoch' ELSE ' epochs' END || ' of the corpus)' END || ', batch ' || batch || ' x ' || seq_len || "
                         "' tokens' AS budget FROM (SELECT " IDENTITY("$.train.tokens") " AS tokens, "
                         IDENTITY("$.train.batch") " AS batch, " IDENTITY("$.train.seq_len") " AS seq_len, "
                         "json_extract(config_json, '$.train.tokens') * 1.0 / t.value AS epochs FROM runs "
                         "LEFT JOIN metrics t ON t.hash = runs.hash AND t.name = 'corpus_train_tokens' AND t.value > 0 "
                         "WHERE json_valid(config_json))) GROUP BY budget ORDER BY min(tokens)")) ||
        (rc = write_list(r, out, "threads per run", "SELECT threads || ' (' || count(*) || ' run' || CASE WHEN count(*) = 1 THEN ')' ELSE 's)' END FROM runs "
                                                    "GROUP BY threads ORDER BY threads")) ||
        (rc = write_list(r, out, "machines", "SELECT host || ': ' || cpu_model || ', ' || cores || ' cores, ' || "
                                             "threads || ' threads, ' || openblas FROM environment ORDER BY first_seen")) ||
        (rc = write_list(r, out, "git revisions (runs)", "SELECT git_revision || ' (' || count(*) || ')' "
                                                         "FROM runs GROUP BY git_revision ORDER BY count(*) DESC")) ||
        (rc = write_list(r, out, "dates", "SELECT 'first run started ' || min(started_at) || ', last finished ' || "
                                          "coalesce(max(finished_at), 'none') FROM runs HAVING count(*) > 0")))
        return rc;
    return OK;
}

static int write_setup(Report *r, FILE *out, ReportSummary *s) {
    int rc, running, diverged;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if ((rc = write_title(r, out))) return rc;
    fprintf(out, "Generated %s from `%s` by `./meki report`.\n\n## Setup\n\n", stamp, r->options->db_path);
    if ((rc = write_provenance(r, out))) return rc;
    if ((rc = status_count(r, "done", &s->done)) || (rc = status_count(r, "failed", &s->failed)) ||
        (rc = status_count(r, "diverged", &diverged)) || (rc = status_count(r, "running", &running)))
        return rc;
    s->runs = s->done + s->failed + diverged + running;
    fprintf(out, "- runs (distinct configurations): %d in total, %d done, %d failed, %d diverged, %d running or "
                 "interrupted\n", s->runs, s->done, s->failed, diverged, running);
    s->failed += diverged;
    return write_failures(r, out);
}

static void write_reading_guide(FILE *out, const Report *r) {
    fprintf(out,
            "\n## How to read this report\n\n"
            "Every figure is the mean ± sample standard deviation over seeds, with n (the number of seeds) beside "
            "it; \"(n=1)\" is one seed, no spread. Only finished runs count.");
    if (r->paper_sections)
        fprintf(out,
                " The paper trains 0.6B–4B models on 50B tokens and reports zero-shot accuracy on ten benchmarks; "
                "these are small models trained on a CPU, so compare directions, not values. Our main figure is the "
                "validation loss (nats per token, lower is better); \"zero-shot avg\" is the mean of the cloze (last "
                "word) and 4-way continuation accuracies (length-normalised) built from held-out text. Where the "
                "paper names a scale (0.6B, 1.7B, 4B), our model sizes are matched to it by rank, smallest first.\n\n"
                "Each paper finding is a difference of means over seeds with its 95%% confidence interval: paired "
                "on the seeds both sides ran when there are two or more (the shared seed fixes the initialisation "
                "and data order; a seed only one side ran is shown as unpaired), else Welch's t. It is "
                "**reproduced** when the whole interval lies on the paper's side of zero, **contradicted** when it "
                "lies on the other side, **inconclusive** when it includes zero or cannot be computed (one seed on "
                "a side, or no spread observed: fewer than two distinct values on a side or in the paired "
                "differences, which never reads as certainty). Bounds (decode at ≥ 95%% of dense speed, a "
                "perplexity change within a target) are one-sample intervals: **meets**, **inconclusive** or "
                "**misses**. Holm's correction runs over every finding of the report with a p value (the family "
                "is named in the summary): both the verdict and the verdict after Holm are shown. \"runs\" counts "
                "each side's runs by status, planned ones included when the sweep recorded its plan; a verdict "
                "with a failed, diverged, NaN or unstarted run says \"(runs missing)\". \"effect\" is the "
                "difference in seed standard deviations (pooled), or in the std of the paired differences; "
                "\"seeds for 80%% power\" is how many seeds per side (pairs when paired) would make an effect of "
                "the observed size significant at 5%% with 80%% probability (exact, from the noncentral t).");
    fprintf(out, "\n\n");
}

/* Counts of each verdict, comparisons and bounds apart (adjusted: after Holm). */
static void verdict_counts(const Report *r, int adjusted, int comparisons[3], int bounds[3], int *unmeasured) {
    *unmeasured = 0;
    for (int v = 0; v < 3; v++) comparisons[v] = bounds[v] = 0;
    for (int i = 0; i < r->n_findings; i++) {
        const Finding *f = &r->findings[i];
        Verdict v = adjusted ? f->verdict_adjusted : f->verdict;
        if (v == VERDICT_NOT_MEASURED) ++*unmeasured;
        else (f->bound ? bounds : comparisons)[v]++;
    }
}

static void write_summary(FILE *out, const Report *r, int present, int paper_present) {
    int c[3], b[3], ac[3], ab[3], unmeasured;
    verdict_counts(r, 0, c, b, &unmeasured);
    verdict_counts(r, 1, ac, ab, &unmeasured);
    fprintf(out, "## Findings at a glance\n\n%d experiment(s) with finished runs, %d of them the paper's.",
            present, paper_present);
    if (r->paper_sections && r->absent[0])
        fprintf(out, " Paper experiments not in this database (no section): %s.", r->absent);
    if (!r->n_findings) {
        fprintf(out, " No paper findings to check: no experiment of the paper is in this database; each "
                     "experiment's section compares its variants with its baseline.\n\n");
        return;
    }
    fprintf(out, " Paper comparisons: %d reproduced, %d inconclusive, %d contradicted. Bounds: %d met, %d "
                 "inconclusive, %d missed. %d finding(s) not measured.\n\n", c[0], c[1], c[2], b[0], b[1], b[2],
            unmeasured);
    fprintf(out, "Family for Holm's correction: the %d finding(s) of this report with a test (p value); after it, "
                 "comparisons: %d reproduced, %d inconclusive, %d contradicted; bounds: %d met, %d inconclusive, "
                 "%d missed.\n\n", r->family, ac[0], ac[1], ac[2], ab[0], ab[1], ab[2]);
    fprintf(out, "| section | paper's finding | verdict | verdict after Holm | difference [95%% CI] | effect | n | "
                 "runs | seeds for 80%% power |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < r->n_findings; i++) {
        const Finding *f = &r->findings[i];
        char seeds[64], adjusted[96];
        fprintf(out, "| %s | %s | %s | %s | %s %s | %s | %s | %s | %s |\n", f->section, f->claim, verdict_text(f),
                adjusted_text(adjusted, sizeof adjusted, f), f->difference, f->interval, f->effect, f->sides,
                f->runs[0] ? f->runs : "–", seeds_text(seeds, sizeof seeds, f));
    }
    fprintf(out, "\n");
}

static int write_report_file(Report *r, const char *path, int present, int paper_present, ReportSummary *s) {
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    if ((rc = write_setup(r, af.file, s))) { atomic_abort(&af); return rc; }
    write_reading_guide(af.file, r);
    write_summary(af.file, r, present, paper_present);
    if (r->gnuplot_state == 0 && r->options->gnuplot && !r->options->gnuplot[0])
        fprintf(af.file, "Plots were not requested.\n\n");
    else if (r->gnuplot_state == 0)
        fprintf(af.file, "Plots are missing: gnuplot could not be run.\n\n");
    if (r->plot_failures)
        fprintf(af.file, "%d plot(s) failed to draw: see plots/gnuplot.log.\n\n", r->plot_failures);
    write_body(af.file, r);
    return atomic_commit(&af);
}

static void count_findings(const Report *r, ReportSummary *s) {
    for (int i = 0; i < r->n_findings; i++) {
        const Finding *f = &r->findings[i];
        s->findings += f->verdict != VERDICT_NOT_MEASURED;
        s->reproduced += f->verdict == VERDICT_REPRODUCED;
        s->inconclusive += f->verdict == VERDICT_INCONCLUSIVE;
        s->contradicted += f->verdict == VERDICT_CONTRADICTED;
    }
}

static int generate(Report *r, ReportSummary *s) {
    const ReportOptions *o = r->options;
    int rc, present = 0, paper_present = 0;
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
    rc = write_sections(r, &present, &paper_present);
    if (fclose(r->body) != 0 && !rc) rc = error_set(ERR_FAILURE, "out of memory");
    r->body = NULL;
    if (rc) return rc;
    snprintf(s->report_path, sizeof s->report_path, "%s/report.md", o->out_dir);
    s->experiments = present;
    adjust_findings(r);
    count_findings(r, s);
    s->plots = r->plots, s->plot_failures = r->plot_failures;
    s->gnuplot_missing = r->gnuplot_state == 0 && !(o->gnuplot && !o->gnuplot[0]);
    return write_report_file(r, s->report_path, present, paper_present, s);
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
