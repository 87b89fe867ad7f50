/* Bad input through the command line, table-driven: each case runs `./meki ARGS` (through
 * sh, in the repository root) after an optional setup, and must exit with its code, say a
 * given word on stderr, and leave nothing half-written. The tables live in
 * tests/badinput/ (flags.inc, files.inc) so that each area keeps its own cases.
 *
 * In a case's setup, args and absent path:
 *   $T  a fresh empty folder for this case (removed afterwards)
 *   $F  shared fixtures made once: $F/data (prepared tiny corpus), $F/dense and $F/meki
 *       (tiny checkpoints trained a few steps), $F/bundle (the MeKi checkpoint folded)
 *   $M  the meki binary
 *   $TL the time limit in seconds (rows wrapping meki in their own `timeout` use it)
 * Every case is killed after $TL s, so a hang fails instead of stalling the suite. A case
 * takes well under a second; the limit is generous because a loaded machine (make test
 * beside other builds) once slowed a case past 60 s. MEKI_TEST_TIMEOUT overrides it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *name;     /* short id, printed on failure */
    const char *setup;    /* sh commands run before (cwd: repository root), or NULL */
    const char *args;     /* arguments to meki, as sh words */
    int exit_code;        /* expected exit status (2 for bad input) */
    const char *word;     /* must appear in stderr, case-insensitive; NULL: anything */
    const char *absent;   /* a path that must not exist afterwards (e.g. "$T/out"), or NULL */
} BadCase;

static const BadCase CASES[] = {
#include "tests/badinput/flags.inc"
#include "tests/badinput/files.inc"
};
enum { N_CASES = sizeof CASES / sizeof CASES[0] };

static char fixtures[] = "/tmp/meki-badinput-XXXXXX";
static const char *meki;
static int time_limit = 300;

static int sh(const char *command) {
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* A temporary file left behind (*.tmp.*) is a half-written output. */
static int find_temp(const char *dir, char *found, size_t size) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int hit = 0;
    while (!hit && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (strstr(e->d_name, ".tmp.")) { snprintf(found, size, "%s", path); hit = 1; }
        else if (S_ISDIR(st.st_mode)) hit = find_temp(path, found, size);
    }
    closedir(d);
    return hit;
}

static int make_fixtures(void **state) {
    meki = getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki";
    if (getenv("MEKI_TEST_TIMEOUT") && atoi(getenv("MEKI_TEST_TIMEOUT")) > 0)
        time_limit = atoi(getenv("MEKI_TEST_TIMEOUT"));
    /* BADINPUT_FIXTURES=DIR: fixtures made by an earlier run, kept (saves minutes while iterating) */
    if (getenv("BADINPUT_FIXTURES")) {
        if (strlen(getenv("BADINPUT_FIXTURES")) >= sizeof fixtures) return -1;   /* a short path */
        snprintf(fixtures, sizeof fixtures, "%s", getenv("BADINPUT_FIXTURES"));
        return 0;
    }
    if (!mkdtemp(fixtures)) return -1;
    char command[8192];
    snprintf(command, sizeof command,
             "set -e; F=%s; M=%s; "
             "printf 'In the beginning was the word, and the word was with the text.\\n%%.0s' $(seq 400) > $F/a.txt; "
             "printf 'A second document, so that one can be held out for validation.\\n%%.0s' $(seq 400) > $F/b.txt; "
             "$M data --corpus $F/a.txt $F/b.txt --vocab 300 --out $F/data >/dev/null 2>&1; "
             "$M train --preset tiny --set model.vocab_size=300 --tokens 2048 --batch 4 --data $F/data "
             "--out $F/dense --quiet >/dev/null; "
             "$M train --preset tiny --memory meki --set model.vocab_size=300 --tokens 2048 --batch 4 "
             "--data $F/data --out $F/meki --quiet >/dev/null; "
             "$M fold --checkpoint $F/meki --out $F/bundle --table-dtype f32,q8 >/dev/null",
             fixtures, meki);
    if (sh(command) != 0) { fprintf(stderr, "badinput: fixtures failed: %s\n", command); return -1; }
    return 0;
}

static int remove_fixtures(void **state) {
    if (getenv("BADINPUT_FIXTURES")) return 0;
    char command[4200];
    snprintf(command, sizeof command, "rm -rf %s", fixtures);
    sh(command);
    return 0;
}

