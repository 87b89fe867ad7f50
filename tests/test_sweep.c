/* ./meki sweep end to end: bad input runs and writes nothing; a sweep killed with -9 and
 * run again finishes every run exactly once with the figures of an uninterrupted sweep;
 * two sweeps at once share the work. Runs $MEKI_BIN (./meki by default) from the
 * repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "runner/experiment.h"
#include "runner/sweep.h"
#include "util/fileio.h"
#include "util/progress.h"

static char temp_dir[] = "/tmp/meki-test-sweep-XXXXXX";
static const char *meki;

/* Two tiny runs (dense and MeKi), 8 steps each, a checkpoint every 2. */
static const char *EXPERIMENT =
    "[experiment]\nname = resume\nseeds = 7\n"
    "[model]\npreset = tiny\n[meki]\nd_mem = 16\n"
    "[train]\ntokens = 2048\nbatch = 4\nwarmup = 2\neval_every = 2\neval_tokens = 512\ncheckpoint_every = 2\n"
    "[sweep]\nmemory.kind = none, meki\n";

static int json_count(const char *text, const char *key);

static const char *temp_path(const char *name) {
    static char paths[8][4096];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 4096, "%s/%s", temp_dir, name);
    return path;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Starts meki with args (NULL-terminated); stdout and stderr go to log. */
