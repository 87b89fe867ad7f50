/* Small command-line promises, through $MEKI_BIN: help lines name the command as typed,
 * train takes a one-run experiment file (and refuses a grid), db export needs no --csv,
 * decode ends its text before the figures (its control bytes escaped), and zero-shot says
 * when it built fewer items than asked and why. Skipped without MEKI_BIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "runner/store.h"

static char dir[] = "/tmp/meki-test-cli-XXXXXX";
static const char *meki;
static char out[1 << 16];

/* Runs "meki ARGS" with stdout and stderr into one file (as a log would); out holds it. */
static int run(const char *args) {
    char command[4096], path[256];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    snprintf(command, sizeof command, "cd %s && %s %s >%s 2>&1", dir, meki, args, path);
    int status = system(command);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    meki = getenv("MEKI_BIN");
    if (!meki || !mkdtemp(dir)) return 0;
    static char absolute[4096];
    if (meki[0] != '/' && getcwd(absolute, sizeof absolute)) {   /* run() changes folder */
        size_t n = strlen(absolute);
        snprintf(absolute + n, sizeof absolute - n, "/%s", meki);
        meki = absolute;
    }
    /* a corpus of short sentences in 20 files: cloze and choice items can be built from it */
    static const char *const words[] = {"garden", "silver", "morning", "window", "harbor", "lantern",
                                        "meadow", "thunder", "candle", "orchard"};
    char path[256];
    snprintf(path, sizeof path, "%s/corpus", dir);
    mkdir(path, 0755);
    unsigned seed = 7;
    for (int file = 0; file < 20; file++) {
        snprintf(path, sizeof path, "%s/corpus/part%02d.txt", dir, file);
        FILE *f = fopen(path, "w");
        for (int sentence = 0; sentence < 60; sentence++) {
            fputs("The", f);
            for (int w = 0; w < 6; w++) {
                seed = seed * 1103515245u + 12345u;
                fprintf(f, " %s", words[(seed >> 16) % 10]);
            }
            fputs(".\n", f);
        }
        fclose(f);
    }
    return run("data --corpus corpus/*.txt --vocab 300 --out data") == 0 ? 0 : -1;
}

static int teardown(void **state) {
    if (!meki) return 0;
    char command[256];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    return system(command);
}

static void test_bench_train_help(void **state) {
    if (!meki) skip();
    assert_int_equal(run("bench train --help"), 0);
    assert_int_equal(strncmp(out, "usage: ./meki bench train ", 26), 0);
}

/* The JSON line carries the figures that bear a shared machine: tokens per CPU second
 * and page faults per step after warm-up. */
static void test_bench_train_reports_cpu_rate_and_faults(void **state) {
    if (!meki) skip();
    assert_int_equal(run("bench train --preset tiny --batch 2 --steps 2 --threads 1 --json"), 0);
    const char *cpu = strstr(out, "\"train_cpu_tok_s\":"), *faults = strstr(out, "\"faults_per_step\":");
    assert_non_null(cpu);
    assert_non_null(faults);
    assert_true(strtod(cpu + strlen("\"train_cpu_tok_s\":"), NULL) > 0);
    assert_true(strtod(faults + strlen("\"faults_per_step\":"), NULL) >= 0);
}

/* A float flag takes the bound its range states: --lr 1e-9 (the lower bound) parses, and
 * the command goes on to fail on the missing data folder, not on --lr. */
static void test_float_flag_takes_its_bound(void **state) {
    if (!meki) skip();
    assert_int_equal(run("train --lr 1e-9 --data no-such-folder --out lr-bound"), 2);
    assert_null(strstr(out, "out of range"));
    assert_non_null(strstr(out, "no-such-folder"));
}

static void test_db_export_without_csv(void **state) {
    if (!meki) skip();
    char path[256];
    Store *store;   /* an empty results database */
    snprintf(path, sizeof path, "%s/empty.db", dir);
    assert_int_equal(store_open(&store, path), 0);
    store_close(store);
    assert_int_equal(run("db export --db empty.db"), 0);
    assert_int_equal(strncmp(out, "hash,experiment,", 16), 0);
}

