/* util/fileio: temporary files that cannot be hijacked and do not pile up, and inputs
 * opened only when they are regular files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "util/error.h"
#include "util/fileio.h"

static char dir[] = "/tmp/meki-test-fileio-XXXXXX";

static const char *in_dir(const char *name) {
    static char paths[4][4096];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static int write_atomically(const char *path, const char *text) {
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    rc = atomic_write(&af, text, strlen(text));
    if (rc) { atomic_abort(&af); return rc; }
    return atomic_commit(&af);
}

static void touch(const char *path) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

/* A symlink planted under the old predictable name <target>.tmp.<pid> is never followed. */
static void test_planted_symlink_not_followed(void **state) {
    const char *target = in_dir("out.txt"), *victim = in_dir("victim.txt");
    char planted[4200];
    snprintf(planted, sizeof planted, "%s.tmp.%d", target, (int)getpid());
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(write_atomically(target, "hello"), OK);
    assert_false(file_exists(victim));
    char *text;
    size_t n;
    assert_int_equal(read_file(target, &text, &n), OK);
    assert_string_equal(text, "hello");
    free(text);
    unlink(planted);
    unlink(target);
}

/* The temporary name keeps the .tmp. infix and pid, with a suffix that differs each time. */
static void test_temp_names(void **state) {
    char a[4200], b[4200], prefix[4200];
    assert_int_equal(temp_name(a, sizeof a, "x/y.bin"), OK);
    assert_int_equal(temp_name(b, sizeof b, "x/y.bin"), OK);
    snprintf(prefix, sizeof prefix, "x/y.bin.tmp.%d.", (int)getpid());
    assert_int_equal(strncmp(a, prefix, strlen(prefix)), 0);
    assert_true(strlen(a) >= strlen(prefix) + 8);
    assert_string_not_equal(a, b);
}

/* Stale temporaries of dead processes (and any an hour old) go on the next write of the
 * same target; a live process's, and other targets', stay. */
static void test_stale_temps_removed(void **state) {
    const char *target = in_dir("data.bin");
    char dead[4200], dead_old_style[4200], live[4200], other[4200], old[4200], dead_dir[4200];
    snprintf(dead, sizeof dead, "%s.tmp.99999999.abcdef", target);
    snprintf(dead_old_style, sizeof dead_old_style, "%s.tmp.99999999", target);
    snprintf(live, sizeof live, "%s.tmp.%d.abcdef", target, (int)getppid());
    snprintf(old, sizeof old, "%s.tmp.%d.oldone", target, (int)getppid());
    snprintf(other, sizeof other, "%s/other.bin.tmp.99999999.abcdef", dir);
    snprintf(dead_dir, sizeof dead_dir, "%s.tmp.99999999.folder", target);
    touch(dead), touch(dead_old_style), touch(live), touch(old), touch(other);
    assert_int_equal(mkdir(dead_dir, 0755), 0);
    char inner[4300];
    snprintf(inner, sizeof inner, "%s/table.f32.rom", dead_dir);
    touch(inner);
    struct timeval hours_ago[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    assert_int_equal(utimes(old, hours_ago), 0);
    assert_int_equal(write_atomically(target, "data"), OK);
    assert_false(file_exists(dead));
    assert_false(file_exists(dead_old_style));
    assert_false(file_exists(dead_dir));
    assert_false(file_exists(old));
    assert_true(file_exists(live));
    assert_true(file_exists(other));
    unlink(live), unlink(other), unlink(target);
}

/* Inputs: a FIFO (without blocking), a folder, a device, an oversized file: refused by name. */
static void test_inputs_must_be_regular_files(void **state) {
    const char *fifo = in_dir("fifo"), *big = in_dir("big"), *device = in_dir("device");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    touch(big);
    assert_int_equal(truncate(big, 1000), 0);
    assert_int_equal(symlink("/dev/zero", device), 0);
    const char *cases[][2] = {{fifo, "FIFO"}, {dir, "folder"}, {device, "device"}};
    alarm(20);
    for (int i = 0; i < 3; i++) {
        char *text = NULL;
        size_t n;
        assert_int_equal(read_file(cases[i][0], &text, &n), ERR_INPUT);
        assert_non_null(strstr(error_message(), cases[i][0]));
        assert_non_null(strstr(error_message(), cases[i][1]));
        int fd;
        long long size;
        assert_int_equal(open_input(cases[i][0], "thing", &fd, &size), ERR_INPUT);
        assert_non_null(strstr(error_message(), "thing"));
    }
    alarm(0);
    char *text;
    size_t n;
    assert_int_equal(read_file_max(big, 999, &text, &n), ERR_INPUT);
    assert_non_null(strstr(error_message(), big));
    assert_int_equal(read_file_max(big, 1000, &text, &n), OK);
    assert_int_equal(n, 1000);
    free(text);
    unlink(fifo), unlink(big), unlink(device);
}

static int setup(void **state) { return mkdtemp(dir) ? 0 : -1; }

static int teardown(void **state) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    return system(command) == 0 ? 0 : -1;
}

