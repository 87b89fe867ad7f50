/* The SQLite results store (schema in results/schema.sql). Many processes may write one
 * database at once: WAL mode, a 30 s busy timeout, write transactions that take the lock
 * up front (BEGIN IMMEDIATE) and are retried when SQLite still reports it busy.
 * A run's final rows (status, curve, metrics) are written in one transaction, so a run
 * appears whole or not at all. Every failure returns ERR_FAILURE (ERR_INPUT for a bad
 * or missing database file) with a message naming the database. */
#ifndef RUNNER_STORE_H
#define RUNNER_STORE_H
#include "train/train.h"
#include <stdint.h>
#include <stdio.h>

#define STORE_SCHEMA_VERSION 1

typedef struct Store Store;
struct sqlite3;
struct sqlite3_stmt;

typedef struct {
    char name[48];
    double value;               /* NAN is stored as NULL */
    char unit[16];
} Metric;

typedef struct {
    Metric *items;
    int count, capacity;
} MetricList;

/* A metric named METRIC_ITEM_PREFIX "<task>:<item>" is one zero-shot item's correctness
 * (bit 0 acc, bit 1 acc_norm): the store puts it in item_scores, not in metrics, and it
 * travels with the others (MPI included) at no extra cost to the plumbing. */
#define METRIC_ITEM_PREFIX "item:"
void metrics_add(MetricList *list, const char *name, double value, const char *unit);
double metrics_get(const MetricList *list, const char *name);   /* NAN if absent */
void metrics_free(MetricList *list);

/* What identifies a run and where it ran; recorded when the run starts. */
typedef struct {
    const char *hash, *experiment, *variant, *config_json;
    uint64_t seed;
    const char *git_revision, *host, *environment;
    int threads;
} RunIdentity;

/* Opens (creating it, its folder and its schema if needed) the database at path. */
int store_open(Store **store, const char *path);
/* Opens an existing database for reading; ERR_INPUT if it does not exist. */
int store_open_readonly(Store **store, const char *path);
void store_close(Store *store);
const char *store_path(const Store *store);
struct sqlite3 *store_handle(Store *store);

/* Records this machine (host, CPU, OpenBLAS, threads) once; id gets its 16-hex key. */
int store_record_environment(Store *store, int threads, char id[17]);

/* status gets "" when the run is absent, else running|done|failed|diverged. */
int store_run_status(Store *store, const char *hash, char *status, int size);
/* Links a run to an experiment (runs shared between experiments are listed by each). */
int store_link_experiment(Store *store, const char *hash, const char *experiment, const char *variant);
/* The experiment file's plan (seeds per variant, distinct runs) and its [analysis]
 * baseline ("" or NULL: the report's default), replacing an earlier sweep's. */
int store_record_plan(Store *store, const char *experiment, int seeds, int runs, const char *baseline);
/* Marks the run running (inserting it if new) unless it is done; *started = 0 if done. */
int store_begin_run(Store *store, const RunIdentity *id, int *started);
/* One transaction: the run's status and error, its curve (replacing any earlier one)
 * and its metrics. status is done, failed or diverged. */
int store_finish_run(Store *store, const char *hash, const char *status, const char *error,
                     const StepRecord *curve, long n_curve, const MetricList *metrics);

/* Listing for ./meki runs: filters may be NULL. */
typedef struct {
    char hash[17], status[16], experiment[64], variant[256], git_revision[64], host[64];
    char started_at[32], finished_at[32], error[256];
    unsigned long long seed;
    int threads;
    MetricList metrics;         /* every metric recorded for the run, by name; freed after the callback */
} RunRow;
typedef void (*RunRowCallback)(void *user, const RunRow *row);
int store_list_runs(Store *store, const char *experiment, const char *status, RunRowCallback each,
                    void *user);

/* Copies the runs of the database at source_path into store: a run already present is
 * replaced only when it is not done and the source's is. Counts what was taken. */
int store_merge(Store *store, const char *source_path, int *runs_taken);

/* Statements for readers beyond the runner (the report): the one SQLite layer, so every
 * failure names the database. Each returns OK or ERR_FAILURE with error_set(...). */
int store_exec(Store *store, const char *sql);
int store_prepare(Store *store, const char *sql, struct sqlite3_stmt **statement);
int store_bind_texts(Store *store, struct sqlite3_stmt *statement, const char *const *texts, int n);
/* SQLITE_ROW or SQLITE_DONE; on error -ERR_INPUT (a damaged database) or -ERR_FAILURE, with
 * the message set: callers return step < 0 ? -step : OK. */
int store_step(Store *store, struct sqlite3_stmt *statement);
/* Finalizes statement (NULL is fine) and passes rc through. */
int store_finish(struct sqlite3_stmt *statement, int rc);

/* The SQL that creates the schema (identical to results/schema.sql). */
const char *store_schema_sql(void);
#endif
