/* Queries over the results database and the views of analysis/views.sql, through the
 * store's statements (runner/store.h). */
#include "analysis/analysis.h"
#include "models/config.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The results database is opened through the store (runner/store.c), the one SQLite layer:
 * it checks the file and its schema version and sets the busy timeout a sweep writing
 * meanwhile needs. */
int db_open_readonly(Report *r, const char *path) { return store_open_readonly(&r->store, path); }

int db_apply_views(Report *r, const char *analysis_dir) {
    char path[4096], *sql = NULL;
    size_t bytes;
    snprintf(path, sizeof path, "%s/views.sql", analysis_dir);
    int rc = read_file(path, &sql, &bytes);
    if (rc) return rc;
    if ((rc = store_exec(r->store, sql))) {
        char reason[1024];   /* copied: error_set must not read the buffer it writes */
        snprintf(reason, sizeof reason, "%s", error_message());
        rc = error_set(ERR_FAILURE, "%s: %s", path, reason);
    }
    free(sql);
    return rc;
}

/* The built-in presets' shapes (models/config.c), so that a run whose label names no preset
 * is still named by the preset it matches. */
static int preset_table(Report *r) {
    int rc = store_exec(r->store, "CREATE TEMP TABLE builtin_presets(name TEXT, d_model INTEGER, n_layers INTEGER, "
                                  "n_heads INTEGER, ffn_hidden INTEGER)");
    for (int i = 0; !rc && model_preset_name(i); i++) {
        ModelConfig c;
        char sql[256];
        if (model_preset(&c, model_preset_name(i)) != OK) { error_clear(); continue; }
        snprintf(sql, sizeof sql, "INSERT INTO builtin_presets VALUES ('%s', %d, %d, %d, %d)", model_preset_name(i), c.d_model,
                 c.n_layers, c.n_heads, c.ffn_hidden);
        rc = store_exec(r->store, sql);
    }
    return rc;
}

int db_snapshot(Report *r) {
    /* One read transaction for the whole report: a sweep writing meanwhile cannot make
     * the header, tables and plots disagree. The views are evaluated once into temp
     * tables (the temp schema is writable on a read-only connection) that every cell of
     * every table then queries. */
    int rc = store_exec(r->store, "BEGIN; CREATE TEMP TABLE figures AS SELECT * FROM run_figures; "
                                "CREATE TEMP TABLE figure_values AS SELECT * FROM run_values; "
                                "CREATE INDEX temp.figure_values_by_name ON figure_values(experiment, name); "
                                "CREATE TEMP TABLE variants AS SELECT * FROM variant_summary; "
                                "CREATE TEMP TABLE variant_stats AS SELECT * FROM variant_values; "
                                "CREATE INDEX temp.variant_stats_by_name ON variant_stats(experiment, variant, name);");
    double plans = 0;
    if (!rc) rc = query_number(r, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'experiment_plans'",
                               NULL, 0, &plans);
    r->has_plans = plans > 0;
    if (!rc) rc = query_number(r, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'item_scores'",
                               NULL, 0, &plans);
    r->has_items = plans > 0;
    return rc ? rc : preset_table(r);
}

/* Prepares sql and binds params; the caller steps and finishes. */
static int open_query(Report *r, const char *sql, const char *const *params, int n_params, sqlite3_stmt **st) {
    int rc = store_prepare(r->store, sql, st);
    if (!rc && (rc = store_bind_texts(r->store, *st, params, n_params))) {
        store_finish(*st, rc);
        *st = NULL;
    }
    return rc;
}

int query_texts(Report *r, const char *sql, const char *const *params, int n_params, TextList *list) {
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, n_params, &st), step;
    if (rc) return rc;
    while ((step = store_step(r->store, st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) text_list_add(list, (const char *)sqlite3_column_text(st, 0));
    return store_finish(st, step < 0 ? -step : OK);
}

int query_number(Report *r, const char *sql, const char *const *params, int n_params, double *value) {
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, n_params, &st), step;
    if (rc) return rc;
    *value = NAN;
    step = store_step(r->store, st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) *value = sqlite3_column_double(st, 0);
    return store_finish(st, step < 0 ? -step : OK);
}