/* An output named by a FIFO or a symlink to a device is refused, and left as it was
 * (the rename would have replaced it by a regular file; issue 26, 9). */
static void test_output_must_not_be_special(void **state) {
    const char *fifo = in_dir("pipe"), *link = in_dir("null");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink("/dev/null", link), 0);
    assert_int_equal(write_atomically(fifo, "x"), ERR_INPUT);
    assert_non_null(strstr(error_message(), "FIFO"));
    assert_int_equal(write_atomically(link, "x"), ERR_INPUT);
    assert_non_null(strstr(error_message(), "device"));
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    unlink(fifo);
    unlink(link);
}

/* Temporary folders (issue 26, 10): never a planted symlink's target; a folder a killed
 * replace left aside is put back when the target is missing, else removed. */
static void test_temp_dirs(void **state) {
    const char *target = in_dir("export"), *victim = in_dir("victim");
    char planted[4200], temp[4300], aside[4300], path[4400];
    assert_int_equal(mkdir(victim, 0755), 0);
    snprintf(planted, sizeof planted, "%s.tmp.%d", target, (int)getpid());
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(temp_dir_create(temp, sizeof temp, target), OK);
    struct stat st;
    assert_int_equal(lstat(temp, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(path, sizeof path, "%s/config.json", temp);
    touch(path);
    assert_int_equal(dir_install(temp, target), OK);
    snprintf(path, sizeof path, "%s/config.json", victim);
    assert_false(file_exists(path));
    snprintf(path, sizeof path, "%s/config.json", target);
    assert_true(file_exists(path));
    unlink(planted);
    rmdir(victim);
    /* the old code's name for the earlier export moved aside, by a process gone */
    snprintf(aside, sizeof aside, "%s.old.tmp.99999999", target);
    assert_int_equal(rename(target, aside), 0);
    assert_int_equal(temp_dir_create(temp, sizeof temp, target), OK);
    assert_true(file_exists(path));                  /* restored: target was missing */
    assert_false(file_exists(aside));
    assert_int_equal(remove_flat_dir(temp), OK);
    assert_int_equal(mkdir(aside, 0755), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", aside);
    touch(path);
    assert_int_equal(temp_dir_create(temp, sizeof temp, target), OK);
    assert_false(file_exists(aside));                /* removed: target is there */
    assert_int_equal(remove_flat_dir(temp), OK);
    assert_int_equal(remove_flat_dir(target), OK);
    /* a target in folders not yet made (export --out export/small in a fresh checkout) */
    const char *nested = in_dir("made/by/temp/export");
    assert_int_equal(temp_dir_create(temp, sizeof temp, nested), OK);
    assert_int_equal(dir_install(temp, nested), OK);
    assert_int_equal(lstat(nested, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(make_parent_dirs("no_parent.gguf"), OK);   /* the working folder: nothing made */
}

/* path_join fills a buffer exactly, and one byte too few is an error naming both parts. */
static void test_path_join(void **state) {
    (void)state;
    char out[8];
    assert_int_equal(path_join(out, sizeof out, "abc", "def"), OK);
    assert_string_equal(out, "abc/def");
    assert_int_equal(path_join(out, sizeof out, "abc", "defg"), ERR_INPUT);
    assert_non_null(strstr(error_message(), "path too long (8 bytes, at most 7): abc/defg"));
    error_clear();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_symlink_not_followed),
        cmocka_unit_test(test_temp_names),
        cmocka_unit_test(test_stale_temps_removed),
        cmocka_unit_test(test_inputs_must_be_regular_files),
        cmocka_unit_test(test_output_must_not_be_special),
        cmocka_unit_test(test_temp_dirs),
        cmocka_unit_test(test_path_join),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
