/* CSV exports for analysis tools (./meki db export): runs with their identity flattened into
 * params.<key> columns and metrics headed with their units, and the learning curves. Read
 * through the store's statement layer, in one read transaction each. */
#include "runner/export.h"
#include "util/csv.h"
#include "util/error.h"
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    char **items;
    int count;
} Names;

static void names_free(Names *n) {
    for (int i = 0; i < n->count; i++) free(n->items[i]);
    free(n->items);
    memset(n, 0, sizeof *n);
}

/* Column 0 (and, when second is set, column 1 into it) of every row of sql. */
static int names_query(Store *s, const char *sql, Names *names, Names *second) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st), step;
    if (rc) return rc;
    while ((step = store_step(s, st)) == SQLITE_ROW) {
        for (int k = 0; k < (second ? 2 : 1); k++) {
            Names *n = k ? second : names;
            const char *text = (const char *)sqlite3_column_text(st, k);
            char **grown = realloc(n->items, (size_t)(n->count + 1) * sizeof *grown);
            if (!grown) return store_finish(st, error_set(ERR_FAILURE, "out of memory"));
            n->items = grown;
            if (!(n->items[n->count] = strdup(text ? text : "")))
                return store_finish(st, error_set(ERR_FAILURE, "out of memory"));
            n->count++;
        }
    }
    return store_finish(st, step < 0 ? -step : OK);
}

static int name_index(const Names *n, const char *name) {
    if (!name) return -1;   /* a NULL cell of a damaged database names nothing */
    for (int i = 0; i < n->count; i++)
        if (!strcmp(n->items[i], name)) return i;
    return -1;
}

static const char *const RUN_COLUMNS[] = {"hash", "experiment", "variant", "seed", "status", "error", "git_revision",
                                          "host", "threads", "started_at", "finished_at"};
#define N_RUN_COLUMNS ((int)(sizeof RUN_COLUMNS / sizeof RUN_COLUMNS[0]))

/* A layer placement as the run's variant wrote it ("last:1"), where the config holds the list
 * it resolved to ("1", read as a count): key "model.KIND.layers" looks for "KIND.layers=".
 * NULL when the variant does not set it. */
static char *written_placement(const char *key, const char *variant) {
    size_t n = key ? strlen(key) : 0;
    if (!variant || n < 14 || strncmp(key, "model.", 6) || strcmp(key + n - 7, ".layers")) return NULL;
    const char *name = key + 6;   /* "KIND.layers" */
    size_t length = strlen(name);
    for (const char *p = strstr(variant, name); p; p = strstr(p + 1, name))
        if ((p == variant || p[-1] == ' ') && p[length] == '=') {
            const char *value = p + length + 1;
            return strndup(value, strcspn(value, " "));
        }
    return NULL;
}

