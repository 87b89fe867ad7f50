/* The report's zero-shot table: every task of the registry (train/zeroshot.c) per variant,
 * its accuracy pooled over seeds with a 95% binomial (Wilson) interval over the items
 * scored, against the task's chance level. */
#include "analysis/analysis.h"
#include "runner/store.h"
#include "train/zeroshot.h"
#include "util/error.h"
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>

void wilson_interval(double correct, double n, double *low, double *high) {
    const double z = 1.96;
    if (!(n > 0)) { *low = *high = NAN; return; }
    double p = correct / n, centre = (p + z * z / (2 * n)) / (1 + z * z / n);
    double half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
    *low = centre - half, *high = centre + half;
}

/* One task's rows; *header once a row is written. */
static int task_rows(Report *r, const char *experiment, const ZeroShotTask *task, int *header) {
    char acc[64], items[64];
    snprintf(acc, sizeof acc, "%s_%s", task->name, task->primary_norm ? "acc_norm" : "acc");
    snprintf(items, sizeof items, "%s_items", task->name);
    const char *params[] = {experiment, acc, items};
    sqlite3_stmt *st;
    int rc = store_prepare(r->store,
                           "SELECT a.variant, count(*), sum(a.value * i.value), sum(i.value) FROM figure_values a "
                           "JOIN figure_values i ON i.experiment = a.experiment AND i.hash = a.hash AND i.name = ?3 "
                           "JOIN variants v ON v.experiment = a.experiment AND v.variant = a.variant "
                           "WHERE a.experiment = ?1 AND a.name = ?2 GROUP BY a.variant ORDER BY " VARIANT_ORDER, &st);
    int step;
    if (rc || (rc = store_bind_texts(r->store, st, params, 3))) return store_finish(st, rc);
    while ((step = store_step(r->store, st)) == SQLITE_ROW) {
        const char *variant = (const char *)sqlite3_column_text(st, 0);
        int runs = sqlite3_column_int(st, 1);
        double correct = round(sqlite3_column_double(st, 2)), n = sqlite3_column_double(st, 3), low, high;
        wilson_interval(correct, n, &low, &high);
        if (!*header) {
            fprintf(r->body, "Zero-shot tasks built from the held-out text, pooled over seeds (items = the items "
                             "scored, summed over runs; 95%% Wilson interval over items):\n\n"
                             "| task | variant | runs | items | accuracy %% [95%% CI] | chance %% | against chance |\n"
                             "|---|---|---|---|---|---|---|\n");
            *header = 1;
        }
        char label[160];
        short_label(label, sizeof label, variant ? variant : "");
        const char *side = !(n > 0) ? "–" : low > task->chance ? "above" : high < task->chance ? "below" : "at chance";
        fprintf(r->body, "| %s%s | %s | %d | %.0f | %.1f [%.1f, %.1f] | %.0f | %s |\n", task->name,
                task->primary_norm ? " (norm)" : "", label, runs, n, n > 0 ? 100 * correct / n : NAN, 100 * low,
                100 * high, 100 * task->chance, side);
    }
    return store_finish(st, step < 0 ? -step : OK);
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
