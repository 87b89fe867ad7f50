/* Sections of the harness's own checks of the paper's main claim (issue 15): does MeKi's gain
 * over dense survive the reference's training recipe (experiments/recipe.ini), and how does
 * it move with the training budget (experiments/budget.ini)? */
#include "analysis/analysis.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUDGETS 32

/* val loss of dense and MeKi runs of the experiment meeting one more condition. */
static int pair_query(Report *r, const char *experiment, const char *column, const char *value, Values *dense,
                      Values *meki) {
    Cond d[] = {{"memory_kind", "none"}, {column, value}}, m[] = {{"memory_kind", "meki"}, {column, value}};
    int rc = query_values(r, "val_loss", experiment, d, 2, dense);
    return rc ? rc : query_values(r, "val_loss", experiment, m, 2, meki);
}

/* "0.1234 [0.1000, 0.1468]": the gain dense − MeKi with its 95% interval. */
static void format_gain(char *out, size_t size, Comparison c) {
    if (isnan(c.difference)) snprintf(out, size, "–");
    else if (isnan(c.lo) && c.no_spread) snprintf(out, size, "%+.4f (no interval: no spread observed)", c.difference);
    else if (isnan(c.lo)) snprintf(out, size, "%+.4f (no interval: one seed)", c.difference);
    else snprintf(out, size, "%+.4f [%+.4f, %+.4f]", c.difference, c.lo, c.hi);
}

/* The gain as a comparison: dense's loss above MeKi's is the paper's direction. */
static Comparison gain_of(const Values *dense, const Values *meki) {
    return compare_samples(sample_of(dense), sample_of(meki), 0);
}

int section_recipe(Report *r) {
    static const struct { const char *name, *text; } RECIPES[] = {
        {"harness", "this harness's recipe: weight decay on matrices but the embedding and memory tables, "
                    "init N(0, 0.02), q/k norm on"},
        {"reference", "the reference's (Megatron) recipe: weight decay on every tensor of two or more "
                      "dimensions, init N(0, 0.014) with output projections scaled by 1/sqrt(2 L), no q/k norm"},
    };
    fprintf(r->body, "The paper's claim (MeKi beats dense) under two training recipes. ");
    for (int i = 0; i < 2; i++) fprintf(r->body, "`%s`: %s. ", RECIPES[i].name, RECIPES[i].text);
    fprintf(r->body, "Gain = dense val loss − MeKi val loss (nats; positive: MeKi better), paired by seed.\n\n"
                     "| recipe | dense val loss | MeKi val loss | n dense / MeKi | gain [95%% CI] | verdict |\n"
                     "|---|---|---|---|---|---|\n");
    Values dense[2] = {{0}}, meki[2] = {{0}};
    int rc = OK;
    for (int i = 0; i < 2 && !rc; i++) {
        if ((rc = pair_query(r, "recipe", "recipe", RECIPES[i].name, &dense[i], &meki[i]))) break;
        char a[64], b[64], g[96];
        Comparison c = gain_of(&dense[i], &meki[i]);
        format_gain(g, sizeof g, c);
        fprintf(r->body, "| %s | %s | %s | %d / %d | %s | %s |\n", RECIPES[i].name,
                format_stat(a, sizeof a, stat_of(dense[i].x, dense[i].count), 4, 1),
                format_stat(b, sizeof b, stat_of(meki[i].x, meki[i].count), 4, 1), dense[i].count, meki[i].count, g,
                c.verdict == VERDICT_NOT_MEASURED ? "not measured" : verdict_name(c.verdict, 0));
    }
    fprintf(r->body, "\n");
    if (!rc) {
        finding_compare(report_add_finding(r, "Recipe", "harness recipe: MeKi beats dense (val loss)",
                                           "MeKi better at every scale"),
                        "MeKi", &meki[0], "dense", &dense[0], 1, "nats", 4, 1);
        finding_compare(report_add_finding(r, "Recipe", "MeKi's gain survives the reference recipe (val loss)",
                                           "MeKi better at every scale"),
                        "MeKi", &meki[1], "dense", &dense[1], 1, "nats", 4, 1);
    }
    for (int i = 0; i < 2; i++) values_free(&dense[i]), values_free(&meki[i]);
    double other = 0;
    const char *experiment = "recipe";
    if (!rc) rc = query_number(r, "SELECT count(*) FROM figures WHERE experiment = ?1 AND recipe = 'other'",
                               &experiment, 1, &other);
    if (!rc && other > 0)
        fprintf(r->body, "%.0f run(s) of `recipe` follow neither recipe (a key changed beside `train.recipe`) and "
                         "are left out of this table; the per-variant table below shows them.\n\n", other);
    return rc;
}

