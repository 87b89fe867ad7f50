/* Queries over the results database and the views of analysis/views.sql. */
#include "analysis/analysis.h"
#include "util/error.h"
#include "util/fileio.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000   /* a sweep may be writing while the report reads */

/* A damaged database file is bad input (exit 2); anything else a failure. */
static int db_error(Report *r, const char *what) {
    int primary = sqlite3_errcode(r->db) & 0xff;
    int code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT
                   ? ERR_INPUT : ERR_FAILURE;
    return error_set(code, "%s: %s: %s", r->options->db_path, what, sqlite3_errmsg(r->db));
}

int db_open_readonly(Report *r, const char *path) {
    if (!file_exists(path)) return error_set(ERR_INPUT, "%s: no such database (run ./meki sweep first)", path);
    int fd;
    long long size;
    int rc = open_input(path, "database", &fd, &size);   /* a FIFO or folder: refused by name */
    if (rc) return rc;
    close(fd);
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        int rc = error_set(ERR_INPUT, "%s: cannot open: %s", path, r->db ? sqlite3_errmsg(r->db) : "out of memory");
        sqlite3_close(r->db);
        r->db = NULL;
        return rc;
    }
    if (sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS) != SQLITE_OK) return db_error(r, "busy timeout");
    /* Any table of the schema missing means this is not a results database. */
    double tables = 0;
    const char *sql = "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                      "('runs', 'run_experiments', 'curves', 'metrics', 'environment')";
    rc = query_number(r, sql, NULL, 0, &tables);
    if (rc) return error_set(ERR_INPUT, "%s", error_message());
    if (tables != 5) return error_set(ERR_INPUT, "%s: not a meki results database (schema tables missing)", path);
    return OK;
}

int db_apply_views(Report *r, const char *analysis_dir) {
    char path[4096], *sql = NULL, *message = NULL;
    size_t bytes;
    snprintf(path, sizeof path, "%s/views.sql", analysis_dir);
    int rc = read_file(path, &sql, &bytes);
    if (rc) return rc;
    if (sqlite3_exec(r->db, sql, NULL, NULL, &message) != SQLITE_OK) {
        rc = error_set(ERR_FAILURE, "%s: %s", path, message ? message : sqlite3_errmsg(r->db));
        sqlite3_free(message);
    }
    free(sql);
    return rc;
}

int db_snapshot(Report *r) {
    /* One read transaction for the whole report: a sweep writing meanwhile cannot make
     * the header, tables and plots disagree. The pivot and the per-variant summary are
     * evaluated once into temp tables (the temp schema is writable on a read-only
     * connection) that every cell of every table then queries. */
    static const char *const sql = "BEGIN; CREATE TEMP TABLE figures AS SELECT * FROM run_figures; "
                                   "CREATE TEMP TABLE variants AS SELECT * FROM variant_summary;";
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK) return db_error(r, "snapshot");
    return OK;
}

int db_prepare(Report *r, const char *sql, sqlite3_stmt **statement) {
    if (sqlite3_prepare_v2(r->db, sql, -1, statement, NULL) != SQLITE_OK) {
        *statement = NULL;
        return db_error(r, "query");
    }
    return OK;
}

int db_bind_texts(Report *r, sqlite3_stmt *statement, const char *const *params, int n_params) {
    for (int i = 0; i < n_params; i++)
        if (sqlite3_bind_text(statement, i + 1, params[i], -1, SQLITE_TRANSIENT) != SQLITE_OK)
            return db_error(r, "bind");
    return OK;
}

int db_step(Report *r, sqlite3_stmt *statement) {
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc;
    db_error(r, "step");
    return -1;
}

int db_finish(Report *r, sqlite3_stmt *statement, int rc) {
    sqlite3_finalize(statement);
    return rc;
}

/* Prepares sql and binds params; the caller steps and finishes. */
static int open_query(Report *r, const char *sql, const char *const *params, int n_params, sqlite3_stmt **st) {
    int rc = db_prepare(r, sql, st);
    if (!rc && (rc = db_bind_texts(r, *st, params, n_params))) {
        sqlite3_finalize(*st);
        *st = NULL;
    }
    return rc;
}

int query_texts(Report *r, const char *sql, const char *const *params, int n_params, TextList *list) {
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, n_params, &st), step;
    if (rc) return rc;
    while ((step = db_step(r, st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) text_list_add(list, (const char *)sqlite3_column_text(st, 0));
    return db_finish(r, st, step < 0 ? ERR_FAILURE : OK);
}

int query_number(Report *r, const char *sql, const char *const *params, int n_params, double *value) {
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, n_params, &st), step;
    if (rc) return rc;
    *value = NAN;
    step = db_step(r, st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) *value = sqlite3_column_double(st, 0);
    return db_finish(r, st, step < 0 ? ERR_FAILURE : OK);
}

int query_values_in(Report *r, const char *view, const char *column, const char *experiment, const Cond *conds,
                    int n_conds, Values *values) {
    char sql[1024];
    const char *params[9] = {experiment};
    size_t used = (size_t)snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE experiment = ?1 AND %s IS NOT NULL",
                                   column, view, column);
    if (n_conds > 8) return error_set(ERR_FAILURE, "query_values: too many conditions");
    for (int i = 0; i < n_conds && used < sizeof sql; i++) {
        used += (size_t)snprintf(sql + used, sizeof sql - used, " AND %s = ?%d", conds[i].column, i + 2);
        params[i + 1] = conds[i].value;
    }
    sqlite3_stmt *st;
    int rc = open_query(r, sql, params, n_conds + 1, &st), step;
    if (rc) return rc;
    while ((step = db_step(r, st)) == SQLITE_ROW) values_add(values, sqlite3_column_double(st, 0));
    return db_finish(r, st, step < 0 ? ERR_FAILURE : OK);
}

int query_values(Report *r, const char *column, const char *experiment, const Cond *conds, int n_conds,
                 Values *values) {
    return query_values_in(r, "figures", column, experiment, conds, n_conds, values);
}

int query_stat_in(Report *r, const char *view, const char *column, const char *experiment, const Cond *conds,
                  int n_conds, Stat *stat) {
    Values v = {0};
    int rc = query_values_in(r, view, column, experiment, conds, n_conds, &v);
    *stat = stat_of(v.x, rc ? 0 : v.count);
    values_free(&v);
    return rc;
}

int query_stat(Report *r, const char *column, const char *experiment, const Cond *conds, int n_conds,
               Stat *stat) {
    return query_stat_in(r, "figures", column, experiment, conds, n_conds, stat);
}

int query_scales(Report *r, const char *experiment, TextList *scales) {
    const char *sql = "SELECT scale FROM figures WHERE experiment = ?1 GROUP BY scale "
                      "ORDER BY max(coalesce(d_model, 0)), max(coalesce(n_layers, 0)), max(coalesce(ram_params, 0)), scale";
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

void values_add(Values *values, double x) {
    if (values->count == values->capacity) {
        values->capacity = values->capacity ? 2 * values->capacity : 16;
        double *grown = realloc(values->x, (size_t)values->capacity * sizeof *grown);
        if (!grown) abort();
        values->x = grown;
    }
    values->x[values->count++] = x;
}

void values_free(Values *values) {
    free(values->x);
    memset(values, 0, sizeof *values);
}
