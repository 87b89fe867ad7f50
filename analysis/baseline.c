/* Every experiment, the paper's or a user's, answers "does this variant beat the baseline?":
 * each variant against the variant that differs from it only in the baseline axis's value,
 * on val loss and (where measured) zero-shot accuracy, with Holm's correction over the
 * experiment's comparisons. */
#include "analysis/analysis.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COMPARISONS = 256 };

static const struct { const char *metric, *name, *unit; int lower_is_better, digits; double scale; } METRICS[] = {
    {"val_loss", "val loss", "nats", 1, 4, 1}, {"zero_shot_avg", "zero-shot avg", "%", 0, 1, 100}};

/* The baseline "key=value": the experiment file's [analysis] baseline when recorded, else
 * the dense variant when memory.kind is swept, else the first axis's value in the run the
 * sweep started first (the grid's first point). *source says which. */
static int choose_baseline(Report *r, const char *experiment, const TextList *variants, const TextList *axes,
                           char *out, size_t size, const char **source) {
    double has_table = 0;
    int rc = query_number(r, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'experiment_plans'",
                          NULL, 0, &has_table);
    TextList chosen = {0};
    out[0] = 0;
    if (!rc && has_table > 0)
        rc = query_texts(r, "SELECT baseline FROM experiment_plans WHERE experiment = ?1", &experiment, 1, &chosen);
    if (!rc && chosen.count) snprintf(out, size, "%s", chosen.items[0]), *source = "the experiment file's [analysis] baseline";
    text_list_free(&chosen);
    if (rc || out[0]) return rc;
    char value[128];
    for (int v = 0; v < variants->count; v++) {
        label_value(value, sizeof value, variants->items[v], "memory.kind");
        if (!strcmp(value, "none")) {
            snprintf(out, size, "memory.kind=none");
            *source = "the dense variant (default)";
            return OK;
        }
    }
    if (!axes->count) return OK;
    TextList first = {0};
    rc = query_texts(r, "SELECT m.variant FROM run_membership m JOIN runs u ON u.hash = m.hash WHERE m.experiment = ?1 "
                        "ORDER BY u.started_at, u.rowid LIMIT 1", &experiment, 1, &first);
    if (!rc && first.count) {
        label_value(value, sizeof value, first.items[0], axes->items[0]);
        snprintf(out, size, "%s=%s", axes->items[0], value);
        *source = "the first axis's first value (default)";
    }
    text_list_free(&first);
    return rc;
}

/* The variant V is compared against: the one with the baseline value that agrees with V on
 * every other axis it names (a dense variant names no MeKi axis); NULL when none. */
static const char *partner_of(const TextList *variants, const TextList *axes, const char *v, const char *key,
                              const char *value) {
    char mine[128], theirs[128];
    for (int w = 0; w < variants->count; w++) {
        label_value(theirs, sizeof theirs, variants->items[w], key);
        if (strcmp(theirs, value)) continue;
        int agrees = 1;
        for (int a = 0; a < axes->count && agrees; a++) {
            if (!strcmp(axes->items[a], key)) continue;
            label_value(theirs, sizeof theirs, variants->items[w], axes->items[a]);
            label_value(mine, sizeof mine, v, axes->items[a]);
            agrees = !theirs[0] || !strcmp(theirs, mine);
        }
        if (agrees) return variants->items[w];
    }
    return NULL;
}

typedef struct {
    char variant[160], against[160];
    int metric;
    Finding f;
} BaselineRow;

static const char *word(Verdict v) {
    return v == VERDICT_REPRODUCED ? "better" : v == VERDICT_CONTRADICTED ? "worse"
         : v == VERDICT_INCONCLUSIVE ? "inconclusive" : "not measured";
}

static int compare_row(Report *r, const char *experiment, const char *variant, const char *against, int m,
                       BaselineRow *row, int *measured) {
    Values a = {0}, b = {0};
    Cond ca[] = {{"variant", variant}}, cb[] = {{"variant", against}};
    int rc = query_values(r, METRICS[m].metric, experiment, ca, 1, &a);
    if (!rc) rc = query_values(r, METRICS[m].metric, experiment, cb, 1, &b);
    /* val loss always (a side without it is a missing run); zero-shot where both measured it */
    *measured = !rc && (m == 0 ? a.count || b.count : a.count && b.count);
    if (*measured) {
        memset(row, 0, sizeof *row);
        short_label(row->variant, sizeof row->variant, variant);
        short_label(row->against, sizeof row->against, against);
        row->metric = m;
        row->f.p = row->f.p_adjusted = NAN;
        finding_compare(&row->f, "variant", &a, "baseline", &b, METRICS[m].lower_is_better, METRICS[m].unit,
                        METRICS[m].digits, METRICS[m].scale);
    }
    values_free(&a), values_free(&b);
    return rc;
}

