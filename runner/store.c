#include "runner/store.h"
#include "runner/experiment.h"
#include "runner/machine.h"
#include "util/error.h"
#include "util/fileio.h"
#include <sqlite3.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 30000
#define BUSY_RETRIES 20        /* whole-transaction retries beyond SQLite's own busy wait */
#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

struct Store {
    sqlite3 *db;
    char path[4096];
    char message[512];         /* first SQLite error of the current operation */
    int merging;               /* a constraint broken now is the source file's fault */
};

/* The tables added to version 1 after its release: created on every open for writing. */
#define ADDED_SQL \
    "-- What each experiment file planned and how the report analyses it ([analysis]), written\n" \
    "-- by every sweep of it; outside any run's identity. Added to version 1 in place\n" \
    "-- (CREATE IF NOT EXISTS on open): older readers ignore it, the report reads it if there.\n" \
    "CREATE TABLE IF NOT EXISTS experiment_plans (\n" \
    "    experiment TEXT PRIMARY KEY,\n" \
    "    seeds INTEGER NOT NULL,         -- seeds per variant\n" \
    "    runs INTEGER NOT NULL,          -- distinct runs of the grid\n" \
    "    baseline TEXT                   -- [analysis] baseline \"section.key=value\"; NULL: the report's default\n" \
    ") WITHOUT ROWID;\n" \
    "\n" \
    "-- Each zero-shot item's correctness per run (bit 0 acc, bit 1 acc_norm of the task's\n" \
    "-- items as built from the held-out text): every seed scores the same items, so the\n" \
    "-- report's intervals take items as the unit. Added to version 1 in place, like the above.\n" \
    "CREATE TABLE IF NOT EXISTS item_scores (\n" \
    "    hash TEXT NOT NULL REFERENCES runs(hash),\n" \
    "    task TEXT NOT NULL,\n" \
    "    item INTEGER NOT NULL,          -- index in the task's items\n" \
    "    correct INTEGER NOT NULL,       -- 1: right by acc\n" \
    "    correct_norm INTEGER NOT NULL,  -- 1: right by acc_norm (acc for a task without it)\n" \
    "    PRIMARY KEY (hash, task, item)\n" \
    ") WITHOUT ROWID;\n"

/* Kept identical to results/schema.sql (tests/test_store.c compares them). */
static const char SCHEMA_SQL[] =
    "-- The results store of the meki harness, schema version 1 (PRAGMA user_version).\n"
    "-- runner/store.c applies this same text to a new database (tests/test_store.c checks\n"
    "-- that the two agree); a change here needs a new version and a migration there.\n"
    "-- Times are UTC ISO 8601 text; NaN figures are stored as NULL.\n"
    "\n"
    "CREATE TABLE IF NOT EXISTS environment (\n"
    "    id TEXT PRIMARY KEY,            -- hash of the other columns: one row per distinct machine setup\n"
    "    host TEXT NOT NULL,\n"
    "    cpu_model TEXT NOT NULL,\n"
    "    cores INTEGER NOT NULL,\n"
    "    openblas TEXT NOT NULL,         -- openblas_get_config(): version, build options, core\n"
    "    threads INTEGER NOT NULL,       -- threads the runs were given\n"
    "    first_seen TEXT NOT NULL\n"
    ");\n"
    "\n"
    "-- One row per resolved configuration: the hash of its canonical JSON identifies it, so a\n"
    "-- configuration that two experiments share is trained once (see run_experiments).\n"
    "CREATE TABLE IF NOT EXISTS runs (\n"
    "    hash TEXT PRIMARY KEY,\n"
    "    experiment TEXT NOT NULL,       -- the experiment that first ran it\n"
    "    variant TEXT NOT NULL,          -- its sweep point, e.g. \"memory.kind=meki\"; \"base\" without axes\n"
    "    config_json TEXT NOT NULL,      -- the fully resolved configuration\n"
    "    seed INTEGER NOT NULL,\n"
    "    git_revision TEXT NOT NULL,     -- git rev-parse HEAD, \"-dirty\" if modified, \"unknown\" outside git\n"
    "    host TEXT NOT NULL,\n"
    "    pid INTEGER NOT NULL,\n"
    "    threads INTEGER NOT NULL,\n"
    "    environment TEXT REFERENCES environment(id),\n"
    "    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged')),\n"
    "    error TEXT,                     -- why a run failed or diverged\n"
    "    started_at TEXT NOT NULL,\n"
    "    finished_at TEXT\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);\n"
    "\n"
    "-- Which experiments (and under which variant label) a run belongs to.\n"
    "CREATE TABLE IF NOT EXISTS run_experiments (\n"
    "    hash TEXT NOT NULL REFERENCES runs(hash),\n"
    "    experiment TEXT NOT NULL,\n"
    "    variant TEXT NOT NULL,\n"
    "    PRIMARY KEY (hash, experiment)\n"
    ") WITHOUT ROWID;\n"
    "\n"
    "-- Per-step training curve.\n"
    "CREATE TABLE IF NOT EXISTS curves (\n"
    "    hash TEXT NOT NULL REFERENCES runs(hash),\n"
    "    step INTEGER NOT NULL,\n"
    "    tokens INTEGER NOT NULL,\n"
    "    train_loss REAL,\n"
    "    val_loss REAL,                  -- NULL on steps without validation\n"
    "    lr REAL,\n"
    "    tok_s REAL,\n"
    "    PRIMARY KEY (hash, step)\n"
    ") WITHOUT ROWID;\n"
    "\n"
    "-- Final figures, one row per name (val_loss, val_ppl, train_tok_s, mfu, ram_params,\n"
    "-- rom_weights, rom_bytes, decode_tok_s, ...); the unit says how to read the value.\n"
    "CREATE TABLE IF NOT EXISTS metrics (\n"
    "    hash TEXT NOT NULL REFERENCES runs(hash),\n"
    "    name TEXT NOT NULL,\n"
    "    value REAL,\n"
    "    unit TEXT NOT NULL,\n"
    "    PRIMARY KEY (hash, name)\n"
    ") WITHOUT ROWID;\n"
    "\n"
    ADDED_SQL
    "\n"
    "PRAGMA user_version = 1;\n";

