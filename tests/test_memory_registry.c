/* The registry of memory variants (models/memory.c): names and keys are unique and each
 * variant's keys sit under its own name; the report columns it declares reproduce the
 * MeKi columns analysis/views.sql writes out today; no code outside the variants and the
 * registry names a variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "models/config.h"
#include "models/memory.h"
#include "util/fileio.h"

static void test_names_and_keys(void **state) {
    assert_string_equal(memory_kind_name(MEMORY_NONE), "none");
    assert_int_equal(memory_kind_parse("none"), MEMORY_NONE);
    assert_int_equal(memory_kind_parse("nonesuch"), -1);
    assert_null(memory_ops(MEMORY_NONE));
    assert_null(memory_ops(memory_variant_count() + 1));
    for (int k = 1; k <= memory_variant_count(); k++) {
        const MemoryOps *ops = memory_ops(k);
        assert_int_equal(memory_kind_parse(ops->name), k);
        assert_int_equal(memory_kind_of(ops), k);
        size_t length = strlen(ops->name);
        for (int i = 0; i < ops->n_fields; i++) {
            const char *key = ops->fields[i].key;
            if (strncmp(key, ops->name, length) || key[length] != '.') fail_msg("%s: key %s", ops->name, key);
        }
        assert_non_null(ops->infer_create);
        assert_non_null(ops->config_defaults);
    }
    for (int i = 0; i < model_config_field_count(); i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(model_config_field_key(i), model_config_field_key(j)))
                fail_msg("key %s twice", model_config_field_key(i));
}

/* Every generated column line is in views.sql as it is written out by hand today. */
static void test_report_columns_match_views(void **state) {
    char *views, sql[8192];
    size_t bytes;
    assert_int_equal(read_file("analysis/views.sql", &views, &bytes), 0);
    int n = memory_report_columns_sql(sql, sizeof sql);
    assert_true(n > 0 && n < (int)sizeof sql);
    int meki_lines = 0;
    for (char *line = strtok(sql, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "CASE WHEN kind = 'meki'", 23)) continue;   /* views.sql has MeKi's only */
        meki_lines++;
        if (!strstr(views, line)) fail_msg("not in views.sql: %s", line);
    }
    assert_int_equal(meki_lines, 6);
    free(views);
}

/* Outside the variants' own files and the registry, no C code of the harness names one:
 * no kind constant, no variant config struct or member, no variant header. */
static void test_no_variant_named_outside(void **state) {
    const char *command =
        "grep -rnE 'MEMORY_(MEKI|PLE|ENGRAM)|(Meki|Ple|Engram)(Config|State|Infer|Stream)|"
        "[.>](meki|ple|engram)[.]|models/(meki|ple|engram|meki_infer|meki_types)[.]h' "
        "--include='*.c' --include='*.h' models runner bench analysis util kernels data train infer deploy formats "
        "| grep -vE '^models/(meki|meki_infer|meki_types|ple|engram|bias|memory)[.][ch]:' >&2";
    int status = system(command);
    assert_int_not_equal(status, -1);
    assert_int_not_equal(WEXITSTATUS(status), 0);   /* grep -v found no line */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_keys),
        cmocka_unit_test(test_report_columns_match_views),
        cmocka_unit_test(test_no_variant_named_outside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