static void print_rows(Report *r, BaselineRow *rows, int n) {
    double p[MAX_COMPARISONS], adjusted[MAX_COMPARISONS];
    int family = 0;
    for (int i = 0; i < n; i++) p[i] = rows[i].f.p, family += !isnan(p[i]);
    holm_adjust(p, n, adjusted);
    fprintf(r->body, "Holm's family: the %d comparison(s) of this table with a test.\n\n"
                     "| variant | baseline | metric | difference [95%% CI] | effect | n | runs | test | verdict | "
                     "p (Holm) | verdict after Holm |\n|---|---|---|---|---|---|---|---|---|---|---|\n", family);
    for (int i = 0; i < n; i++) {
        const Finding *f = &rows[i].f;
        Verdict after = isnan(adjusted[i]) ? f->verdict : verdict_adjusted(f->verdict, adjusted[i]);
        char pa[32] = "–";
        if (!isnan(adjusted[i])) snprintf(pa, sizeof pa, "%.2g", adjusted[i]);
        const char *missing = f->runs_missing ? " (runs missing)" : "";
        fprintf(r->body, "| %s | %s | %s | %s %s | %s | %s | %s | %s | %s%s | %s | %s%s |\n", rows[i].variant,
                rows[i].against, METRICS[rows[i].metric].name, f->difference, f->interval, f->effect, f->sides,
                f->runs[0] ? f->runs : "–", f->test, word(f->verdict), missing, pa, word(after), missing);
    }
    fprintf(r->body, "\n");
}

int section_baseline(Report *r, const char *experiment) {
    TextList variants = {0}, axes = {0};
    int rc = query_texts(r, "SELECT variant FROM variants v WHERE experiment = ?1 ORDER BY " VARIANT_ORDER,
                         &experiment, 1, &variants);
    char baseline[256] = "";
    const char *source = "";
    if (!rc) label_axes(&variants, &axes);
    if (!rc) rc = choose_baseline(r, experiment, &variants, &axes, baseline, sizeof baseline, &source);
    const char *equals = strchr(baseline, '=');
    if (!rc && (!equals || variants.count < 2)) {
        fprintf(r->body, "Against a baseline: nothing to compare (%s).\n\n",
                variants.count < 2 ? "one variant" : "no swept axis to name a baseline");
    } else if (!rc) {
        char key[128], value[128], mine[128];
        snprintf(key, sizeof key, "%.*s", (int)(equals - baseline), baseline);
        snprintf(value, sizeof value, "%s", equals + 1);
        BaselineRow *rows = calloc(MAX_COMPARISONS, sizeof *rows);
        int n = 0, unmatched = 0;
        if (!rows) abort();
        for (int v = 0; !rc && v < variants.count; v++) {
            label_value(mine, sizeof mine, variants.items[v], key);
            if (!mine[0] || !strcmp(mine, value)) continue;
            const char *partner = partner_of(&variants, &axes, variants.items[v], key, value);
            if (!partner) { unmatched++; continue; }
            for (int m = 0; !rc && m < 2 && n < MAX_COMPARISONS; m++) {
                int measured;
                rc = compare_row(r, experiment, variants.items[v], partner, m, &rows[n], &measured);
                n += measured;
            }
        }
        if (!rc) {
            fprintf(r->body, "Against the baseline `%s` (%s): each variant minus the baseline variant that "
                             "agrees with it on every other axis it names; val loss lower is better, zero-shot higher.", baseline, source);
            if (unmatched) fprintf(r->body, " %d variant(s) have no baseline counterpart in the database.", unmatched);
            fprintf(r->body, "\n\n");
            if (n) print_rows(r, rows, n);
        }
        free(rows);
    }
    text_list_free(&variants);
    text_list_free(&axes);
    return rc;
}