const char *store_schema_sql(void) { return SCHEMA_SQL; }
const char *store_path(const Store *s) { return s->path; }
sqlite3 *store_handle(Store *s) { return s->db; }

/* ---------- metric lists ---------- */

void metrics_add(MetricList *list, const char *name, double value, const char *unit) {
    for (int i = 0; i < list->count; i++)
        if (!strcmp(list->items[i].name, name)) {   /* a later step may refine a figure */
            list->items[i].value = value;
            snprintf(list->items[i].unit, sizeof list->items[i].unit, "%s", unit);
            return;
        }
    if (list->count == list->capacity) {
        int capacity = list->capacity ? list->capacity * 2 : 32;
        Metric *items = realloc(list->items, (size_t)capacity * sizeof *items);
        if (!items) return;   /* out of memory: the figure is dropped, not the run */
        list->items = items;
        list->capacity = capacity;
    }
    Metric *m = &list->items[list->count++];
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->unit, sizeof m->unit, "%s", unit);
    m->value = value;
}

double metrics_get(const MetricList *list, const char *name) {
    for (int i = 0; i < list->count; i++)
        if (!strcmp(list->items[i].name, name)) return list->items[i].value;
    return NAN;
}

void metrics_free(MetricList *list) {
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* ---------- SQLite helpers: each returns an SQLite code and notes the first error ---------- */

static int note(Store *s, int rc) {
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW || s->message[0]) return rc;
    int sys = sqlite3_system_errno(s->db);
    const char *text = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    if (sys && rc != SQLITE_BUSY && rc != SQLITE_CONSTRAINT)
        snprintf(s->message, sizeof s->message, "%s (%s)", text, strerror(sys));
    else if (rc == SQLITE_IOERR || rc == SQLITE_FULL)   /* SQLite often keeps no errno for the WAL */
        snprintf(s->message, sizeof s->message, "%s (a write failed: is the disk full?)", text);
    else
        snprintf(s->message, sizeof s->message, "%s", text);
    return rc;
}

static int exec(Store *s, const char *sql) { return note(s, sqlite3_exec(s->db, sql, NULL, NULL, NULL)); }

static int prepare(Store *s, sqlite3_stmt **st, const char *sql) {
    *st = NULL;
    return note(s, sqlite3_prepare_v2(s->db, sql, -1, st, NULL));
}