int section_budget(Report *r) {
    TextList budgets = {0};
    const char *experiment = "budget";
    int rc = query_texts(r, "SELECT CAST(train_tokens AS TEXT) FROM figures WHERE experiment = ?1 AND train_tokens "
                            "IS NOT NULL GROUP BY train_tokens ORDER BY train_tokens", &experiment, 1, &budgets);
    if (rc) return rc;
    fprintf(r->body, "MeKi's gain over dense against the training budget: each budget is its own runs, each with "
                     "its own full cosine schedule (not a point on one learning curve). Gain = dense val loss − MeKi "
                     "val loss (nats; positive: MeKi better), mean with its 95%% interval (paired by seed when both "
                     "ran the same seeds, else Welch). Tokens per RAM parameter use MeKi's RAM parameters (its "
                     "table is ROM).\n\n| training tokens | tokens per RAM param | n dense / MeKi | dense val loss | "
                     "MeKi val loss | gain [95%% CI] | verdict |\n|---|---|---|---|---|---|---|\n");
    FILE *f = plot_data_open(r, "budget_gain");
    if (!f) { text_list_free(&budgets); return ERR_FAILURE; }
    fprintf(f, "# training tokens, gain (dense - MeKi val loss, nats), 95%% interval low, high (NaN: one seed), n pairs\n");
    int points = 0, last = budgets.count < MAX_BUDGETS ? budgets.count : MAX_BUDGETS;
    Values last_dense = {0}, last_meki = {0};
    for (int i = 0; i < last && !rc; i++) {
        Values dense = {0}, meki = {0};
        Stat ram;
        Cond m[] = {{"memory_kind", "meki"}, {"CAST(train_tokens AS TEXT)", budgets.items[i]}};
        if (!(rc = pair_query(r, experiment, "CAST(train_tokens AS TEXT)", budgets.items[i], &dense, &meki)) &&
            !(rc = query_stat(r, "ram_params", experiment, m, 2, &ram))) {
            char a[64], b[64], t[64], g[96], per[32] = "–";
            double tokens = atof(budgets.items[i]);
            Comparison c = gain_of(&dense, &meki);
            format_gain(g, sizeof g, c);
            if (ram.n && ram.mean > 0) snprintf(per, sizeof per, "%.2f", tokens / ram.mean);
            fprintf(r->body, "| %s | %s | %d / %d | %s | %s | %s | %s |\n", format_count(t, sizeof t, tokens), per,
                    dense.count, meki.count, format_stat(b, sizeof b, stat_of(dense.x, dense.count), 4, 1),
                    format_stat(a, sizeof a, stat_of(meki.x, meki.count), 4, 1), g,
                    c.verdict == VERDICT_NOT_MEASURED ? "not measured" : verdict_name(c.verdict, 0));
            if (!isnan(c.difference)) {
                fprintf(f, "%.0f %.6f %.6f %.6f %d\n", tokens, c.difference, isnan(c.lo) ? c.difference : c.lo,
                        isnan(c.hi) ? c.difference : c.hi, c.paired ? c.pairs : (c.n_a < c.n_b ? c.n_a : c.n_b));
                points++;
            }
        }
        if (i == last - 1) last_dense = dense, last_meki = meki;
        else values_free(&dense), values_free(&meki);
    }
    fprintf(r->body, "\n");
    int closed = plot_data_close(r, f, "budget_gain");
    if (!rc) rc = closed;
    if (!rc && last > 0) {
        char claim[160];
        snprintf(claim, sizeof claim, "MeKi beats dense at the largest budget, %s tokens (val loss)",
                 budgets.items[last - 1]);
        finding_compare(report_add_finding(r, "Budget", claim, "MeKi better after 50B tokens"), "MeKi", &last_meki,
                        "dense", &last_dense, 1, "nats", 4, 1);
    }
    values_free(&last_dense), values_free(&last_meki);
    if (!rc && points) {
        char title[160];
        snprintf(title, sizeof title, "MeKi's gain against training tokens (dense − MeKi val loss, 95%% CI; %d budgets)",
                 points);
        rc = plot_draw(r, "budget.gp", "budget_gain", title, NULL);
    }
    text_list_free(&budgets);
    return rc;
}