static void read_all(const char *path, char *out, size_t size) {
    out[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(out, 1, size - 1, f);
    out[n] = 0;
    fclose(f);
}

static void test_bad_input_cases(void **state) {
    int failures = 0, ran = 0;
    /* BADINPUT_ONLY=WORD runs only the cases whose name holds WORD (while working on them) */
    const char *only = getenv("BADINPUT_ONLY");
    for (int i = 0; i < N_CASES; i++) {
        const BadCase *c = &CASES[i];
        if (only && !strstr(c->name, only)) continue;
        ran++;
        char dir[] = "/tmp/meki-badcase-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char env[8400], command[16384], stderr_text[8192], path[4096];
        snprintf(env, sizeof env, "T=%s; F=%s; M=%s; TL=%d; export T F M TL; ", dir, fixtures, meki,
                 time_limit);
        if (c->setup) {
            snprintf(command, sizeof command, "%s%s", env, c->setup);
            if (sh(command) != 0) {
                fprintf(stderr, "case %s: setup failed: %s\n", c->name, c->setup);
                failures++;
                goto next;
            }
        }
        snprintf(command, sizeof command, "%stimeout -s KILL $TL $M %s >%s/.stdout 2>%s/.stderr </dev/null",
                 env, c->args, dir, dir);
        int code = sh(command);
        snprintf(path, sizeof path, "%s/.stderr", dir);
        read_all(path, stderr_text, sizeof stderr_text);
        if (code != c->exit_code) {
            fprintf(stderr, "case %s: meki %s exited %d, expected %d; stderr: %s\n", c->name, c->args, code,
                    c->exit_code, stderr_text);
            failures++;
        } else if (c->word && !strcasestr(stderr_text, c->word)) {
            fprintf(stderr, "case %s: meki %s: stderr lacks '%s': %s\n", c->name, c->args, c->word, stderr_text);
            failures++;
        } else if (c->absent) {
            snprintf(command, sizeof command, "%stest ! -e %s", env, c->absent);
            if (sh(command) != 0) {
                fprintf(stderr, "case %s: meki %s left %s behind\n", c->name, c->args, c->absent);
                failures++;
            }
        }
        if (find_temp(dir, path, sizeof path)) {
            fprintf(stderr, "case %s: meki %s left a temporary file %s\n", c->name, c->args, path);
            failures++;
        }
    next:
        snprintf(command, sizeof command, "chmod -R u+w %s 2>/dev/null; rm -rf %s", dir, dir);
        sh(command);
    }
    fprintf(stderr, "badinput: %d cases, %d failed\n", ran, failures);
    assert_int_equal(failures, 0);
}

/* Tools the cases run beyond coreutils must come from `make deps`: python3 arrived only
 * through clang's Recommends, so a minimal install failed 22 cases. Package = command here. */
static void test_deps_install_case_tools(void **state) {
    char *makefile = malloc(1 << 16);
    assert_non_null(makefile);
    read_all("Makefile", makefile, 1 << 16);
    char *deps = strstr(makefile, "DEPS_APT :=");
    assert_non_null(deps);
    char *end = deps;   /* the assignment runs to the first line not ending in a backslash */
    while ((end = strchr(end, '\n')) && end[-1] == '\\') end++;
    if (end) *end = 0;
    const char *tools[] = {"python3", "sqlite3", "mpirun"};
    const char *packages[] = {" python3 ", " sqlite3 ", " openmpi-bin "};
    for (int t = 0; t < 3; t++) {
        int used = 0;
        for (int i = 0; i < N_CASES && !used; i++)
            used = (CASES[i].setup && strstr(CASES[i].setup, tools[t])) || strstr(CASES[i].args, tools[t]);
        char padded[64];
        if (used) {
            snprintf(padded, sizeof padded, "%.*s", (int)strlen(packages[t]) - 1, packages[t]);
            int found = 0;   /* the package as a whole word: followed by a space, a backslash or the end */
            for (const char *p = deps; !found && (p = strstr(p, padded)); p++)
                found = p[strlen(padded)] == ' ' || p[strlen(padded)] == '\\' || !p[strlen(padded)];
            if (!found) fprintf(stderr, "bad-input cases run %s, but DEPS_APT lacks%s\n", tools[t], packages[t]);
            assert_true(found);
        }
    }
    free(makefile);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_deps_install_case_tools),
                                       cmocka_unit_test(test_bad_input_cases)};
    return cmocka_run_group_tests(tests, make_fixtures, remove_fixtures);
}