/* Non-NULL values of "SELECT column FROM view WHERE experiment = ?1 [AND name = ?2] AND conds". */
static int collect(Report *r, const char *view, const char *column, const char *experiment, const char *metric,
                   const Cond *conds, int n_conds, Values *values) {
    char sql[1024];
    const char *params[10] = {experiment, metric};
    int first = metric ? 2 : 1;
    size_t used = (size_t)snprintf(sql, sizeof sql, "SELECT %s, seed FROM %s WHERE experiment = ?1 AND %s IS NOT NULL%s",
                                   column, view, column, metric ? " AND name = ?2" : "");
    if (n_conds > 8) return error_set(ERR_FAILURE, "query_values: too many conditions");
    for (int i = 0; i < n_conds && used < sizeof sql; i++) {
        used += (size_t)snprintf(sql + used, sizeof sql - used, " AND %s = ?%d", conds[i].column, first + i + 1);
        params[first + i] = conds[i].value;
    }
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, first + n_conds, &st), step;
    if (rc) return rc;
    while ((step = store_step(r->store, st)) == SQLITE_ROW)
        values_add(values, sqlite3_column_double(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
    return store_finish(st, step < 0 ? -step : OK);
}

int query_values_in(Report *r, const char *view, const char *column, const char *experiment, const Cond *conds,
                    int n_conds, Values *values) {
    return collect(r, view, column, experiment, NULL, conds, n_conds, values);
}

/* The runs of every status meeting conds, and the finished ones without the metric. */
static int count_runs(Report *r, const char *experiment, const char *metric, const Cond *conds, int n_conds,
                      RunCounts *c) {
    char sql[2048];
    const char *params[10] = {experiment, metric};
    size_t used = (size_t)snprintf(sql, sizeof sql,
        "SELECT count(*), sum(status = 'done'), sum(status = 'failed'), sum(status = 'diverged'), "
        "sum(status = 'running'), sum(status = 'done' AND NOT EXISTS (SELECT 1 FROM figure_values x WHERE "
        "x.experiment = s.experiment AND x.hash = s.hash AND x.name = ?2)), count(DISTINCT variant), %s "
        "FROM run_states s WHERE experiment = ?1",
        r->has_plans ? "(SELECT seeds FROM experiment_plans p WHERE p.experiment = ?1)" : "NULL");
    for (int i = 0; i < n_conds && used < sizeof sql; i++) {
        used += (size_t)snprintf(sql + used, sizeof sql - used, " AND %s = ?%d", conds[i].column, i + 3);
        params[2 + i] = conds[i].value;
    }
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, 2 + n_conds, &st), step;
    if (rc) return rc;
    if ((step = store_step(r->store, st)) == SQLITE_ROW) {
        c->counted = 1;
        c->done = sqlite3_column_int(st, 1), c->failed = sqlite3_column_int(st, 2);
        c->diverged = sqlite3_column_int(st, 3), c->running = sqlite3_column_int(st, 4);
        c->no_value = sqlite3_column_int(st, 5);
        c->planned = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1
                   : sqlite3_column_int(st, 7) * sqlite3_column_int(st, 6);
    }
    return store_finish(st, step < 0 ? -step : OK);
}

int query_values(Report *r, const char *metric, const char *experiment, const Cond *conds, int n_conds,
                 Values *values) {
    int rc = collect(r, "figure_values", "value", experiment, metric, conds, n_conds, values);
    return rc ? rc : count_runs(r, experiment, metric, conds, n_conds, &values->runs);
}

int query_stat_in(Report *r, const char *view, const char *column, const char *experiment, const Cond *conds,
                  int n_conds, Stat *stat) {
    Values v = {0};
    int rc = query_values_in(r, view, column, experiment, conds, n_conds, &v);
    *stat = stat_of(v.x, rc ? 0 : v.count);
    values_free(&v);
    return rc;
}

int query_stat(Report *r, const char *metric, const char *experiment, const Cond *conds, int n_conds, Stat *stat) {
    Values v = {0};
    int rc = query_values(r, metric, experiment, conds, n_conds, &v);
    *stat = stat_of(v.x, rc ? 0 : v.count);
    values_free(&v);
    return rc;
}

int query_variant_stat(Report *r, const char *experiment, const char *variant, const char *metric, Stat *stat) {
    const char *params[] = {experiment, variant, metric};
    sqlite3_stmt *st;
    *stat = (Stat){0, NAN, NAN};
    int rc = open_query(r, "SELECT n, mean, std FROM variant_stats WHERE experiment = ?1 AND variant = ?2 AND name = ?3",
                        params, 3, &st), step;
    if (rc) return rc;
    if ((step = store_step(r->store, st)) == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
        stat->n = sqlite3_column_int(st, 0);
        stat->mean = sqlite3_column_double(st, 1);
        stat->std = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
    }
    return store_finish(st, step < 0 ? -step : OK);
}

int query_scales(Report *r, const char *experiment, TextList *scales) {
    const char *sql = "SELECT f.scale FROM figures f LEFT JOIN figure_values p ON p.experiment = f.experiment AND "
                      "p.hash = f.hash AND p.name = 'ram_params' WHERE f.experiment = ?1 GROUP BY f.scale "
                      "ORDER BY max(coalesce(f.d_model, 0)), max(coalesce(f.n_layers, 0)), max(coalesce(p.value, 0)), "
                      "f.scale";
    return query_texts(r, sql, &experiment, 1, scales);
}

void text_list_add(TextList *list, const char *text) {
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 8;
        char **grown = realloc(list->items, (size_t)list->capacity * sizeof *grown);
        if (!grown) abort();   /* a few short strings: out of memory here is not recoverable */
        list->items = grown;
    }
    char *copy = strdup(text ? text : "");
    if (!copy) abort();
    list->items[list->count++] = copy;
}

void text_list_free(TextList *list) {
    for (int i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

void values_add(Values *values, double x, uint64_t seed) {
    if (values->count == values->capacity) {
        values->capacity = values->capacity ? 2 * values->capacity : 16;
        double *grown = realloc(values->x, (size_t)values->capacity * sizeof *grown);
        uint64_t *seeds = grown ? realloc(values->seed, (size_t)values->capacity * sizeof *seeds) : NULL;
        if (!seeds) abort();
        values->x = grown, values->seed = seeds;
    }
    values->seed[values->count] = seed;
    values->x[values->count++] = x;
}

void values_free(Values *values) {
    free(values->x);
    free(values->seed);
    memset(values, 0, sizeof *values);
}