/* train FILE.ini trains the one run; the run then serves decode and eval. */
static void test_one_point_file(void **state) {
    if (!meki) skip();
    write_file("grid.ini", "[experiment]\nname = grid\n[model]\npreset = tiny\nvocab_size = 300\n"
                           "[sweep]\nmemory.kind = none, meki\n");
    assert_int_equal(run("train grid.ini --data data"), 2);
    assert_non_null(strstr(out, "has 2 runs"));
    assert_non_null(strstr(out, "./meki sweep grid.ini"));
    write_file("one.ini", "[experiment]\nname = one\n[model]\npreset = tiny\nvocab_size = 300\n"
                          "[train]\ntokens = 1024\nbatch = 2\nseq_len = 32\nwarmup = 1\n");
    assert_int_equal(run("train one.ini --data data --out run --quiet --final-eval-tokens 64"), 0);
    assert_non_null(strstr(out, "val loss"));
    /* MFU as people quote it: a percentage, not a fraction */
    char *mfu = strstr(out, "MFU ");
    assert_non_null(mfu);
    assert_non_null(strchr(mfu, '%'));
    assert_true(strchr(mfu, '%') < strchr(mfu, '\n'));
    /* eval --spread at the run's seq_len scores the windows its final evaluation scored: its
     * val loss (the model's own seq_len, tiny's 64, would cut other windows) */
    double trained, evaluated;
    long scored, split;
    assert_int_equal(sscanf(strstr(out, "val loss"), "val loss %lf nats/token", &trained), 1);
    assert_int_equal(sscanf(strstr(out, " over ") + 6, "%ld of %ld held-out tokens", &scored, &split), 2);
    assert_true(scored < split);   /* a part of the split, so which part matters */
    assert_int_equal(run("eval --checkpoint run --data data --eval-tokens 64 --spread --seq-len 32"), 0);
    assert_int_equal(sscanf(strstr(out, "val loss"), "val loss %lf nats/token", &evaluated), 1);
    assert_true(fabs(evaluated - trained) < 6e-5);   /* printed to 4 and 5 decimals */
    assert_non_null(strstr(out, " over 64 tokens"));

    /* decode: the stats line (stderr) starts a line of its own in a joint log */
    assert_int_equal(run("decode --checkpoint run --data data --prompt 'The garden' -n 8"), 0);
    char *stats = strstr(out, "prompt ");
    assert_non_null(stats);
    assert_true(stats > out && stats[-1] == '\n');
    /* ... and no control byte of the sampled text reaches it: a raw ESC ] from a barely
     * trained model opened a terminal sequence that swallowed the newline */
    assert_int_equal(run("decode --checkpoint run --data data --prompt 'The garden' -n 400 --temperature 3"), 0);
    for (const char *p = out; *p; p++)
        assert_true(!(((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f));

    /* zero-shot: asked for more items than the text gives, it says how many and why */
    assert_int_equal(run("eval --checkpoint run --data data --zero-shot --items 100000"), 0);
    assert_non_null(strstr(out, "zero-shot: cloze: "));
    assert_non_null(strstr(out, " of 100000 items asked for; built "));
    assert_non_null(strstr(out, "held-out sentences tried"));
}

static int curve_lines(const char *path) {
    FILE *f = fopen(path, "r");
    int n = 0;
    for (int c; f && (c = fgetc(f)) != EOF;) n += c == '\n';
    if (f) fclose(f);
    return n;
}

/* Ctrl-C during train (issue 26, 12): the step ends, a checkpoint and curve.log are saved,
 * the message says how to resume, and the same command resumes to the end with each step
 * once in curve.log. */
static void test_train_interrupted_resumes(void **state) {
    if (!meki) skip();
    char curve[300], log[300];
    snprintf(curve, sizeof curve, "%s/sig/curve.log", dir);
    snprintf(log, sizeof log, "%s/sig.txt", dir);
    const char *args = "train --preset tiny --set model.vocab_size=300 --set model.seq_len=16 --tokens 32768 "
                       "--batch 2 --data data --out sig --quiet";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char command[4096];
        snprintf(command, sizeof command, "cd %s && exec %s %s 2>%s", dir, meki, args, log);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    /* 1,024 steps: about a second on a quiet machine, so the signal must come soon after the
     * second step (32 steps once finished before a 100 ms poll saw them); up to 10 minutes
     * on a loaded machine */
    int waited = 0;
    while (curve_lines(curve) < 2 && waited++ < 600000) usleep(1000);
    assert_int_equal(kill(pid, SIGINT), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    FILE *f = fopen(log, "r");
    size_t got = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    assert_non_null(strstr(out, "checkpoint saved in sig"));
    assert_non_null(strstr(out, "resume with: ./meki train --preset tiny"));
    int stopped_at = curve_lines(curve);
    assert_true(stopped_at >= 2 && stopped_at < 1024);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "resumed at step "));
    assert_non_null(strstr(out, "trained 1024 steps"));
    f = fopen(curve, "r");
    assert_non_null(f);
    long step, expected = 1;
    char line[512];
    while (fgets(line, sizeof line, f) && sscanf(line, "%ld", &step) == 1) assert_int_equal(step, expected++);
    fclose(f);
    assert_int_equal(expected, 1025);
    /* a third time: the run is finished, and train says so rather than print 0 tok/s */
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "already trained: "));
    assert_null(strstr(out, "tok/s  MFU"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_train_help),
        cmocka_unit_test(test_bench_train_reports_cpu_rate_and_faults),
        cmocka_unit_test(test_float_flag_takes_its_bound),
        cmocka_unit_test(test_db_export_without_csv),
        cmocka_unit_test(test_one_point_file),
        cmocka_unit_test(test_train_interrupted_resumes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