/* Binds values by a format: t text (NULL binds NULL), i int64, d double (NaN binds NULL). */
static int bind(Store *s, sqlite3_stmt *st, const char *format, ...) {
    va_list ap;
    int rc = SQLITE_OK;
    va_start(ap, format);
    for (int i = 0; format[i] && rc == SQLITE_OK; i++) {
        if (format[i] == 't') {
            const char *text = va_arg(ap, const char *);
            rc = text ? sqlite3_bind_text(st, i + 1, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
        } else if (format[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
        } else {
            double v = va_arg(ap, double);
            rc = isfinite(v) ? sqlite3_bind_double(st, i + 1, v) : sqlite3_bind_null(st, i + 1);
        }
    }
    va_end(ap);
    return note(s, rc);
}

/* Steps a statement that returns no rows, then resets it for reuse. */
static int run(Store *s, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    else note(s, rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Prepares, binds, steps and finalizes a one-off statement. */
static int run_sql(Store *s, const char *sql, const char *format, ...) {
    sqlite3_stmt *st;
    int rc = prepare(s, &st, sql);
    if (rc == SQLITE_OK && format) {
        va_list ap;
        va_start(ap, format);
        for (int i = 0; format[i] && rc == SQLITE_OK; i++) {
            if (format[i] == 't') rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
            else if (format[i] == 'i') rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
        }
        va_end(ap);
        note(s, rc);
    }
    if (rc == SQLITE_OK) rc = run(s, st);
    sqlite3_finalize(st);
    return rc;
}

static int read_int(Store *s, const char *sql, long long *value) {
    sqlite3_stmt *st;
    int rc = prepare(s, &st, sql);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) { *value = sqlite3_column_int64(st, 0); rc = SQLITE_OK; }
        else note(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    }
    sqlite3_finalize(st);
    return rc;
}

static void backoff(int attempt) {
    struct timespec t = {0, (long)(50 + (attempt % 10) * 40 + (getpid() % 7) * 10) * 1000000L};
    nanosleep(&t, NULL);
}

/* A damaged or foreign file is bad input (exit 2). */
static int failure_code(int rc) {
    int primary = rc & 0xff;
    return primary == SQLITE_NOTADB || primary == SQLITE_MISMATCH || primary == SQLITE_CORRUPT ||
           primary == SQLITE_FORMAT ? ERR_INPUT : ERR_FAILURE;
}

typedef int (*TransactionBody)(Store *s, void *arg);

/* BEGIN IMMEDIATE takes the write lock first, so a transaction never has to upgrade a read
 * lock (which SQLite refuses with SQLITE_BUSY without waiting). Busy: retry it all. */
static int transaction(Store *s, TransactionBody body, void *arg, const char *what) {
    for (int attempt = 0;; attempt++) {
        s->message[0] = 0;
        int rc = exec(s, "BEGIN IMMEDIATE");
        if (rc == SQLITE_OK) {
            rc = body(s, arg);
            if (rc == SQLITE_OK) rc = exec(s, "COMMIT");
            if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
        if (rc == SQLITE_OK) return OK;
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempt < BUSY_RETRIES) {
            backoff(attempt);
            continue;
        }
        /* merging, a broken NOT NULL or CHECK comes from the source's rows (a damaged file) */
        int code = s->merging && (rc & 0xff) == SQLITE_CONSTRAINT ? ERR_INPUT : failure_code(rc);
        return error_set(code, "%s: %s: %s", s->path, what, s->message);
    }
}

/* ---------- opening ---------- */

static int open_database(Store **out, const char *path, int flags) {
    Store *s = calloc(1, sizeof *s);
    if (!s) return error_set(ERR_FAILURE, "out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    /* a FIFO, folder or device given as the database: refused before SQLite opens it */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(s);
        int fd;
        long long size;
        int code = open_input(path, "database", &fd, &size);   /* names what it is */
        if (!code) { close(fd); code = error_set(ERR_INPUT, "database %s is not a regular file", path); }
        return code;
    }
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        note(s, rc);
        int code = error_set(ERR_FAILURE, "cannot open database %s: %s", path, s->message);
        sqlite3_close(s->db);
        free(s);
        return code;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    *out = s;
    return OK;
}

static int wal_result(void *user, int columns, char **values, char **names) {
    snprintf(user, 16, "%s", columns > 0 && values[0] ? values[0] : "");
    return 0;
}

/* WAL lets readers and one writer proceed together; switching needs a brief exclusive lock. */
static int enable_wal(Store *s) {
    char mode[16] = "";
    for (int attempt = 0;; attempt++) {
        s->message[0] = 0;
        int rc = note(s, sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", wal_result, mode, NULL));
        if (rc == SQLITE_OK && strcmp(mode, "wal") != 0) {
            snprintf(s->message, sizeof s->message, "cannot switch to WAL mode (journal mode %s)", mode);
            rc = SQLITE_ERROR;
        }
        if (rc == SQLITE_OK) return OK;
        if (rc == SQLITE_BUSY && attempt < BUSY_RETRIES) { backoff(attempt); continue; }
        return error_set(failure_code(rc), "cannot open database %s: %s", s->path, s->message);
    }
}

static int ensure_schema(Store *s, void *arg) {
    long long version = 0;
    int rc = read_int(s, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) return rc;
    if (version == STORE_SCHEMA_VERSION) return exec(s, ADDED_SQL);   /* a database made before the table */
    if (version == 0) return exec(s, SCHEMA_SQL);
    snprintf(s->message, sizeof s->message, "schema version %lld, this meki knows version %d", version,
             STORE_SCHEMA_VERSION);
    return SQLITE_MISMATCH;
}

static int make_results_folder(const char *path) {
    if (make_parent_dirs(path)) {
        char reason[1024];   /* copied: error_set must not read the buffer it writes */
        snprintf(reason, sizeof reason, "%s", error_message());
        return error_set(ERR_FAILURE, "cannot create the results folder of %s: %s", path, reason);
    }
    return OK;
}

int store_open(Store **out, const char *path) {
    *out = NULL;
    int rc = make_results_folder(path);
    if (rc) return rc;
    if ((rc = open_database(out, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))) return rc;
    if ((rc = enable_wal(*out)) || (rc = transaction(*out, ensure_schema, NULL, "preparing the schema"))) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

int store_open_readonly(Store **out, const char *path) {
    *out = NULL;
    if (!file_exists(path)) return error_set(ERR_INPUT, "no results database at %s", path);
    int rc = open_database(out, path, SQLITE_OPEN_READONLY);
    if (rc) return rc;
    long long version = 0;
    Store *s = *out;
    int sql = read_int(s, "PRAGMA user_version", &version);
    if (sql != SQLITE_OK) rc = error_set(failure_code(sql), "cannot read database %s: %s", path, s->message);
    else if (version != STORE_SCHEMA_VERSION)
        rc = error_set(ERR_INPUT, "%s: schema version %lld, this meki knows version %d", path, version,
                       STORE_SCHEMA_VERSION);
    if (rc) {
        store_close(s);
        *out = NULL;
    }
    return rc;
}

void store_close(Store *s) {
    if (!s) return;
    sqlite3_close(s->db);   /* every statement is finalized where it is used */
    free(s);
}

/* ---------- environment and runs ---------- */

typedef struct {
    char id[17], host[256], cpu[256], openblas[512];
    int cores, threads;
} Environment;

static int insert_environment(Store *s, void *arg) {
    const Environment *e = arg;
    return run_sql(s, "INSERT OR IGNORE INTO environment(id, host, cpu_model, cores, openblas, threads, "
                      "first_seen) VALUES (?, ?, ?, ?, ?, ?, " NOW_SQL ")",
                   "tttiti", e->id, e->host, e->cpu, (long long)e->cores, e->openblas, (long long)e->threads);
}

int store_record_environment(Store *s, int threads, char id[17]) {
    Environment e = {.threads = threads, .cores = machine_cores()};
    char key[2048];
    machine_host(e.host, sizeof e.host);
    machine_cpu_model(e.cpu, sizeof e.cpu);
    machine_openblas(e.openblas, sizeof e.openblas);
    snprintf(key, sizeof key, "%s\n%s\n%d\n%s\n%d", e.host, e.cpu, e.cores, e.openblas, e.threads);
    config_hash(e.id, key);
    int rc = transaction(s, insert_environment, &e, "recording the environment");
    if (rc == OK) memcpy(id, e.id, 17);
    return rc;
}

int store_run_status(Store *s, const char *hash, char *status, int size) {
    for (int attempt = 0;; attempt++) {
        sqlite3_stmt *st;
        s->message[0] = 0;
        status[0] = 0;
        int rc = prepare(s, &st, "SELECT status FROM runs WHERE hash = ?");
        if (rc == SQLITE_OK) rc = bind(s, st, "t", hash);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) snprintf(status, (size_t)size, "%s", sqlite3_column_text(st, 0));
            rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : note(s, rc);
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_OK) return OK;
        if (rc == SQLITE_BUSY && attempt < BUSY_RETRIES) { backoff(attempt); continue; }
        return error_set(failure_code(rc), "%s: reading run %s: %s", s->path, hash, s->message);
    }
}

typedef struct { const char *hash, *experiment, *variant; } Link;

static int insert_link(Store *s, void *arg) {
    const Link *l = arg;
    return run_sql(s, "INSERT OR IGNORE INTO run_experiments(hash, experiment, variant) VALUES (?, ?, ?)",
                   "ttt", l->hash, l->experiment, l->variant);
}

int store_link_experiment(Store *s, const char *hash, const char *experiment, const char *variant) {
    Link link = {hash, experiment, variant};
    return transaction(s, insert_link, &link, "linking a run to its experiment");
}

typedef struct { const char *experiment, *baseline; int seeds, runs; } Plan;

static int insert_plan(Store *s, void *arg) {
    const Plan *p = arg;
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "INSERT OR REPLACE INTO experiment_plans(experiment, seeds, runs, baseline) "
                             "VALUES (?1, ?2, ?3, nullif(?4, ''))");
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, p->seeds);
    sqlite3_bind_int(st, 3, p->runs);
    sqlite3_bind_text(st, 4, p->baseline ? p->baseline : "", -1, SQLITE_STATIC);
    rc = note(s, sqlite3_step(st));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_record_plan(Store *s, const char *experiment, int seeds, int runs, const char *baseline) {
    Plan plan = {experiment, baseline, seeds, runs};
    return transaction(s, insert_plan, &plan, "recording the experiment's plan");
}

typedef struct { const RunIdentity *id; int started; } BeginArgs;

static int begin_body(Store *s, void *arg) {
    BeginArgs *a = arg;
    const RunIdentity *id = a->id;
    int rc = run_sql(s,
        "INSERT INTO runs(hash, experiment, variant, config_json, seed, git_revision, host, pid, threads, "
        "environment, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', " NOW_SQL ") "
        "ON CONFLICT(hash) DO UPDATE SET git_revision = excluded.git_revision, host = excluded.host, "
        "pid = excluded.pid, threads = excluded.threads, environment = excluded.environment, "
        "status = 'running', error = NULL, started_at = excluded.started_at, finished_at = NULL "
        "WHERE runs.status != 'done'",
        "ttttittiit", id->hash, id->experiment, id->variant, id->config_json, (long long)id->seed,
        id->git_revision, id->host, (long long)getpid(), (long long)id->threads, id->environment);
    a->started = rc == SQLITE_OK && sqlite3_changes(s->db) == 1;
    Link link = {id->hash, id->experiment, id->variant};
    return rc == SQLITE_OK ? insert_link(s, &link) : rc;
}

int store_begin_run(Store *s, const RunIdentity *id, int *started) {
    BeginArgs args = {id, 0};
    int rc = transaction(s, begin_body, &args, "starting a run");
    *started = rc == OK && args.started;
    return rc;
}

typedef struct {
    const char *hash, *status, *error;
    const StepRecord *curve;
    long n_curve;
    const MetricList *metrics;
} FinishArgs;

static int insert_curve(Store *s, const FinishArgs *a) {
    sqlite3_stmt *st;
    int rc = run_sql(s, "DELETE FROM curves WHERE hash = ?", "t", a->hash);
    if (rc == SQLITE_OK) rc = prepare(s, &st, "INSERT OR REPLACE INTO curves(hash, step, tokens, train_loss, "
                                               "val_loss, lr, tok_s) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (rc != SQLITE_OK) return rc;
    for (long i = 0; i < a->n_curve && rc == SQLITE_OK; i++) {
        const StepRecord *r = &a->curve[i];
        rc = bind(s, st, "tiidddd", a->hash, (long long)r->step, (long long)r->tokens, r->train_loss,
                  r->val_loss, r->lr, r->tok_s);
        if (rc == SQLITE_OK) rc = run(s, st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* One zero-shot item's correctness ("item:<task>:<index>", bits as in item_scores). */
static int insert_item(Store *s, sqlite3_stmt *st, const char *hash, const Metric *m) {
    char task[48];
    const char *name = m->name + strlen(METRIC_ITEM_PREFIX), *colon = strrchr(name, ':');
    if (!colon || !isfinite(m->value)) return SQLITE_OK;   /* not an item: nothing to keep */
    snprintf(task, sizeof task, "%.*s", (int)(colon - name), name);
    int bits = (int)m->value;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, task, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, atoi(colon + 1));
    sqlite3_bind_int(st, 4, bits & 1);
    sqlite3_bind_int(st, 5, bits >> 1 & 1);
    int rc = note(s, sqlite3_step(st));
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int insert_metrics(Store *s, const FinishArgs *a) {
    sqlite3_stmt *st, *items = NULL;
    int rc = run_sql(s, "DELETE FROM metrics WHERE hash = ?", "t", a->hash);
    if (rc == SQLITE_OK) rc = run_sql(s, "DELETE FROM item_scores WHERE hash = ?", "t", a->hash);
    if (rc == SQLITE_OK)
        rc = prepare(s, &st, "INSERT OR REPLACE INTO metrics(hash, name, value, unit) VALUES (?, ?, ?, ?)");
    if (rc != SQLITE_OK) return rc;
    rc = prepare(s, &items, "INSERT OR REPLACE INTO item_scores(hash, task, item, correct, correct_norm) "
                            "VALUES (?, ?, ?, ?, ?)");
    for (int i = 0; a->metrics && i < a->metrics->count && rc == SQLITE_OK; i++) {
        const Metric *m = &a->metrics->items[i];
        if (!strncmp(m->name, METRIC_ITEM_PREFIX, strlen(METRIC_ITEM_PREFIX))) {
            rc = insert_item(s, items, a->hash, m);
            continue;
        }
        rc = bind(s, st, "ttdt", a->hash, m->name, m->value, m->unit);
        if (rc == SQLITE_OK) rc = run(s, st);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(items);
    return rc;
}

static int finish_body(Store *s, void *arg) {
    const FinishArgs *a = arg;
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "UPDATE runs SET status = ?, error = ?, finished_at = " NOW_SQL " WHERE hash = ?");
    if (rc == SQLITE_OK) rc = bind(s, st, "ttt", a->status, a->error && a->error[0] ? a->error : NULL, a->hash);
    if (rc == SQLITE_OK) rc = run(s, st);
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && sqlite3_changes(s->db) != 1) {
        snprintf(s->message, sizeof s->message, "run %s was never started", a->hash);
        rc = SQLITE_NOTFOUND;
    }
    if (rc == SQLITE_OK) rc = insert_curve(s, a);
    if (rc == SQLITE_OK) rc = insert_metrics(s, a);
    return rc;
}

int store_finish_run(Store *s, const char *hash, const char *status, const char *error,
                     const StepRecord *curve, long n_curve, const MetricList *metrics) {
    FinishArgs args = {hash, status, error, curve, n_curve, metrics};
    char what[64];
    snprintf(what, sizeof what, "recording run %s", hash);
    return transaction(s, finish_body, &args, what);
}

/* ---------- listing, merging, exporting ---------- */

static void column_text(sqlite3_stmt *st, int column, char *out, size_t size) {
    const unsigned char *text = sqlite3_column_text(st, column);
    snprintf(out, size, "%s", text ? (const char *)text : "");
}

static double column_number(sqlite3_stmt *st, int column) {
    return sqlite3_column_type(st, column) == SQLITE_NULL ? NAN : sqlite3_column_double(st, column);
}

static void read_run_row(sqlite3_stmt *st, RunRow *row) {
    memset(row, 0, sizeof *row);
    column_text(st, 0, row->hash, sizeof row->hash);
    column_text(st, 1, row->status, sizeof row->status);
    column_text(st, 2, row->experiment, sizeof row->experiment);
    column_text(st, 3, row->variant, sizeof row->variant);
    row->seed = (unsigned long long)sqlite3_column_int64(st, 4);
    column_text(st, 5, row->git_revision, sizeof row->git_revision);
    column_text(st, 6, row->host, sizeof row->host);
    row->threads = sqlite3_column_int(st, 7);
    column_text(st, 8, row->started_at, sizeof row->started_at);
    column_text(st, 9, row->finished_at, sizeof row->finished_at);
    column_text(st, 10, row->error, sizeof row->error);
}

/* Every metric of one run, by name: a new metric needs no change here to be listed. */
static int read_run_metrics(Store *s, sqlite3_stmt *st, RunRow *row) {
    int rc = bind(s, st, "t", row->hash);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *unit = sqlite3_column_text(st, 2);
        metrics_add(&row->metrics, (const char *)sqlite3_column_text(st, 0), column_number(st, 1),
                    unit ? (const char *)unit : "");
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) note(s, rc);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_list_runs(Store *s, const char *experiment, const char *status, RunRowCallback each, void *user) {
    sqlite3_stmt *st, *metrics = NULL;
    s->message[0] = 0;
    int rc = prepare(s, &st,
        "SELECT r.hash, r.status, COALESCE(e.experiment, r.experiment), COALESCE(e.variant, r.variant), "
        "r.seed, r.git_revision, r.host, r.threads, r.started_at, r.finished_at, r.error "
        "FROM runs r LEFT JOIN run_experiments e ON e.hash = r.hash "
        "WHERE (?1 IS NULL OR COALESCE(e.experiment, r.experiment) = ?1) AND (?2 IS NULL OR r.status = ?2) "
        "ORDER BY 3, r.started_at, r.hash");
    if (rc == SQLITE_OK) rc = prepare(s, &metrics, "SELECT name, value, unit FROM metrics WHERE hash = ? ORDER BY name");
    if (rc == SQLITE_OK) rc = bind(s, st, "tt", experiment, status);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        RunRow row;
        read_run_row(st, &row);
        rc = read_run_metrics(s, metrics, &row);
        if (rc == SQLITE_OK) each(user, &row);
        metrics_free(&row.metrics);
    }
    if (rc != SQLITE_DONE) note(s, rc);
    sqlite3_finalize(st);
    sqlite3_finalize(metrics);
    if (rc == SQLITE_DONE) return OK;
    return error_set(failure_code(rc), "%s: listing runs: %s", s->path, s->message);
}

/* ---------- statements for other readers ---------- */

int store_exec(Store *s, const char *sql) {
    s->message[0] = 0;
    int rc = exec(s, sql);
    if (rc == SQLITE_OK) return OK;
    return error_set(failure_code(rc), "%s: %s", s->path, s->message);
}

int store_prepare(Store *s, const char *sql, sqlite3_stmt **st) {
    s->message[0] = 0;
    int rc = prepare(s, st, sql);
    if (rc == SQLITE_OK) return OK;
    *st = NULL;
    return error_set(failure_code(rc), "%s: query: %s", s->path, s->message);
}

int store_bind_texts(Store *s, sqlite3_stmt *st, const char *const *texts, int n) {
    s->message[0] = 0;
    for (int i = 0; i < n; i++)
        if (note(s, sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_TRANSIENT)) != SQLITE_OK)
            return error_set(ERR_FAILURE, "%s: bind: %s", s->path, s->message);
    return OK;
}

int store_step(Store *s, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc;
    s->message[0] = 0;
    note(s, rc);
    /* a damaged file is bad input (exit 2): the code travels back negated */
    return -error_set(failure_code(rc), "%s: step: %s", s->path, s->message);
}

int store_finish(sqlite3_stmt *st, int rc) {
    sqlite3_finalize(st);
    return rc;
}

static const char *MERGE_STEPS[] = {
    "CREATE TEMP TABLE IF NOT EXISTS taken(hash TEXT PRIMARY KEY)",
    "DELETE FROM temp.taken",
    /* take what is new, and a finished run over an unfinished one */
    "INSERT INTO temp.taken SELECT s.hash FROM source.runs s LEFT JOIN main.runs m ON m.hash = s.hash "
    "WHERE m.hash IS NULL OR (m.status != 'done' AND s.status = 'done')",
    "INSERT OR IGNORE INTO main.environment(id, host, cpu_model, cores, openblas, threads, first_seen) "
    "SELECT id, host, cpu_model, cores, openblas, threads, first_seen FROM source.environment",
    "DELETE FROM main.curves WHERE hash IN (SELECT hash FROM temp.taken)",
    "DELETE FROM main.metrics WHERE hash IN (SELECT hash FROM temp.taken)",
    "DELETE FROM main.item_scores WHERE hash IN (SELECT hash FROM temp.taken)",
    "DELETE FROM main.runs WHERE hash IN (SELECT hash FROM temp.taken)",
    "INSERT INTO main.runs(hash, experiment, variant, config_json, seed, git_revision, host, pid, threads, "
    "environment, status, error, started_at, finished_at) SELECT hash, experiment, variant, config_json, "
    "seed, git_revision, host, pid, threads, environment, status, error, started_at, finished_at "
    "FROM source.runs WHERE hash IN (SELECT hash FROM temp.taken)",
    "INSERT INTO main.curves(hash, step, tokens, train_loss, val_loss, lr, tok_s) SELECT hash, step, tokens, "
    "train_loss, val_loss, lr, tok_s FROM source.curves WHERE hash IN (SELECT hash FROM temp.taken)",
    "INSERT INTO main.metrics(hash, name, value, unit) SELECT hash, name, value, unit FROM source.metrics "
    "WHERE hash IN (SELECT hash FROM temp.taken)",
    "INSERT OR IGNORE INTO main.run_experiments(hash, experiment, variant) SELECT hash, experiment, variant "
    "FROM source.run_experiments",
};

/* The tables added to version 1 in place: a source made before them has none to merge. */
static const struct { const char *table, *sql; } MERGE_ADDED[] = {
    {"item_scores", "INSERT INTO main.item_scores(hash, task, item, correct, correct_norm) SELECT hash, task, item, "
                    "correct, correct_norm FROM source.item_scores WHERE hash IN (SELECT hash FROM temp.taken)"},
    {"experiment_plans", "INSERT OR IGNORE INTO main.experiment_plans(experiment, seeds, runs, baseline) SELECT "
                         "experiment, seeds, runs, baseline FROM source.experiment_plans"},
};

static int merge_body(Store *s, void *arg) {
    int rc = SQLITE_OK;
    for (size_t i = 0; i < sizeof MERGE_STEPS / sizeof MERGE_STEPS[0] && rc == SQLITE_OK; i++)
        rc = exec(s, MERGE_STEPS[i]);
    for (size_t i = 0; i < sizeof MERGE_ADDED / sizeof MERGE_ADDED[0] && rc == SQLITE_OK; i++) {
        char sql[160];
        long long present = 0;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM source.sqlite_master WHERE type = 'table' AND name = '%s'",
                 MERGE_ADDED[i].table);
        rc = read_int(s, sql, &present);
        if (rc == SQLITE_OK && present) rc = exec(s, MERGE_ADDED[i].sql);
    }
    long long taken = 0;
    if (rc == SQLITE_OK) rc = read_int(s, "SELECT count(*) FROM temp.taken", &taken);
    *(int *)arg = (int)taken;
    return rc;
}

/* PRAGMA quick_check of a whole file: a merge reads only the runs it takes, so damage in
 * the others' pages would pass unreported ("0 runs taken", exit 0). */
static int check_intact(Store *s) {
    sqlite3_stmt *st;
    s->message[0] = 0;
    int rc = prepare(s, &st, "PRAGMA quick_check(1)");
    const char *text = NULL;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) text = (const char *)sqlite3_column_text(st, 0);
    else note(s, rc);
    if (text && !strcmp(text, "ok")) rc = OK;
    else {
        char why[512];
        snprintf(why, sizeof why, "%s", text ? text : s->message);
        for (char *c = why; *c; c++) if (*c == '\n') *c = ' ';   /* one line */
        rc = error_set(ERR_INPUT, "%s is damaged (%s): nothing merged", s->path, why);
    }
    sqlite3_finalize(st);
    return rc;
}

int store_merge(Store *s, const char *source_path, int *runs_taken) {
    Store *source;
    *runs_taken = 0;
    int rc = store_open_readonly(&source, source_path);   /* checks it exists and its version */
    if (rc) return rc;
    rc = check_intact(source);
    store_close(source);
    if (rc) return rc;
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(source_path, a) && realpath(s->path, b) && !strcmp(a, b))
        return error_set(ERR_INPUT, "cannot merge %s into itself", source_path);
    s->message[0] = 0;
    if (run_sql(s, "ATTACH DATABASE ? AS source", "t", source_path) != SQLITE_OK)
        /* it opened and read as a results database just above: failing now, it is damaged */
        return error_set(ERR_INPUT, "%s: cannot attach %s: %s", s->path, source_path, s->message);
    char what[4200];
    snprintf(what, sizeof what, "merging %s", source_path);
    s->merging = 1;
    rc = transaction(s, merge_body, runs_taken, what);
    s->merging = 0;
    sqlite3_exec(s->db, "DETACH DATABASE source", NULL, NULL, NULL);
    return rc;
}