static pid_t spawn(const char *log, const char *const *args) {
    const char *argv[32] = {meki};
    int n = 1;
    for (; args[n - 1] && n < 31; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(meki, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void show_log(const char *log) {
    char *text;
    size_t bytes;
    if (read_file(log, &text, &bytes) == 0) {
        fprintf(stderr, "---- %s\n%s----\n", log, text);
        free(text);
    }
}

static int wait_exit(pid_t pid, const char *log) {
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status)) {
        show_log(log);
        fail_msg("meki did not exit normally (status %d)", status);
    }
    return WEXITSTATUS(status);
}

static int run_meki(const char *log, const char *const *args) { return wait_exit(spawn(log, args), log); }

static long long query_int(const char *db_path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    long long value = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 30000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        value = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return value;
}

static void query_text(const char *db_path, const char *sql, char *out, size_t size) {
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = 0;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, size, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A query over database b with database a attached as "a". */
static long long query_pair(const char *a, const char *b, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    char attach[4200];
    long long value = -1;
    assert_int_equal(sqlite3_open_v2(b, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    snprintf(attach, sizeof attach, "ATTACH DATABASE '%s' AS a", a);
    assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW) value = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return value;
}

static long count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    long lines = 0;
    int c;
    if (!f) return 0;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    return lines;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void test_bad_input_writes_nothing(void **state) {
    const char *ini = temp_path("bad.ini"), *db = temp_path("bad/meki.db"), *log = temp_path("bad.log");
    write_text(ini, "[experiment]\nname = bad\n[train]\nbatch = many\n");
    assert_int_equal(run_meki(log, (const char *[]){"sweep", ini, "--db", db, NULL}), 2);
    char *text;
    size_t bytes;
    char where[4200];
    assert_int_equal(read_file(log, &text, &bytes), 0);
    snprintf(where, sizeof where, "%s:4: [train] batch = 'many': expected an integer", ini);
    assert_non_null(strstr(text, where));
    free(text);
    assert_false(file_exists(temp_path("bad")));
    write_text(ini, EXPERIMENT);
    assert_int_equal(run_meki(log, (const char *[]){"sweep", ini, "--db", db, "--shard", "2/2", NULL}), 2);
    assert_int_equal(run_meki(log, (const char *[]){"sweep", NULL}), 2);
    assert_int_equal(run_meki(log, (const char *[]){"sweep", ini, "--db", db, "--dry-run", NULL}), 0);
    assert_false(file_exists(temp_path("bad")));
}

/* Waits until the sweep has finished a run and is past a checkpoint in the next one. */
static int wait_mid_run(const char *db, const char *runs_dir) {
    for (int waited = 0; waited < 600 * 20; waited++) {
        sleep_ms(50);
        if (query_int(db, "SELECT count(*) FROM runs WHERE status = 'done'") < 1) continue;
        sqlite3 *handle;
        sqlite3_stmt *st;
        char hash[64] = "", curve[4300];
        if (sqlite3_open_v2(db, &handle, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) { sqlite3_close(handle); continue; }
        if (sqlite3_prepare_v2(handle, "SELECT hash FROM runs WHERE status = 'running'", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            snprintf(hash, sizeof hash, "%s", sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(handle);
        snprintf(curve, sizeof curve, "%s/%s/curve.log", runs_dir, hash);
        if (hash[0] && count_lines(curve) >= 3) return 1;
    }
    return 0;
}

static void test_kill_and_resume(void **state) {
    const char *ini = temp_path("resume.ini"), *log = temp_path("resume.log");
    const char *a = temp_path("a/meki.db"), *b = temp_path("b/meki.db");
    write_text(ini, EXPERIMENT);
    /* the reference: one uninterrupted sweep */
    const char *sweep_a[] = {"sweep", ini, "--db", a, "--threads", "2", "--quiet", NULL};
    if (run_meki(log, sweep_a) != 0) { show_log(log); fail(); }
    assert_int_equal(query_int(a, "SELECT count(*) FROM runs WHERE status = 'done'"), 2);

    /* the same sweep killed with -9 in the middle of its second run, then run again */
    const char *sweep_b[] = {"sweep", ini, "--db", b, "--threads", "2", "--quiet", NULL};
    pid_t pid = spawn(log, sweep_b);
    int mid_run = wait_mid_run(b, temp_path("b/runs"));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (!mid_run) { show_log(log); fail_msg("the sweep never reached the middle of its second run"); }
    long long done_before = query_int(b, "SELECT count(*) FROM runs WHERE status = 'done'");
    fprintf(stderr, "  killed the sweep after %lld finished runs, in the next one past its checkpoint\n", done_before);
    assert_true(done_before == 1);
    assert_true(query_int(b, "SELECT count(*) FROM runs WHERE status = 'running'") <= 1);
    /* a killed run leaves no curve or metric rows, only its 'running' mark */
    assert_int_equal(query_int(b, "SELECT count(*) FROM metrics m JOIN runs r USING (hash) WHERE r.status = 'running'"), 0);
    sqlite3 *handle;
    assert_int_equal(sqlite3_open(b, &handle), SQLITE_OK);
    assert_int_equal(sqlite3_exec(handle, "CREATE TABLE finished_before AS SELECT hash, finished_at FROM runs "
                                          "WHERE status = 'done'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(handle);
    /* the listing says the run was left running and how to resume it; no finish time */
    char killed[64], *said;
    size_t said_bytes;
    query_text(b, "SELECT hash FROM runs WHERE status = 'running'", killed, sizeof killed);
    char listing[4200], rerun[4200];   /* fresh logs (run_meki appends); not temp_path: its 8 buffers rotate */
    snprintf(listing, sizeof listing, "%s/listing.log", temp_dir);
    snprintf(rerun, sizeof rerun, "%s/rerun.log", temp_dir);
    assert_int_equal(run_meki(listing, (const char *[]){"runs", "--db", b, NULL}), 0);
    assert_int_equal(read_file(listing, &said, &said_bytes), 0);
    assert_non_null(strstr(said, "1 run marked running but no sweep is running it"));
    assert_non_null(strstr(said, "run the same sweep again"));
    char *row = strstr(said, killed);
    assert_non_null(row);
    assert_non_null(strstr(row, " running  resume "));
    assert_null(strstr(row, "Z memory.kind"));   /* the start time is not shown as the finish */
    free(said);

    if (run_meki(rerun, sweep_b) != 0) { show_log(rerun); fail(); }
    assert_int_equal(query_int(b, "SELECT count(*) FROM runs WHERE status = 'done'"), 2);
    assert_int_equal(query_int(b, "SELECT count(*) FROM runs"), 2);
    /* the re-run says what it resumes, and goes on counting where the killed one stopped
     * (it said "run 1 of 1") */
    assert_int_equal(read_file(rerun, &said, &said_bytes), 0);
    assert_non_null(strstr(said, "was left running by an interrupted sweep; resuming it"));
    assert_non_null(strstr(said, "sweep resume: 1 of 2 runs already finished, 1 to run"));
    assert_non_null(strstr(said, "sweep resume: run 2 of 2: "));
    free(said);
    /* each run's curve.log holds every step once, in order (the resumed steps were listed twice) */
    char curves[4400];
    snprintf(curves, sizeof curves, "for f in %s/b/runs/*/curve.log; do awk 'NR > 1 && $1 <= last { exit 1 } "
             "{ last = $1 } END { exit NR != 8 }' $f || exit 1; done", temp_dir);
    assert_int_equal(system(curves), 0);
    /* finished runs were not run again */
    assert_int_equal(query_int(b, "SELECT count(*) FROM finished_before f JOIN runs r USING (hash) "
                                  "WHERE r.finished_at = f.finished_at"), done_before);
    /* the same runs with the same figures, to the last bit */
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM main.runs JOIN a.runs USING (hash)"), 2);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM main.metrics x JOIN a.metrics y USING (hash, name) "
                                      "WHERE x.name IN ('val_loss', 'train_loss', 'steps', 'tokens', 'ram_params') "
                                      "AND x.value = y.value"), 2 * 5);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM main.curves"), 2 * 8);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM main.curves x JOIN a.curves y USING (hash, step) "
                                      "WHERE x.train_loss = y.train_loss AND x.tokens = y.tokens AND "
                                      "x.val_loss IS y.val_loss"), 2 * 8);

    /* a third sweep has nothing to do */
    if (run_meki(log, sweep_b) != 0) { show_log(log); fail(); }
    assert_int_equal(query_int(b, "SELECT count(*) FROM finished_before f JOIN runs r USING (hash) "
                                  "WHERE r.finished_at = f.finished_at"), done_before);

    /* a damaged checkpoint (here truncated; a kill while it was being saved can leave its
     * files from different steps) is set aside and the run starts again from scratch */
    char hash[64], checkpoint[4300], command[4400];
    query_text(b, "SELECT hash FROM runs ORDER BY hash LIMIT 1", hash, sizeof hash);
    snprintf(checkpoint, sizeof checkpoint, "%s/%s/checkpoint.safetensors", temp_path("b/runs"), hash);
    assert_int_equal(truncate(checkpoint, 100), 0);
    assert_int_equal(sqlite3_open(b, &handle), SQLITE_OK);
    assert_int_equal(sqlite3_exec(handle, "UPDATE runs SET status = 'failed' WHERE hash = (SELECT hash FROM runs "
                                          "ORDER BY hash LIMIT 1)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(handle);
    if (run_meki(log, sweep_b) != 0) { show_log(log); fail(); }
    snprintf(command, sizeof command, "ls -d %s/%s/unusable-* >/dev/null 2>&1", temp_path("b/runs"), hash);
    assert_int_equal(system(command), 0);
    assert_int_equal(query_int(b, "SELECT count(*) FROM runs WHERE status = 'done'"), 2);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM main.metrics x JOIN a.metrics y USING (hash, name) "
                                      "WHERE x.name IN ('val_loss', 'train_loss', 'steps', 'tokens', 'ram_params') "
                                      "AND x.value = y.value"), 2 * 5);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM main.curves x JOIN a.curves y USING (hash, step) "
                                      "WHERE x.train_loss = y.train_loss AND x.tokens = y.tokens AND "
                                      "x.val_loss IS y.val_loss"), 2 * 8);

    /* the listing, the export and the merge of the two databases */
    const char *out = temp_path("runs.json"), *csv = temp_path("export.csv"), *merged = temp_path("merged.db");
    assert_int_equal(run_meki(out, (const char *[]){"runs", "--db", b, "--experiment", "resume", "--json", NULL}), 0);
    char *text;
    size_t bytes;
    assert_int_equal(read_file(out, &text, &bytes), 0);
    assert_non_null(strstr(text, "{\"count\":2,\"runs\":[{\"hash\":"));
    free(text);
    assert_int_equal(run_meki(csv, (const char *[]){"db", "export", "--csv", "--db", b, NULL}), 0);
    assert_int_equal(count_lines(csv), 3);
    assert_int_equal(run_meki(log, (const char *[]){"db", "merge", a, b, "-o", merged, NULL}), 0);
    assert_int_equal(query_int(merged, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(query_int(merged, "SELECT count(*) FROM curves"), 2 * 8);
}

/* A run that fails and one that diverges are recorded with their reason; the sweep goes
 * on, exits 1, and a second sweep retries the failed run but not the diverged one. */
static void test_failures_recorded(void **state) {
    const char *ini = temp_path("failing.ini"), *db = temp_path("f/meki.db"), *log = temp_path("failing.log");
    write_text(ini, "[experiment]\nname = failing\n[train]\nbatch = 4\nwarmup = 1\n"
                    "[sweep]\ntrain.tokens = 100, 512\ntrain.diverge_loss = 0.001, 30\n");
    const char *args[] = {"sweep", ini, "--db", db, "--quiet", "--json", NULL};
    if (run_meki(log, args) != 1) { show_log(log); fail(); }
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'failed' AND error LIKE "
                                   "'%less than one batch%'"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'diverged' AND error LIKE "
                                   "'loss % at step 0'"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics m JOIN runs r USING (hash) "
                                   "WHERE r.status = 'diverged' AND m.name = 'train_loss'"), 1);
    truncate(log, 0);
    if (run_meki(log, args) != 1) { show_log(log); fail(); }
    char *text;
    size_t bytes;
    assert_int_equal(read_file(log, &text, &bytes), 0);
    assert_int_equal(json_count(text, "failed"), 2);
    assert_int_equal(json_count(text, "diverged"), 0);
    assert_int_equal(json_count(text, "skipped"), 2);
    free(text);
}

static int json_count(const char *text, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(text, pattern);
    return at ? atoi(at + strlen(pattern)) : -1;
}

/* Two sweeps of one experiment into one database at once: every run done once. */
static void test_concurrent_sweeps(void **state) {
    const char *ini = temp_path("resume.ini"), *db = temp_path("c/meki.db");
    const char *logs[2] = {temp_path("c1.log"), temp_path("c2.log")};
    const char *args[] = {"sweep", ini, "--db", db, "--threads", "1", "--quiet", "--json", NULL};
    pid_t pids[2] = {spawn(logs[0], args), spawn(logs[1], args)};
    int done = 0;
    for (int k = 0; k < 2; k++) {
        if (wait_exit(pids[k], logs[k]) != 0) { show_log(logs[k]); fail(); }
        char *text;
        size_t bytes;
        assert_int_equal(read_file(logs[k], &text, &bytes), 0);
        assert_null(strstr(text, "locked"));
        done += json_count(text, "done");
        free(text);
    }
    assert_int_equal(done, 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'done'"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM curves"), 2 * 8);
}

/* Issue 18: a sweep with [bench] weights_dtypes records, beside the f32 figures, the
 * held-out perplexity and decode speed of the bundle with q8_0 RAM weights; q8_0's
 * rounding moves the perplexity by well under 1%. */
static double metric(const char *db, const char *name) {
    sqlite3 *handle;
    sqlite3_stmt *st;
    double value = NAN;
    assert_int_equal(sqlite3_open_v2(db, &handle, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(handle, "SELECT value FROM metrics WHERE name = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) value = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(handle);
    if (!isfinite(value)) fail_msg("metric %s: missing or not finite", name);
    return value;
}

static void test_weights_dtypes_recorded(void **state) {
    const char *ini = temp_path("weights.ini"), *db = temp_path("w/meki.db"), *log = temp_path("weights.log");
    write_text(ini, "[experiment]\nname = weights\nseeds = 3\n[model]\npreset = tiny\n[memory]\nkind = meki\n"
                    "[meki]\nd_mem = 16\n[train]\ntokens = 4096\nbatch = 4\nwarmup = 2\neval_tokens = 512\n"
                    "[bench]\ntable_dtypes = f32\nweights_dtypes = f32, q8_0\ndecode_tokens = 8\n");
    if (run_meki(log, (const char *[]){"sweep", ini, "--db", db, "--threads", "1", "--quiet", NULL}) != 0) {
        show_log(log);
        fail();
    }
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    double f32 = metric(db, "bundle_val_ppl_f32"), q8 = metric(db, "bundle_val_ppl_weights_q8_0");
    fprintf(stderr, "  bundle val ppl: f32 weights %.4f, q8_0 weights %.4f\n", f32, q8);
    assert_true(f32 > 1 && fabs(q8 / f32 - 1) < 0.01);
    assert_true(metric(db, "bundle_val_loss_weights_q8_0") > 0);
    static const char *const speeds[] = {"folded_decode_tok_s", "dense_decode_tok_s", "folded_decode_cpu_tok_s",
                                         "dense_decode_cpu_tok_s", "folded_over_dense"};
    for (int i = 0; i < 5; i++) {
        char name[80];
        snprintf(name, sizeof name, "%s_weights_q8_0", speeds[i]);
        assert_true(metric(db, speeds[i]) > 0 && metric(db, name) > 0);
    }
    /* q8_0 holds the matrices and head in 34 bytes per 32 values instead of 128 */
    for (int i = 0; i < 2; i++) {
        const char *model = i ? "dense" : "folded";
        char f32_name[80], q8_name[80];
        snprintf(f32_name, sizeof f32_name, "%s_ram_weights_bytes", model);
        snprintf(q8_name, sizeof q8_name, "%s_ram_weights_bytes_weights_q8_0", model);
        double ratio = metric(db, q8_name) / metric(db, f32_name);
        assert_true(ratio > 34.0 / 128 && ratio < 0.5);
    }
    /* the speeds are medians over fresh processes, with their spread beside */
    assert_float_equal(metric(db, "decode_processes"), 5, 0);
    for (int i = 0; i < 2; i++) {
        const char *suffix = i ? "_weights_q8_0" : "";
        char low[80], mid[80], high[80];
        snprintf(low, sizeof low, "folded_over_dense_low%s", suffix);
        snprintf(mid, sizeof mid, "folded_over_dense%s", suffix);
        snprintf(high, sizeof high, "folded_over_dense_high%s", suffix);
        assert_true(metric(db, low) <= metric(db, mid) && metric(db, mid) <= metric(db, high));
    }
    /* bf16 was not asked for */
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics WHERE name LIKE '%weights_bf16'"), 0);
}

static int setup(void **state) {
    meki = getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki";
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int teardown(void **state) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf %s", temp_dir);
    return system(command);
}

/* The sweep's ETA follows the work left, not the runs left: in a 2x2 grid over tokens and
 * depth, the first (smallest) run done says little about the three bigger ones. */
static void test_eta_follows_work(void **state) {
    const char *path = temp_path("eta.ini");
    write_text(path, "[experiment]\nname = eta\nseeds = 1\n[model]\npreset = tiny\n"
                     "[sweep]\ntrain.tokens = 100000, 400000\nmodel.n_layers = 2, 4\n");
    ExperimentConfig *exp = malloc(sizeof *exp);
    assert_int_equal(experiment_load(exp, path), 0);
    assert_int_equal(exp->n_runs, 4);
    double work[4], total = 0;
    for (int r = 0; r < 4; r++) total += work[r] = sweep_run_work(&exp->runs[r].settings);
    /* the same model with 4x the tokens is 4x the work; deeper costs more */
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            const RunSettings *x = &exp->runs[a].settings, *y = &exp->runs[b].settings;
            if (x->model.n_layers == y->model.n_layers && y->train.tokens == 4 * x->train.tokens)
                assert_float_equal(work[b], 4 * work[a], 1e-6 * work[b]);
            if (x->train.tokens == y->train.tokens && y->model.n_layers > x->model.n_layers)
                assert_true(work[b] > work[a]);
        }
    int smallest = 0;
    for (int r = 1; r < 4; r++)
        if (work[r] < work[smallest]) smallest = r;
    double first_run_seconds = 60;
    double eta = progress_eta(first_run_seconds, work[smallest], total);
    assert_float_equal(eta, first_run_seconds * (total - work[smallest]) / work[smallest], 1e-9 * eta);
    /* counting runs would say 3 x 60 s; the bigger runs make it several times that */
    assert_true(eta > 2 * 3 * first_run_seconds);
    assert_true(progress_eta(10, 0, total) < 0);   /* nothing done: no estimate */
    experiment_free(exp);
    free(exp);
}

/* A resumed run counts only the work it has left: counting it whole made the ETA after a
 * resume a few seconds where a minute was left. */
static void test_work_left_after_resume(void **state) {
    const char *path = temp_path("left.ini");
    write_text(path, "[experiment]\nname = left\n[model]\npreset = tiny\n[train]\ntokens = 1000\n");
    ExperimentConfig *exp = malloc(sizeof *exp);
    assert_int_equal(experiment_load(exp, path), 0);
    const RunSettings *s = &exp->runs[0].settings;
    const char *dir = temp_path("left-run");
    assert_int_equal(make_dirs(dir), 0);
    double whole = sweep_run_work(s);
    assert_float_equal(sweep_work_left(s, dir), whole, 0);   /* nothing there: all of it */
    char file[4300];
    snprintf(file, sizeof file, "%s/curve.log", dir);
    write_text(file, "1 250 5 nan 0.001 100\n2 500 4.5 nan 0.001 100\n3 750 4.2 nan 0.001 100");   /* torn last line */
    assert_float_equal(sweep_work_left(s, dir), whole, 0);   /* no checkpoint: from scratch */
    snprintf(file, sizeof file, "%s/checkpoint.safetensors", dir);
    write_text(file, "");
    assert_float_equal(sweep_work_left(s, dir), whole / 2, 1e-9 * whole);
    experiment_free(exp);
    free(exp);
}

/* A resumed training run's ETA is its rate since the resume: counting the steps done before
 * it made a run resumed at 48% print "eta 9s" with two minutes left. */
static void test_train_eta_after_resume(void **state) {
    Progress p;
    progress_begin_from(&p, "train", 1000, 480);
    /* 20 steps in 10 s since the resume: 500 left at 2 steps/s */
    assert_float_equal(progress_eta_at(&p, 500, 10), 250, 1e-9);
    progress_begin(&p, "train", 1000);
    assert_float_equal(progress_eta_at(&p, 500, 10), 10, 1e-9);
    progress_begin_from(&p, "train", 1000, 480);
    assert_true(progress_eta_at(&p, 480, 10) < 0);   /* nothing since the resume: no estimate */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_eta_after_resume),
        cmocka_unit_test(test_eta_follows_work),
        cmocka_unit_test(test_bad_input_writes_nothing),
        cmocka_unit_test(test_kill_and_resume),
        cmocka_unit_test(test_work_left_after_resume),
        cmocka_unit_test(test_concurrent_sweeps),
        cmocka_unit_test(test_failures_recorded),
        cmocka_unit_test(test_weights_dtypes_recorded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