/* One row: the run's columns, its params (NULL cells for keys it lacks) and metrics. */
static int export_run(Store *s, sqlite3_stmt *run, sqlite3_stmt *params, sqlite3_stmt *metrics, const Names *keys,
                      const Names *metric_names, char **cells, FILE *out) {
    const char *hash = (const char *)sqlite3_column_text(run, 0), *config = (const char *)sqlite3_column_text(run, N_RUN_COLUMNS);
    int rc = OK, step;
    for (int c = 0; c < N_RUN_COLUMNS; c++) csv_field(out, (const char *)sqlite3_column_text(run, c), c == 0);
    for (int i = 0; i < keys->count + metric_names->count; i++) cells[i] = NULL;
    const char *param_texts[] = {config};
    sqlite3_reset(params);
    if ((rc = store_bind_texts(s, params, param_texts, 1))) return rc;
    while ((step = store_step(s, params)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(params, 0);
        int i = name_index(keys, key);
        if (i >= 0 && sqlite3_column_type(params, 1) != SQLITE_NULL && !cells[i]) {
            cells[i] = written_placement(key, (const char *)sqlite3_column_text(run, 2));
            if (!cells[i]) cells[i] = strdup((const char *)sqlite3_column_text(params, 1));
        }
    }
    if (step < 0) rc = -step;
    const char *metric_texts[] = {hash};
    sqlite3_reset(metrics);
    if (!rc && (rc = store_bind_texts(s, metrics, metric_texts, 1))) return rc;
    while (!rc && (step = store_step(s, metrics)) == SQLITE_ROW) {
        int i = name_index(metric_names, (const char *)sqlite3_column_text(metrics, 0));
        if (i >= 0 && sqlite3_column_type(metrics, 1) != SQLITE_NULL && !cells[keys->count + i])
            cells[keys->count + i] = strdup((const char *)sqlite3_column_text(metrics, 1));
    }
    if (!rc && step < 0) rc = -step;
    for (int i = 0; i < keys->count + metric_names->count; i++) {
        csv_field(out, cells[i], 0);
        free(cells[i]);
        cells[i] = NULL;
    }
    csv_field(out, config, 0);
    fputc('\n', out);
    return rc;
}

static int runs_body(Store *s, FILE *out) {
    Names keys = {0}, metric_names = {0}, units = {0};
    char **cells = NULL;
    sqlite3_stmt *run = NULL, *params = NULL, *metrics = NULL;
    int rc = names_query(s, "SELECT DISTINCT replace(substr(t.fullkey, 3), '\"', '') FROM runs, json_tree(runs.config_json) t "
                            "WHERE json_valid(runs.config_json) AND t.type NOT IN ('object', 'array') ORDER BY 1",
                         &keys, NULL), step = SQLITE_DONE;
    if (!rc) rc = names_query(s, "SELECT name, min(unit) FROM metrics GROUP BY name ORDER BY name", &metric_names, &units);
    if (!rc && !(cells = calloc((size_t)(keys.count + metric_names.count + 1), sizeof *cells)))
        rc = error_set(ERR_FAILURE, "out of memory");
    if (!rc) rc = store_prepare(s, "SELECT hash, experiment, variant, seed, status, error, git_revision, host, threads, "
                                   "started_at, finished_at, config_json FROM runs ORDER BY experiment, variant, seed, hash",
                                &run);
    if (!rc) rc = store_prepare(s, "SELECT replace(substr(t.fullkey, 3), '\"', ''), t.atom FROM json_tree(CASE WHEN json_valid(?1) THEN ?1 "
                                   "ELSE '{}' END) t WHERE t.type NOT IN ('object', 'array')", &params);
    if (!rc) rc = store_prepare(s, "SELECT name, value FROM metrics WHERE hash = ?1", &metrics);
    if (!rc) {
        for (int c = 0; c < N_RUN_COLUMNS; c++) csv_field(out, RUN_COLUMNS[c], c == 0);
        for (int i = 0; i < keys.count; i++) {
            char header[512];
            snprintf(header, sizeof header, "params.%s", keys.items[i]);
            csv_field(out, header, 0);
        }
        for (int i = 0; i < metric_names.count; i++) {
            char header[512];   /* the unit in the header, so that a column reads alone */
            if (units.items[i][0]) snprintf(header, sizeof header, "%s [%s]", metric_names.items[i], units.items[i]);
            else snprintf(header, sizeof header, "%s", metric_names.items[i]);
            csv_field(out, header, 0);
        }
        csv_field(out, "config_json", 0);
        fputc('\n', out);
        while (!rc && (step = store_step(s, run)) == SQLITE_ROW)
            rc = export_run(s, run, params, metrics, &keys, &metric_names, cells, out);
        if (!rc && step < 0) rc = -step;
    }
    store_finish(params, OK);
    store_finish(metrics, OK);
    rc = store_finish(run, rc);
    free(cells);
    names_free(&keys), names_free(&metric_names), names_free(&units);
    return rc;
}

static int in_transaction(Store *s, FILE *out, int (*body)(Store *, FILE *)) {
    int rc = store_exec(s, "BEGIN");   /* one read transaction: the header matches the rows */
    if (rc) return rc;
    rc = body(s, out);
    store_exec(s, rc ? "ROLLBACK" : "COMMIT");
    if (!rc && (fflush(out) != 0 || ferror(out)))
        rc = error_set(ERR_FAILURE, "export: write failed: %s", strerror(errno));
    return rc;
}

int export_runs_csv(Store *s, FILE *out) { return in_transaction(s, out, runs_body); }

static int curves_body(Store *s, FILE *out) {
    static const char *const HEADER[] = {"hash", "experiment", "variant", "seed", "status", "step", "tokens",
                                         "train_loss [nats]", "val_loss [nats]", "lr", "tok_s [tok/s]"};
    sqlite3_stmt *st;
    /* a run belongs to every experiment that lists it: its curve is repeated under each */
    int rc = store_prepare(s, "WITH m AS (SELECT hash, experiment, variant FROM run_experiments UNION ALL "
                              "SELECT hash, experiment, variant FROM runs r WHERE NOT EXISTS (SELECT 1 FROM "
                              "run_experiments e WHERE e.hash = r.hash AND e.experiment = r.experiment)) "
                              "SELECT c.hash, m.experiment, m.variant, r.seed, r.status, c.step, c.tokens, c.train_loss, "
                              "c.val_loss, c.lr, c.tok_s FROM curves c JOIN runs r ON r.hash = c.hash "
                              "JOIN m ON m.hash = c.hash ORDER BY m.experiment, m.variant, r.seed, c.hash, c.step", &st), step;
    if (rc) return rc;
    for (int c = 0; c < 11; c++) csv_field(out, HEADER[c], c == 0);
    fputc('\n', out);
    while ((step = store_step(s, st)) == SQLITE_ROW) {
        for (int c = 0; c < 11; c++) csv_field(out, (const char *)sqlite3_column_text(st, c), c == 0);
        fputc('\n', out);
    }
    return store_finish(st, step < 0 ? -step : OK);
}

int export_curves_csv(Store *s, FILE *out) { return in_transaction(s, out, curves_body); }
