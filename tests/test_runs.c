/* Trustworthy runs through the command line: a run folder is never reused for other
 * settings, and eval, decode and fold use the data the model was trained on unless told
 * otherwise (and refuse a --data with another tokenizer). Two small corpora, vocab 280;
 * every command runs in a scratch folder, so nothing falls back on the repository's data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/fileio.h"

static char work[] = "/tmp/meki-test-runs-XXXXXX";
static char meki[PATH_MAX];
static char out_text[65536], err_text[65536];

/* Runs `meki ARGS` in the scratch folder; stdout and stderr land in out_text, err_text. */
static int run(const char *fmt, ...) {
    char args[4096], command[12000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(command, sizeof command, "cd %s && %s %s >out.txt 2>err.txt", work, meki, args);
    int status = system(command);
    char path[4200], *text;
    size_t bytes;
    out_text[0] = err_text[0] = 0;
    snprintf(path, sizeof path, "%s/out.txt", work);
    if (!read_file(path, &text, &bytes)) { snprintf(out_text, sizeof out_text, "%s", text); free(text); }
    snprintf(path, sizeof path, "%s/err.txt", work);
    if (!read_file(path, &text, &bytes)) { snprintf(err_text, sizeof err_text, "%s", text); free(text); }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int sh(const char *fmt, ...) {
    char command[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(command, sizeof command, fmt, ap);
    va_end(ap);
    return system(command);
}

static double json_value(const char *text, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(text, pattern);
    assert_non_null(p);
    return atof(p + strlen(pattern));
}

/* The "tokenizer_hash" recorded in a run folder's config.json. */
static void recorded_tokenizer(const char *run_dir, char *out, size_t size) {
    char path[4200], *text;
    size_t bytes;
    snprintf(path, sizeof path, "%s/%s/config.json", work, run_dir);
    assert_int_equal(read_file(path, &text, &bytes), 0);
    const char *p = strstr(text, "\"tokenizer_hash\":\"");
    assert_non_null(p);
    p += strlen("\"tokenizer_hash\":\"");
    snprintf(out, size, "%.*s", (int)strcspn(p, "\""), p);
    free(text);
}

#define TRAIN "train --preset tiny --set model.vocab_size=280 --tokens 1024 --batch 4 --threads 1 --quiet"

static int setup(void **state) {
    const char *bin = getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki";
    if (!realpath(bin, meki) || !mkdtemp(work)) return -1;
    return sh("cd %s && "
              "printf 'In the beginning was the word, and the word was with the text.\\n%%.0s' $(seq 400) > a1.txt && "
              "printf 'A second document, so that one can be held out for validation.\\n%%.0s' $(seq 400) > a2.txt && "
              "printf 'Quite other words: ships, harbours, sails and the grey sea again.\\n%%.0s' $(seq 400) > b1.txt && "
              "printf 'Gulls over the pier; ropes, nets and tar by the water at dusk.\\n%%.0s' $(seq 400) > b2.txt && "
              "%s data --corpus a1.txt a2.txt --vocab 280 --out dataA >/dev/null 2>&1 && "
              "%s data --corpus b1.txt b2.txt --vocab 280 --out dataB >/dev/null 2>&1",
              work, meki, meki);
}

static int teardown(void **state) { return sh("rm -rf %s", work); }

/* Case 1: another --lr into the same --out is refused naming lr; the same settings
 * resume (threads may differ); --fresh trains anew; default --out folders differ. */
static void test_no_silent_reuse(void **state) {
    assert_int_equal(run(TRAIN " --data dataA --out r1 --lr 0.003"), 0);
    assert_int_equal(run(TRAIN " --data dataA --out r1 --lr 0.001"), 2);
    assert_non_null(strstr(err_text, "lr"));
    assert_non_null(strstr(err_text, "0.003"));
    assert_non_null(strstr(err_text, "0.001"));
    assert_non_null(strstr(err_text, "--fresh"));
    assert_int_equal(run(TRAIN " --data dataA --out r1 --seed 7"), 2);
    assert_non_null(strstr(err_text, "seed"));
    assert_int_equal(run(TRAIN " --data dataA --out r1  --lr 0.003 --threads 2"), 0);   /* resumes: threads may differ */
    assert_int_equal(run(TRAIN " --data dataA --out r1 --lr 0.001 --fresh --json"), 0);
    char path[4200], *text;
    size_t bytes;
    snprintf(path, sizeof path, "%s/r1/config.json", work);
    assert_int_equal(read_file(path, &text, &bytes), 0);
    assert_non_null(strstr(text, "\"lr\":0.001"));
    free(text);
    assert_int_equal(run(TRAIN " --data dataA --out r1 --lr 0.001"), 0);   /* the fresh run is the run now */
    /* the default --out names the settings: two learning rates, two folders */
    assert_int_equal(run(TRAIN " --data dataA --lr 0.003"), 0);
    char first[4096];
    snprintf(first, sizeof first, "%s", out_text);
    assert_int_equal(run(TRAIN " --data dataA --lr 0.002"), 0);
    const char *a = strstr(first, "results/train/tiny-none-"), *b = strstr(out_text, "results/train/tiny-none-");
    assert_non_null(a);
    assert_non_null(b);
    assert_false(strncmp(a, b, strcspn(a, "\n")) == 0);
}

/* Case 2: without --data, eval, decode and fold use the model's own corpus. */
static void test_data_follows_the_model(void **state) {
    assert_int_equal(run(TRAIN " --memory meki --data dataB --out rb"), 0);
    assert_int_equal(run("eval --checkpoint rb --data dataB --json"), 0);
    double explicit_loss = json_value(out_text, "val_loss");
    assert_int_equal(run("eval --checkpoint rb --json"), 0);
    assert_true(json_value(out_text, "val_loss") == explicit_loss);
    assert_int_equal(run("decode --checkpoint rb --prompt 'Gulls' -n 4 --temperature 0"), 0);
    assert_int_equal(run("fold --checkpoint rb --out rb-bundle"), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/rb-bundle/record.json", work);
    assert_true(file_exists(path));
    assert_int_equal(run("eval --bundle rb-bundle --json"), 0);
    double bundle_loss = json_value(out_text, "val_loss");
    assert_int_equal(run("eval --bundle rb-bundle --data dataB --json"), 0);
    assert_true(json_value(out_text, "val_loss") == bundle_loss);

    /* a --data with another tokenizer: exit 2 naming both tokenizer hashes */
    char mine[64], other[64];
    recorded_tokenizer("rb", mine, sizeof mine);
    assert_int_equal(run(TRAIN " --data dataA --out ra"), 0);
    recorded_tokenizer("ra", other, sizeof other);
    assert_string_not_equal(mine, other);
    assert_int_equal(run("eval --checkpoint rb --data dataA"), 2);
    assert_non_null(strstr(err_text, mine));
    assert_non_null(strstr(err_text, other));
    assert_int_equal(run("decode --checkpoint rb --data dataA --prompt x -n 2"), 2);
    assert_non_null(strstr(err_text, mine));
    assert_non_null(strstr(err_text, other));

    /* the recorded folder gone: exit 2 naming it */
    assert_int_equal(sh("mv %s/dataB %s/dataB.moved", work, work), 0);
    assert_int_equal(run("eval --checkpoint rb"), 2);
    assert_non_null(strstr(err_text, "dataB"));
    assert_int_equal(run("decode --bundle rb-bundle --prompt x -n 2"), 2);
    assert_non_null(strstr(err_text, "dataB"));
    assert_int_equal(sh("mv %s/dataB.moved %s/dataB", work, work), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_silent_reuse),
        cmocka_unit_test(test_data_follows_the_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
