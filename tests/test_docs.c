/* The documents match the code: docs/reference.md is what `./meki reference` prints (so
 * every flag and key in it exists and none is missing), every key an experiment file or
 * --set takes has a meaning in runner/key_docs.c, and every meaning names a real key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models/config.h"
#include "runner/experiment.h"
#include "runner/key_docs.h"

static char *slurp(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    *len = n;
    return buf;
}

static void test_reference_is_generated(void **state) {
    const char *meki = getenv("MEKI_BIN");
    if (!meki) skip();
    char command[4096];
    snprintf(command, sizeof command, "%s reference", meki);
    FILE *p = popen(command, "r"), *f = fopen("docs/reference.md", "r");
    assert_non_null(p);
    assert_non_null(f);
    size_t np, nf;
    char *generated = slurp(p, &np), *stored = slurp(f, &nf);
    assert_int_equal(pclose(p), 0);
    fclose(f);
    if (np != nf || memcmp(generated, stored, np)) {
        size_t i = 0;
        while (i < np && i < nf && generated[i] == stored[i]) i++;
        fail_msg("docs/reference.md differs from `./meki reference` at byte %zu: run `make docs`", i);
    }
    free(generated);
    free(stored);
}

static int is_key(const char *name) {
    int n;
    const KeySpec *keys = experiment_keys(&n);
    for (int i = 0; i < n; i++) {
        char full[64];
        snprintf(full, sizeof full, "%s.%s", keys[i].section, keys[i].key);
        if (keys[i].settable && !strcmp(full, name)) return 1;
    }
    for (int i = 0; i < model_config_field_count(); i++)
        if (!strcmp(model_config_field_key(i), name)) return 1;
    return 0;
}

static void test_every_key_documented(void **state) {
    int n;
    const KeySpec *keys = experiment_keys(&n);
    for (int i = 0; i < n; i++) {
        char full[64];
        snprintf(full, sizeof full, "%s.%s", keys[i].section, keys[i].key);
        if (keys[i].settable && !key_doc_find(full)) fail_msg("%s has no meaning in runner/key_docs.c", full);
    }
    for (int i = 0; i < model_config_field_count(); i++)
        if (!key_doc_find(model_config_field_key(i)))
            fail_msg("%s has no meaning in runner/key_docs.c", model_config_field_key(i));
    for (int i = 0; key_doc_key(i); i++)
        if (!is_key(key_doc_key(i))) fail_msg("runner/key_docs.c documents %s, which is no key", key_doc_key(i));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_is_generated),
        cmocka_unit_test(test_every_key_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
