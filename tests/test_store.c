/* The results store: round trip, many writers at once, merge, and failures (read-only
 * folder, full disk) that must give a clear error and lose nothing already recorded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "runner/export.h"
#include "runner/store.h"
#include "util/error.h"
#include "util/fileio.h"

static char temp_dir[] = "/tmp/meki-test-store-XXXXXX";

static const char *temp_path(const char *name) {
    static char paths[4][4096];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 4096, "%s/%s", temp_dir, name);
    return path;
}

/* The first column of the first row of a query, read with a separate connection. */
static long long query_int(const char *db_path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    long long value = -1;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW) value = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return value;
}

static void query_text(const char *db_path, const char *sql, char *out, size_t size) {
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = 0;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, size, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static RunIdentity identity(const char *hash, const char *experiment, uint64_t seed) {
    RunIdentity id = {hash, experiment, "memory.kind=meki", "{\"model\":{}}", seed, "abc123", "testhost", NULL, 2};
    return id;
}

/* Starts and finishes a run with n_curve curve points and a few metrics. */
static int record_run(Store *s, const char *hash, const char *status, long n_curve, double loss) {
    RunIdentity id = identity(hash, "t", 1);
    int started, rc = store_begin_run(s, &id, &started);
    if (rc) return rc;
    StepRecord *curve = calloc((size_t)n_curve + 1, sizeof *curve);
    for (long i = 0; i < n_curve; i++)
        curve[i] = (StepRecord){i + 1, (i + 1) * 512, loss + 1.0 / (i + 1), i % 4 ? NAN : loss, 1e-3, 1000};
    MetricList m = {0};
    metrics_add(&m, "val_loss", loss, "nats");
    metrics_add(&m, "val_ppl", exp(loss), "ppl");
    metrics_add(&m, "ram_params", 12345, "params");
    metrics_add(&m, "mfu", NAN, "fraction");
    rc = store_finish_run(s, hash, status, strcmp(status, "done") ? "loss nan at step 3" : NULL, curve, n_curve, &m);
    metrics_free(&m);
    free(curve);
    return rc;
}

static void test_schema_file_matches(void **state) {
    char *text;
    size_t bytes;
    assert_int_equal(read_file("results/schema.sql", &text, &bytes), OK);
    assert_string_equal(text, store_schema_sql());
    free(text);
}

static void test_round_trip(void **state) {
    const char *path = temp_path("round/trip/meki.db");   /* missing folders are created */
    Store *s;
    char status[16], env[17], text[256];
    assert_int_equal(store_open(&s, path), OK);
    assert_int_equal(store_record_environment(s, 2, env), OK);
    assert_int_equal(store_run_status(s, "aaaa", status, sizeof status), OK);
    assert_string_equal(status, "");
    RunIdentity id = identity("aaaa", "t", 7);
    id.environment = env;
    int started;
    assert_int_equal(store_begin_run(s, &id, &started), OK);
    assert_true(started);
    assert_int_equal(store_run_status(s, "aaaa", status, sizeof status), OK);
    assert_string_equal(status, "running");
    assert_int_equal(record_run(s, "aaaa", "done", 10, 2.5), OK);
    assert_int_equal(store_begin_run(s, &id, &started), OK);   /* done: never restarted */
    assert_false(started);
    assert_int_equal(record_run(s, "bbbb", "diverged", 3, 9.0), OK);
    assert_int_equal(store_link_experiment(s, "aaaa", "other", "base"), OK);
    store_close(s);

    assert_int_equal(query_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    query_text(path, "PRAGMA journal_mode", text, sizeof text);
    assert_string_equal(text, "wal");
    assert_int_equal(query_int(path, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves WHERE hash = 'aaaa'"), 10);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves WHERE hash = 'aaaa' AND val_loss IS NULL"), 7);
    assert_int_equal(query_int(path, "SELECT count(*) FROM metrics WHERE hash = 'aaaa' AND value IS NULL"), 1);
    assert_int_equal(query_int(path, "SELECT seed FROM runs WHERE hash = 'aaaa'"), 7);
    assert_int_equal(query_int(path, "SELECT count(*) FROM run_experiments WHERE hash = 'aaaa'"), 2);
    assert_int_equal(query_int(path, "SELECT count(*) FROM environment"), 1);
    query_text(path, "SELECT error FROM runs WHERE hash = 'bbbb'", text, sizeof text);
    assert_string_equal(text, "loss nan at step 3");
    query_text(path, "SELECT status || ' ' || (finished_at IS NOT NULL) FROM runs WHERE hash = 'aaaa'", text,
               sizeof text);
    assert_string_equal(text, "done 1");

    assert_int_equal(store_open_readonly(&s, path), OK);
    assert_int_equal(store_run_status(s, "bbbb", status, sizeof status), OK);
    assert_string_equal(status, "diverged");
    store_close(s);
    assert_int_equal(store_open_readonly(&s, temp_path("absent.db")), ERR_INPUT);
    assert_false(file_exists(temp_path("absent.db")));
}

typedef struct { int rows; double novel, loss, absent; char unit[16]; } Listed;

static void collect_row(void *user, const RunRow *row) {
    Listed *l = user;
    l->rows++;
    l->novel = metrics_get(&row->metrics, "novel_metric");
    l->loss = metrics_get(&row->metrics, "val_loss");
    l->absent = metrics_get(&row->metrics, "never_recorded");
    for (int i = 0; i < row->metrics.count; i++)
        if (!strcmp(row->metrics.items[i].name, "novel_metric")) snprintf(l->unit, sizeof l->unit, "%s", row->metrics.items[i].unit);
}

/* A metric is named once, where it is measured: the listing returns every metric of a run
 * by name, including one no listing code knows. */
static void test_list_runs_every_metric(void **state) {
    const char *path = temp_path("listing.db");
    Store *s;
    assert_int_equal(store_open(&s, path), OK);
    RunIdentity id = identity("cccc", "listing", 3);
    int started;
    assert_int_equal(store_begin_run(s, &id, &started), OK);
    MetricList m = {0};
    metrics_add(&m, "val_loss", 3.25, "nats");
    metrics_add(&m, "novel_metric", 42.5, "widgets");
    assert_int_equal(store_finish_run(s, "cccc", "done", NULL, NULL, 0, &m), OK);
    metrics_free(&m);
    Listed l = {0};
    assert_int_equal(store_list_runs(s, "listing", NULL, collect_row, &l), OK);
    store_close(s);
    assert_int_equal(l.rows, 1);
    assert_float_equal(l.novel, 42.5, 0);
    assert_float_equal(l.loss, 3.25, 0);
    assert_true(isnan(l.absent));
    assert_string_equal(l.unit, "widgets");
}

/* Zero-shot items travel as "item:<task>:<index>" metrics and land in item_scores, not in
 * metrics; the plan and [analysis] baseline land in experiment_plans. */
static void test_item_scores_and_plan(void **state) {
    const char *path = temp_path("items.db");
    Store *s;
    assert_int_equal(store_open(&s, path), OK);
    RunIdentity id = identity("dddd", "items", 1);
    int started;
    assert_int_equal(store_begin_run(s, &id, &started), OK);
    MetricList m = {0};
    metrics_add(&m, "word_acc", 0.5, "fraction");
    metrics_add(&m, METRIC_ITEM_PREFIX "word:0", 3, "item");
    metrics_add(&m, METRIC_ITEM_PREFIX "word:7", 0, "item");
    metrics_add(&m, METRIC_ITEM_PREFIX "choice:2", 2, "item");
    assert_int_equal(store_finish_run(s, "dddd", "done", NULL, NULL, 0, &m), OK);
    metrics_free(&m);
    assert_int_equal(store_record_plan(s, "items", 3, 6, "memory.kind=none"), OK);
    assert_int_equal(store_record_plan(s, "plain", 1, 2, ""), OK);
    store_close(s);
    assert_int_equal(query_int(path, "SELECT count(*) FROM metrics WHERE hash = 'dddd'"), 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM item_scores WHERE hash = 'dddd'"), 3);
    assert_int_equal(query_int(path, "SELECT correct * 10 + correct_norm FROM item_scores WHERE task = 'word' AND item = 0"), 11);
    assert_int_equal(query_int(path, "SELECT correct * 10 + correct_norm FROM item_scores WHERE task = 'word' AND item = 7"), 0);
    assert_int_equal(query_int(path, "SELECT correct * 10 + correct_norm FROM item_scores WHERE task = 'choice' AND item = 2"), 1);
    char text[64];
    query_text(path, "SELECT baseline FROM experiment_plans WHERE experiment = 'items'", text, sizeof text);
    assert_string_equal(text, "memory.kind=none");
    assert_int_equal(query_int(path, "SELECT seeds * 100 + runs FROM experiment_plans WHERE experiment = 'items'"), 306);
    assert_int_equal(query_int(path, "SELECT baseline IS NULL FROM experiment_plans WHERE experiment = 'plain'"), 1);
}

/* A version-1 database made before item_scores and experiment_plans gets them on open. */
static void test_added_tables_migrate(void **state) {
    const char *path = temp_path("old.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store_schema_sql(), NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE item_scores; DROP TABLE experiment_plans", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    Store *s;
    assert_int_equal(store_open(&s, path), OK);
    store_close(s);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('item_scores', 'experiment_plans')"), 2);
    assert_int_equal(query_int(path, "PRAGMA user_version"), 1);
}

/* A failed run is retried by the next sweep: begin marks it running again. */
static void test_failed_run_restarts(void **state) {
    const char *path = temp_path("restart.db");
    Store *s;
    int started;
    assert_int_equal(store_open(&s, path), OK);
    assert_int_equal(record_run(s, "cccc", "failed", 2, 5.0), OK);
    RunIdentity id = identity("cccc", "t", 1);
    assert_int_equal(store_begin_run(s, &id, &started), OK);
    assert_true(started);
    assert_int_equal(record_run(s, "cccc", "done", 4, 3.0), OK);
    store_close(s);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves WHERE hash = 'cccc'"), 4);
    assert_int_equal(query_int(path, "SELECT count(*) FROM runs WHERE error IS NULL AND status = 'done'"), 1);
}

static void test_not_a_database(void **state) {
    const char *path = temp_path("garbage.db");
    FILE *f = fopen(path, "w");
    fputs("this is not an SQLite database, just some text that is long enough to be a header.......", f);
    fclose(f);
    Store *s;
    assert_int_equal(store_open(&s, path), ERR_INPUT);
    assert_non_null(strstr(error_message(), path));
    assert_non_null(strstr(error_message(), "not a database"));
}

enum { WRITERS = 3, RUNS_EACH = 150, SHARED = 30, CURVE = 20 };

/* Each writer records its own runs plus SHARED runs that every writer records too. */
static int writer(const char *path, int k) {
    Store *s;
    char hash[32];
    if (store_open(&s, path)) { fprintf(stderr, "writer %d: %s\n", k, error_message()); return 1; }
    for (int i = 0; i < RUNS_EACH; i++) {
        if (i < SHARED) snprintf(hash, sizeof hash, "shared%04d", i);
        else snprintf(hash, sizeof hash, "w%d-%04d", k, i);
        if (record_run(s, hash, "done", CURVE, 1.0 + i)) {
            fprintf(stderr, "writer %d: %s\n", k, error_message());
            store_close(s);
            return 1;
        }
    }
    store_close(s);
    return 0;
}

static void test_concurrent_writers(void **state) {
    const char *path = temp_path("concurrent.db");
    pid_t pids[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) _exit(writer(path, k));   /* each opens (and maybe creates) the database */
    }
    for (int k = 0; k < WRITERS; k++) {
        int status;
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    long long runs = WRITERS * (RUNS_EACH - SHARED) + SHARED;
    assert_int_equal(query_int(path, "SELECT count(*) FROM runs WHERE status = 'done'"), runs);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves"), runs * CURVE);
    assert_int_equal(query_int(path, "SELECT count(*) FROM metrics"), runs * 4);
    assert_int_equal(query_int(path, "SELECT count(*) FROM (SELECT hash FROM curves GROUP BY hash HAVING "
                                     "count(*) != 20)"), 0);
}

/* Runs as "nobody" when we are root, so that file permissions apply. */
static void drop_privileges(void) {
    if (geteuid() != 0) return;
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
}

static int try_write_readonly(const char *existing, const char *fresh) {
    drop_privileges();
    Store *s;
    int rc = store_open(&s, existing);
    if (rc == OK) {   /* opened for reading: the write itself must fail cleanly */
        rc = record_run(s, "late", "done", 5, 1.0);
        store_close(s);
    }
    if (rc == OK || !strstr(error_message(), existing)) return 1;
    fprintf(stderr, "  (expected) %s\n", error_message());
    if (store_open(&s, fresh) == OK || !strstr(error_message(), fresh)) return 2;
    fprintf(stderr, "  (expected) %s\n", error_message());
    return 0;
}

static void test_readonly_folder(void **state) {
    const char *dir = temp_path("readonly"), *path = temp_path("readonly/meki.db");
    const char *fresh = temp_path("readonly/new/meki.db");
    Store *s;
    assert_int_equal(make_dirs(dir), OK);
    assert_int_equal(store_open(&s, path), OK);
    assert_int_equal(record_run(s, "kept", "done", 8, 2.0), OK);
    store_close(s);
    assert_int_equal(chmod(path, 0444), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    pid_t pid = fork();
    if (pid == 0) _exit(try_write_readonly(path, fresh));
    int status;
    waitpid(pid, &status, 0);
    chmod(dir, 0755);
    chmod(path, 0644);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(query_int(path, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves WHERE hash = 'kept'"), 8);
    /* a folder that cannot exist: a file stands where it should be */
    assert_int_equal(store_open(&s, temp_path("round/trip/meki.db/sub/meki.db")), ERR_FAILURE);
    assert_non_null(strstr(error_message(), "cannot create the results folder"));
}

/* In a child limited to a small file size, records runs until the disk is "full";
 * reports through the pipe how many were committed. */
static int fill_disk(const char *path, int report_fd) {
    struct stat st;
    if (stat(path, &st) != 0) return 4;
    struct rlimit limit = {(rlim_t)st.st_size + 96 * 1024, (rlim_t)st.st_size + 96 * 1024};
    signal(SIGXFSZ, SIG_IGN);   /* a write past the limit fails with EFBIG instead of killing us */
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 5;
    Store *s;
    if (store_open(&s, path)) return 6;
    int committed = 0, rc = OK;
    char hash[32];
    while (committed < 1000) {
        snprintf(hash, sizeof hash, "fill%04d", committed);
        if ((rc = record_run(s, hash, "done", 200, 1.0))) break;
        committed++;
    }
    fprintf(stderr, "  (expected) after %d runs: %s\n", committed, error_message());
    int clear = rc != OK && strstr(error_message(), path) && strstr(error_message(), hash);
    store_close(s);
    if (write(report_fd, &committed, sizeof committed) != sizeof committed) return 7;
    return clear ? 0 : 8;
}

static void test_full_disk(void **state) {
    const char *path = temp_path("full.db");
    Store *s;
    assert_int_equal(store_open(&s, path), OK);
    assert_int_equal(record_run(s, "before", "done", 50, 2.0), OK);
    store_close(s);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) _exit(fill_disk(path, fds[1]));
    int status, committed = -1;
    waitpid(pid, &status, 0);
    assert_int_equal(read(fds[0], &committed, sizeof committed), sizeof committed);
    close(fds[0]);
    close(fds[1]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(committed > 0 && committed < 1000);
    char check[64];
    query_text(path, "PRAGMA integrity_check", check, sizeof check);
    assert_string_equal(check, "ok");
    /* everything committed is whole; the run that hit the limit is still marked running
     * (a later sweep runs it again) and has no curve or metric rows */
    assert_int_equal(query_int(path, "SELECT count(*) FROM runs WHERE status = 'done' AND hash LIKE 'fill%'"),
                     committed);
    assert_true(query_int(path, "SELECT count(*) FROM runs WHERE status = 'running'") <= 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM runs WHERE status NOT IN ('done', 'running')"), 0);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves WHERE hash LIKE 'fill%'"), committed * 200);
    assert_int_equal(query_int(path, "SELECT count(*) FROM metrics WHERE hash LIKE 'fill%'"), committed * 4);
    assert_int_equal(query_int(path, "SELECT count(*) FROM curves WHERE hash = 'before'"), 50);
}

static void test_merge(void **state) {
    const char *a = temp_path("shard-a.db"), *b = temp_path("shard-b.db"), *out = temp_path("merged.db");
    Store *s;
    assert_int_equal(store_open(&s, a), OK);
    assert_int_equal(record_run(s, "both", "failed", 2, 9.0), OK);
    assert_int_equal(record_run(s, "only-a", "done", 3, 1.0), OK);
    store_close(s);
    assert_int_equal(store_open(&s, b), OK);
    assert_int_equal(record_run(s, "both", "done", 5, 2.0), OK);
    assert_int_equal(record_run(s, "only-b", "done", 4, 1.5), OK);
    store_close(s);
    int taken;
    assert_int_equal(store_open(&s, out), OK);
    assert_int_equal(store_merge(s, a, &taken), OK);
    assert_int_equal(taken, 2);
    assert_int_equal(store_merge(s, b, &taken), OK);
    assert_int_equal(taken, 2);   /* only-b, and both: done replaces failed */
    assert_int_equal(store_merge(s, a, &taken), OK);
    assert_int_equal(taken, 0);   /* merging again changes nothing */
    assert_int_equal(store_merge(s, temp_path("nothing.db"), &taken), ERR_INPUT);
    assert_int_equal(store_merge(s, out, &taken), ERR_INPUT);
    store_close(s);
    assert_int_equal(query_int(out, "SELECT count(*) FROM runs"), 3);
    assert_int_equal(query_int(out, "SELECT count(*) FROM runs WHERE status = 'done'"), 3);
    assert_int_equal(query_int(out, "SELECT count(*) FROM curves WHERE hash = 'both'"), 5);
    assert_int_equal(query_int(out, "SELECT count(*) FROM curves"), 12);
    assert_int_equal(query_int(out, "SELECT count(*) FROM metrics"), 12);
}

static void test_export_csv(void **state) {
    Store *s;
    char *text = NULL;
    size_t size = 0;
    assert_int_equal(store_open_readonly(&s, temp_path("merged.db")), OK);
    FILE *out = open_memstream(&text, &size);
    assert_int_equal(export_runs_csv(s, out), OK);
    fclose(out);
    store_close(s);
    int lines = 0;
    for (char *c = text; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 4);   /* header and three runs */
    assert_non_null(strstr(text, "hash,experiment,variant,seed,status,error,git_revision,host,threads,started_at,"
                                 "finished_at,mfu [fraction],ram_params [params],val_loss [nats],val_ppl [ppl],config_json\n"));
    assert_non_null(strstr(text, ",12345.0,1.5,"));
    assert_non_null(strstr(text, "\"{\"\"model\"\":{}}\""));   /* quotes doubled inside quotes */
    free(text);
}

/* A layer placement shows as the variant wrote it ("last:1"), not as the list it resolved
 * to ("1", which reads as a count); the resolved one stays in config_json. */
static void test_export_csv_layer_placement(void **state) {
    Store *s;
    const char *path = temp_path("layers.db");
    assert_int_equal(store_open(&s, path), OK);
    RunIdentity id = identity("lastone", "layers", 1);
    id.variant = "model.preset=tiny meki.layers=last:1";
    id.config_json = "{\"model\":{\"n_layers\":2,\"memory\":\"meki\",\"meki\":{\"layers\":\"1\"}}}";
    int started;
    assert_int_equal(store_begin_run(s, &id, &started), OK);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_int_equal(export_runs_csv(s, out), OK);   /* ./meki db export */
    fclose(out);
    store_close(s);
    assert_non_null(strstr(text, ",params.model.meki.layers,"));
    assert_non_null(strstr(text, ",last:1,"));
    assert_non_null(strstr(text, "\"\"layers\"\":\"\"1\"\""));   /* config_json keeps the resolved list */
    free(text);
}

/* A database whose metrics table was damaged (found by tests/fuzz/fuzz_store.c; a metric
 * name there reads as a zero-length blob, which the export takes as an empty name, not as
 * running out of memory): exported again and again, the heap in use (glibc's mallinfo2)
 * levels off after a few hundred exports (allocator caches filling); a leak of the metric
 * names once grew it by about 30 bytes an export (40 kB over the last 600). */
static void test_export_damaged_frees(void **state) {
    const char *damaged = "tests/fuzz/regressions/store/metrics-page-corrupt-leak.db";
    char *bytes;
    size_t n;
    assert_int_equal(read_file(damaged, &bytes, &n), OK);
    FILE *copy = fopen(temp_path("damaged.db"), "wb");
    assert_non_null(copy);
    assert_int_equal(fwrite(bytes, 1, n, copy), n);
    fclose(copy);
    free(bytes);
    size_t before = 0;
    for (int round = 0; round < 1000; round++) {
        if (round == 400) before = mallinfo2().uordblks;
        Store *s;
        assert_int_equal(store_open_readonly(&s, temp_path("damaged.db")), OK);
        FILE *out = fopen("/dev/null", "w");
        assert_int_equal(export_runs_csv(s, out), OK);
        fclose(out);
        store_close(s);
    }
    size_t after = mallinfo2().uordblks;
    assert_true(after < before + 8000);
}

/* A damaged database may hold NULL where the schema says NOT NULL (here: the same tables
 * without the constraints). Export writes such cells empty; merge refuses the file as bad
 * input naming it, and FIFO in place of a database is refused without blocking. */
static const char *null_database(void) {
    const char *path = temp_path("nulls.db");
    unlink(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *sql =
        "CREATE TABLE environment(id, host, cpu_model, cores, openblas, threads, first_seen);"
        "CREATE TABLE runs(hash, experiment, variant, config_json, seed, git_revision, host, pid, threads,"
        " environment, status, error, started_at, finished_at);"
        "CREATE TABLE run_experiments(hash, experiment, variant);"
        "CREATE TABLE curves(hash, step, tokens, train_loss, val_loss, lr, tok_s);"
        "CREATE TABLE metrics(hash, name, value, unit);"
        "INSERT INTO runs(hash) VALUES (NULL);"
        "INSERT INTO runs(hash, status) VALUES ('abc', 'done');"
        "INSERT INTO metrics VALUES ('abc', NULL, 1.5, NULL), (NULL, 'val_loss', 2.5, 'nats');"
        "PRAGMA user_version = 1;";
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    return path;
}

static void test_null_cells(void **state) {
    const char *path = null_database();
    Store *s;
    assert_int_equal(store_open_readonly(&s, path), OK);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_int_equal(export_runs_csv(s, out), OK);
    fclose(out);
    store_close(s);
    assert_non_null(strstr(text, "abc,"));
    assert_non_null(strstr(text, ",val_loss [nats],"));   /* the named metric is a column */
    free(text);

    Store *target;
    const char *merged = temp_path("merged-nulls.db");
    assert_int_equal(store_open(&target, merged), OK);
    int taken = -1;
    assert_int_equal(store_merge(target, path, &taken), ERR_INPUT);
    assert_non_null(strstr(error_message(), path));
    store_close(target);
}

static void test_fifo_database_refused(void **state) {
    const char *path = temp_path("fifo.db");
    unlink(path);
    assert_int_equal(mkfifo(path, 0644), 0);
    Store *s;
    alarm(20);   /* the old code blocked in SQLite's open() */
    assert_int_equal(store_open_readonly(&s, path), ERR_INPUT);
    assert_non_null(strstr(error_message(), path));
    assert_int_equal(store_open(&s, path), ERR_INPUT);
    alarm(0);
    unlink(path);
}

/* A page of the database overwritten: every reader reports bad input naming the file. */
static void test_corrupt_pages(void **state) {
    const char *path = temp_path("corrupt.db");
    unlink(path);
    Store *s;
    assert_int_equal(store_open(&s, path), OK);
    for (int i = 0; i < 40; i++) {
        char hash[32];
        snprintf(hash, sizeof hash, "run%04d", i);
        assert_int_equal(record_run(s, hash, "done", 50, 1.0 + i), OK);
    }
    store_close(s);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    for (long at = 4096; at < size; at++) {   /* every page but the first */
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(c ^ (1 << (at % 8)), f);
    }
    fclose(f);
    assert_int_equal(store_open_readonly(&s, path), OK);
    char *text = NULL;
    size_t bytes = 0;
    FILE *out = open_memstream(&text, &bytes);
    assert_int_equal(export_runs_csv(s, out), ERR_INPUT);
    fclose(out);
    free(text);
    assert_non_null(strstr(error_message(), path));
    store_close(s);
}

static int setup(void **state) { return mkdtemp(temp_dir) && chmod(temp_dir, 0755) == 0 ? 0 : -1; }

static int teardown(void **state) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf %s", temp_dir);
    return system(command);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_file_matches),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_failed_run_restarts),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_readonly_folder),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_list_runs_every_metric),
        cmocka_unit_test(test_item_scores_and_plan),
        cmocka_unit_test(test_added_tables_migrate),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_export_csv),
        cmocka_unit_test(test_export_csv_layer_placement),
        cmocka_unit_test(test_export_damaged_frees),
        cmocka_unit_test(test_null_cells),
        cmocka_unit_test(test_fifo_database_refused),
        cmocka_unit_test(test_corrupt_pages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
