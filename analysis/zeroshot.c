/* The report's zero-shot table: every task of the registry (train/zeroshot.c) per variant.
 * Every seed scores the same items and the seeds' answers are correlated, so items pooled
 * over seeds are not independent: the interval takes items as the unit (each item's mean
 * correctness over the seeds, then a t interval over items), with the per-seed spread
 * beside it. Runs recorded before item scores existed get a t interval over seeds. */
#include "analysis/analysis.h"
#include "runner/store.h"
#include "train/zeroshot.h"
#include "util/error.h"
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

void mean_interval(const double *x, int n, double *mean, double *low, double *high) {
    Stat s = stat_of(x, n);
    *mean = s.mean, *low = *high = NAN;
    if (n < 2 || !(s.std > 0)) return;   /* one unit, or no spread: no interval */
    double half = t_quantile(0.975, n - 1) * s.std / sqrt(n);
    *low = s.mean - half, *high = s.mean + half;
}

/* Each item's mean correctness over the variant's runs (items any run scored). */
static int item_means(Report *r, const char *experiment, const char *variant, const ZeroShotTask *task, Values *out) {
    const char *params[] = {experiment, variant, task->name};
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, task->primary_norm
                           ? "SELECT avg(i.correct_norm) FROM item_scores i JOIN figures f ON f.hash = i.hash "
                             "WHERE f.experiment = ?1 AND f.variant = ?2 AND i.task = ?3 GROUP BY i.item ORDER BY i.item"
                           : "SELECT avg(i.correct) FROM item_scores i JOIN figures f ON f.hash = i.hash "
                             "WHERE f.experiment = ?1 AND f.variant = ?2 AND i.task = ?3 GROUP BY i.item ORDER BY i.item",
                           &st), step;
    if (rc || (rc = store_bind_texts(r->store, st, params, 3))) return store_finish(st, rc);
    while ((step = store_step(r->store, st)) == SQLITE_ROW) values_add(out, sqlite3_column_double(st, 0), 0);
    return store_finish(st, step < 0 ? -step : OK);
}

/* One task's rows; *header once a row is written. */
static int task_rows(Report *r, const char *experiment, const ZeroShotTask *task, int *header) {
    char acc[64], items[64];
    snprintf(acc, sizeof acc, "%s_%s", task->name, task->primary_norm ? "acc_norm" : "acc");
    snprintf(items, sizeof items, "%s_items", task->name);
    const char *params[] = {experiment, acc, items};
    TextList variants = {0};
    int rc = query_texts(r, "SELECT a.variant FROM figure_values a JOIN figure_values i ON i.experiment = a.experiment "
                            "AND i.hash = a.hash AND i.name = ?3 JOIN variants v ON v.experiment = a.experiment AND "
                            "v.variant = a.variant WHERE a.experiment = ?1 AND a.name = ?2 GROUP BY a.variant ORDER BY "
                            VARIANT_ORDER, params, 3, &variants);
    for (int k = 0; !rc && k < variants.count; k++) {
        const char *variant = variants.items[k];
        Values seeds = {0}, means = {0};
        Cond c[] = {{"variant", variant}};
        double n_items = 0, mean, low, high;
        const char *p2[] = {experiment, variant, items};
        if ((rc = query_values(r, acc, experiment, c, 1, &seeds)) ||
            (rc = query_number(r, "SELECT sum(value) / count(*) FROM figure_values WHERE experiment = ?1 AND "
                                  "variant = ?2 AND name = ?3", p2, 3, &n_items)) ||
            (r->has_items && (rc = item_means(r, experiment, variant, task, &means)))) {
            values_free(&seeds), values_free(&means);
            break;
        }
        Stat per_seed = stat_of(seeds.x, seeds.count);
        if (means.count) mean_interval(means.x, means.count, &mean, &low, &high);
        else mean_interval(seeds.x, seeds.count, &mean, &low, &high);
        if (!*header) {
            fprintf(r->body, "Zero-shot tasks built from the held-out text. Every seed scores the same items, so the "
                             "95%% interval takes items as the unit (each item's correctness averaged over the seeds, "
                             "then Student's t over items); runs recorded without per-item scores get a t interval "
                             "over seeds instead (\"unit\" says which). The per-seed spread is beside it.\n\n"
                             "| task | variant | runs | items per run | accuracy %% [95%% CI] | unit | per seed %% "
                             "(mean ± std) | chance %% | against chance |\n|---|---|---|---|---|---|---|---|---|\n");
            *header = 1;
        }
        char label[160], ci[64], spread[64];
        short_label(label, sizeof label, variant);
        if (isfinite(low)) snprintf(ci, sizeof ci, "%.1f [%.1f, %.1f]", 100 * mean, 100 * low, 100 * high);
        else snprintf(ci, sizeof ci, "%.1f (no interval: %s)", 100 * mean,
                      (means.count ? means.count : seeds.count) < 2 ? "one unit" : "no spread observed");
        const char *side = !isfinite(low) ? "unknown" : low > task->chance ? "above"
                         : high < task->chance ? "below" : "at chance";
        fprintf(r->body, "| %s%s | %s | %d | %.0f | %s | %s | %s | %.0f | %s |\n", task->name,
                task->primary_norm ? " (norm)" : "", label, seeds.count, n_items, ci,
                means.count ? "items" : "seeds (no item scores)", format_stat(spread, sizeof spread, per_seed, 1, 100),
                100 * task->chance, side);
        values_free(&seeds), values_free(&means);
    }
    text_list_free(&variants);
    return rc;
}

int section_zero_shot(Report *r, const char *experiment) {
    int header = 0, rc = OK;
    for (int k = 0; k < ZERO_SHOT_TASKS && !rc; k++) rc = task_rows(r, experiment, &ZERO_SHOT_TASK[k], &header);
    if (!rc && header) {
        fprintf(r->body, "\nTasks:");
        for (int k = 0; k < ZERO_SHOT_TASKS; k++)
            fprintf(r->body, "%s %s: %s", k ? ";" : "", ZERO_SHOT_TASK[k].name, ZERO_SHOT_TASK[k].description);
        fprintf(r->body, ".\n\n");
    }
    return rc;
}
