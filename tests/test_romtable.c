/* ROM table file: round trip for every dtype, refusal of every kind of bad file with a
 * message naming it, and a header fuzz loop. Files live under a mkdtemp folder in /tmp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "formats/romtable.h"
#include "util/error.h"
#include "util/rng.h"

static char dir[64];

enum { N_TABLES = 3, ROWS = 37, WIDTH = 48 };
static const int layers[N_TABLES] = {0, 3, 5};

/* Header field offsets, from the layout comment in formats/romtable.h. */
enum { OFF_VERSION = 8, OFF_DTYPE = 12, OFF_N_TABLES = 16, OFF_ROWS = 20, OFF_WIDTH = 24,
       OFF_GROUP = 28, OFF_ROW_BYTES = 32, OFF_STRIDE = 40, OFF_DATA = 48, OFF_FILE_BYTES = 56,
       OFF_CHECKSUM = 64, OFF_LAYER = 72 };

/* ---- helpers ------------------------------------------------------------------ */

static const char *path_in(const char *name) {
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static float *random_tables(int n, int rows, int width, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    float *x = malloc(sizeof(float) * (size_t)n * rows * width);
    assert_non_null(x);
    for (long i = 0; i < (long)n * rows * width; i++) x[i] = rng_normal(&rng) * (1 + i % 5);
    return x;
}

static int write_tables(const char *path, TableDtype dtype, int n, int rows, int width,
                        const int *layer_ids, const float *data) {
    /* Callers hold at most N_TABLES tables; larger n (refused) repeats table 0. */
    const float *tables[65];
    for (int s = 0; s < n && s < 65; s++) tables[s] = data + (size_t)(s < N_TABLES ? s : 0) * rows * width;
    return rom_table_write(path, dtype, n, rows, width, layer_ids, tables);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void put32(uint8_t *b, size_t off, uint32_t v) { for (int i = 0; i < 4; i++) b[off + i] = (uint8_t)(v >> 8 * i); }
static void put64(uint8_t *b, size_t off, uint64_t v) { for (int i = 0; i < 8; i++) b[off + i] = (uint8_t)(v >> 8 * i); }
static uint64_t get64(const uint8_t *b, size_t off) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[off + i] << 8 * i;
    return v;
}

/* The reference file every refusal test corrupts: f32, 3 tables of 37 x 48. */
static uint8_t *good_file(size_t *n) {
    float *data = random_tables(N_TABLES, ROWS, WIDTH, 1);
    const char *path = path_in("good.bin");
    assert_int_equal(write_tables(path, TABLE_F32, N_TABLES, ROWS, WIDTH, layers, data), OK);
    free(data);
    return read_bytes(path, n);
}

/* Open must fail with ERR_INPUT, a message naming the file and containing `what`. */
static void expect_refused(const char *path, int verify, const char *what) {
    RomTable t;
    error_clear();
    int rc = rom_table_open(&t, path, verify);
    if (rc != ERR_INPUT) fail_msg("%s: expected refusal (%s), got rc %d", path, what, rc);
    const char *msg = error_message();
    if (!strstr(msg, path) || !strstr(msg, what))
        fail_msg("message \"%s\" should name %s and say \"%s\"", msg, path, what);
    assert_null(t.base);
    assert_int_equal(t.fd, -1);
    rom_table_close(&t);
}

/* Write a patched copy of the good file and expect it refused. */
static void expect_patch_refused(const uint8_t *good, size_t n, size_t off, uint64_t value,
                                 int width_bytes, const char *what) {
    uint8_t *b = malloc(n);
    assert_non_null(b);
    memcpy(b, good, n);
    if (width_bytes == 8) put64(b, off, value);
    else put32(b, off, (uint32_t)value);
    const char *path = path_in("patched.bin");
    write_bytes(path, b, n);
    expect_refused(path, 1, what);
    free(b);
}

static int count_entries(void) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- round trip --------------------------------------------------------------- */

static void check_round_trip(TableDtype dtype, int rows, int width) {
    float *data = random_tables(N_TABLES, rows, width, 2 + dtype);
    const char *path = path_in("round.bin");
    assert_int_equal(write_tables(path, dtype, N_TABLES, rows, width, layers, data), OK);
    RomTable t;
    if (rom_table_open(&t, path, 1) != OK) fail_msg("%s", error_message());
    assert_int_equal(t.dtype, dtype);
    assert_int_equal(t.n_tables, N_TABLES);
    assert_int_equal(t.rows, rows);
    assert_int_equal(t.width, width);
    assert_int_equal(t.row_bytes, table_row_bytes(dtype, width));
    assert_int_equal(t.data_offset, 4096);
    assert_int_equal(t.token_stride, N_TABLES * t.row_bytes);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(t.file_bytes, (size_t)st.st_size);
    assert_int_equal(t.file_bytes, 4096 + (rows * t.token_stride + 4095) / 4096 * 4096);

    uint8_t *encoded = malloc(t.row_bytes);
    float *expected = malloc(sizeof(float) * width), *got = malloc(sizeof(float) * width);
    for (int s = 0; s < N_TABLES; s++) {
        assert_int_equal(t.layer[s], layers[s]);
        assert_int_equal(t.slot_of_layer[layers[s]], s);
        for (int r = 0; r < rows; r++) {
            const float *in = data + ((size_t)s * rows + r) * width;
            quant_encode_row(dtype, encoded, in, width);
            quant_decode_row(dtype, expected, encoded, width);
            rom_table_read_row(&t, layers[s], r, got);
            assert_memory_equal(got, expected, sizeof(float) * width);
            if (dtype == TABLE_F32) assert_memory_equal(got, in, sizeof(float) * width);
            /* token-major: row r of every layer together, one read */
            const uint8_t *addr = rom_table_row_address(&t, layers[s], r);
            assert_ptr_equal(addr, t.base + 4096 + r * t.token_stride + s * t.row_bytes);
            assert_memory_equal(addr, encoded, t.row_bytes);
            unsigned long reads = rom_table_reads();
            const uint8_t *token = rom_table_token_rows(&t, r);
            assert_int_equal(rom_table_reads(), reads + 1);
            assert_ptr_equal(token, t.base + 4096 + r * t.token_stride);
            rom_table_decode_row(&t, token, layers[s], got);
            assert_int_equal(rom_table_reads(), reads + 1);   /* decoding is not a read */
            assert_memory_equal(got, expected, sizeof(float) * width);
        }
    }
    assert_int_equal(t.slot_of_layer[1], -1);
    assert_null(rom_table_row_address(&t, 1, 0));
    assert_null(rom_table_row_address(&t, 0, rows));
    assert_null(rom_table_row_address(&t, 64, 0));
    assert_null(rom_table_token_rows(&t, rows));
    assert_null(rom_table_token_rows(&t, -1));
    rom_table_close(&t);
    rom_table_close(&t);                                  /* idempotent */
    free(encoded), free(expected), free(got), free(data);
}

static void test_round_trip_every_dtype(void **state) {
    const int widths[] = {48, 70, 1, 64};
    for (int dtype = 0; dtype < TABLE_DTYPE_COUNT; dtype++)
        for (int w = 0; w < 4; w++) check_round_trip((TableDtype)dtype, ROWS, widths[w]);
    check_round_trip(TABLE_Q4, 1000, 33);                   /* several pages per table */
}

static void test_rom_bytes_per_dtype(void **state) {
    /* 1024 x 128 per table: f32 512 KiB, q8_0 136 KiB (34 bytes per 32 values), q4_0 72 KiB
     * (18 per 32), plus the header page. */
    const size_t expected[] = {4096 + 524288, 4096 + 262144, 4096 + 262144, 4096 + 139264,
                               4096 + 73728};
    float *data = random_tables(1, 1024, 128, 9);
    int layer0 = 0;
    for (int dtype = 0; dtype < TABLE_DTYPE_COUNT; dtype++) {
        const char *path = path_in("size.bin");
        assert_int_equal(write_tables(path, (TableDtype)dtype, 1, 1024, 128, &layer0, data), OK);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((size_t)st.st_size, expected[dtype]);
    }
    free(data);
}

/* The ROM size goal of issue 16: against f32, q8_0 <= 0.28 and q4_0 <= 0.16 at d_mem 16, 32
 * and 64 (d_mem 8 reported: its one-block rows carry a scale per 8 values). Measured as
 * ./meki fold --json's rom_ratio: file bytes less the header page, over the f32 file's, for
 * two layers of 4096 rows (the default vocabulary, the tiny preset's layers). */
static double data_bytes(TableDtype dtype, int width, const float *data) {
    const int ids[2] = {0, 1};
    const char *path = path_in("goal.bin");
    assert_int_equal(write_tables(path, dtype, 2, 4096, width, ids, data), OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (double)(st.st_size - ROM_PAGE);
}

static void test_rom_size_goal_per_d_mem(void **state) {
    const int d_mems[] = {8, 16, 32, 64};
    for (int i = 0; i < 4; i++) {
        int w = d_mems[i];
        float *data = random_tables(2, 4096, w, 11);
        double f32 = data_bytes(TABLE_F32, w, data);
        double q8 = data_bytes(TABLE_Q8, w, data) / f32, q4 = data_bytes(TABLE_Q4, w, data) / f32;
        printf("d_mem %2d: q8_0 %.4f, q4_0 %.4f of f32\n", w, q8, q4);
        if (w >= 16 && !(q8 <= 0.28 && q4 <= 0.16))
            fail_msg("d_mem %d: q8_0 %.4f (goal 0.28), q4_0 %.4f (goal 0.16) of f32", w, q8, q4);
        free(data);
    }
}

/* ---- writer refusals ---------------------------------------------------------- */

static void expect_write_refused(TableDtype dtype, int n, int rows, int width, const int *ids,
                                 const float *data, const char *what) {
    int before = count_entries();
    const char *path = path_in("refused.bin");
    error_clear();
    assert_int_equal(write_tables(path, dtype, n, rows, width, ids, data), ERR_INPUT);
    if (!strstr(error_message(), path) || !strstr(error_message(), what))
        fail_msg("message \"%s\" should name %s and say \"%s\"", error_message(), path, what);
    assert_int_equal(count_entries(), before);             /* nothing left behind */
}

static void test_writer_refuses_bad_arguments(void **state) {
    float *data = random_tables(N_TABLES, ROWS, WIDTH, 4);
    const int dup[N_TABLES] = {0, 3, 3}, far[N_TABLES] = {0, 3, 64};
    expect_write_refused(TABLE_F32, 0, ROWS, WIDTH, layers, data, "0 tables");
    expect_write_refused(TABLE_F32, 65, ROWS, WIDTH, layers, data, "65 tables");
    expect_write_refused(TABLE_F32, N_TABLES, 0, WIDTH, layers, data, "empty");
    expect_write_refused(TABLE_F32, N_TABLES, ROWS, 0, layers, data, "empty");
    expect_write_refused(TABLE_F32, N_TABLES, ROWS, WIDTH, dup, data, "layer 3 has two tables");
    expect_write_refused(TABLE_F32, N_TABLES, ROWS, WIDTH, far, data, "outside 0..63");
    expect_write_refused((TableDtype)7, N_TABLES, ROWS, WIDTH, layers, data, "unknown table dtype");
    data[WIDTH * 5 + 2] = 0.0f / 0.0f;                      /* table 0, row 5 */
    expect_write_refused(TABLE_Q8, N_TABLES, ROWS, WIDTH, layers, data, "layer 0 row 5 has a non-finite");
    expect_write_refused(TABLE_Q4, N_TABLES, ROWS, WIDTH, layers, data, "non-finite");
    /* f16 carries nan faithfully. */
    assert_int_equal(write_tables(path_in("nan.bin"), TABLE_F16, N_TABLES, ROWS, WIDTH, layers, data), OK);
    /* but a finite value beyond f16 would be written as inf: refused, naming it (issue 26, 4) */
    data[WIDTH * 7 + 1] = 1e30f;
    expect_write_refused(TABLE_F16, N_TABLES, ROWS, WIDTH, layers, data, "row 7 holds 1e+30");
    free(data);
}

static void test_writer_reports_unwritable_path(void **state) {
    float *data = random_tables(1, 4, 4, 5);
    int layer0 = 0;
    error_clear();
    assert_int_equal(write_tables(path_in("no/such/dir/rom.bin"), TABLE_F32, 1, 4, 4, &layer0, data),
                     ERR_FAILURE);
    assert_non_null(strstr(error_message(), "no/such/dir/rom.bin"));
    free(data);
}

/* ---- reader refusals ---------------------------------------------------------- */

static void test_missing_and_not_regular(void **state) {
    expect_refused(path_in("absent.bin"), 1, "cannot open");
    expect_refused(dir, 1, "not a regular file");
}

static void test_bad_header_fields(void **state) {
    size_t n;
    uint8_t *good = good_file(&n);
    expect_patch_refused(good, n, 0, 0x31524f4d494b454eULL, 8, "bad magic");     /* "NEKIMOR1" */
    expect_patch_refused(good, n, OFF_VERSION, 4, 4, "unsupported ROM table version 4");
    /* a bundle folded before q8_0 / q4_0, or before the token-major layout: fold again */
    expect_patch_refused(good, n, OFF_VERSION, 1, 4, "fold the checkpoint again");
    expect_patch_refused(good, n, OFF_VERSION, 2, 4, "version 2 is older than this build's 3 "
                         "(version 3 stores a token's rows of every layer together): fold the checkpoint again");
    expect_patch_refused(good, n, OFF_DTYPE, 5, 4, "unknown table dtype 5");
    expect_patch_refused(good, n, OFF_DTYPE, 0xffffffffu, 4, "unknown table dtype");
    expect_patch_refused(good, n, OFF_N_TABLES, 0, 4, "n_tables is 0");
    expect_patch_refused(good, n, OFF_N_TABLES, 65, 4, "n_tables is 65");
    expect_patch_refused(good, n, OFF_N_TABLES, 2, 4, "token_stride is 576, expected 2 tables x 192");
    expect_patch_refused(good, n, OFF_ROWS, 0, 4, "bad table shape");
    expect_patch_refused(good, n, OFF_WIDTH, 0x80000000u, 4, "bad table shape");
    expect_patch_refused(good, n, OFF_WIDTH, WIDTH + 1, 4, "row_bytes is 192, expected 196");
    expect_patch_refused(good, n, OFF_GROUP, 32, 4, "group is 32, expected 0");
    expect_patch_refused(good, n, OFF_ROW_BYTES, 4 * WIDTH + 4, 8, "row_bytes is 196");
    expect_patch_refused(good, n, OFF_STRIDE, 3 * 4 * WIDTH + 4, 8, "token_stride is 580");
    expect_patch_refused(good, n, OFF_STRIDE, 4 * WIDTH, 8, "token_stride");   /* too small */
    expect_patch_refused(good, n, OFF_STRIDE, 1ULL << 62, 8, "token_stride");
    expect_patch_refused(good, n, OFF_DATA, 8192, 8, "data_offset is 8192");
    expect_patch_refused(good, n, OFF_FILE_BYTES, n - 4096, 8, "file_bytes is");
    expect_patch_refused(good, n, OFF_FILE_BYTES, n + 4096, 8, "file_bytes is");
    expect_patch_refused(good, n, OFF_LAYER + 4, 0, 4, "layer 0 has two tables");
    expect_patch_refused(good, n, OFF_LAYER + 8, 64, 4, "outside 0..63");
    expect_patch_refused(good, n, OFF_LAYER + 8, (uint32_t)-2, 4, "outside 0..63");
    expect_patch_refused(good, n, OFF_LAYER + 4 * 10, 7, 4, "unused slot 10");
    expect_patch_refused(good, n, 1000, 1, 4, "reserved byte 1000");
    expect_patch_refused(good, n, OFF_CHECKSUM, get64(good, OFF_CHECKSUM) ^ 1, 8, "checksum mismatch");
    free(good);
}

static void test_file_longer_than_header_says(void **state) {
    size_t n;
    uint8_t *good = good_file(&n);
    uint8_t *longer = calloc(n + 100, 1);
    memcpy(longer, good, n);
    const char *path = path_in("longer.bin");
    write_bytes(path, longer, n + 100);
    char what[96];
    snprintf(what, sizeof what, "file is %zu bytes but its header says %zu", n + 100, n);
    expect_refused(path, 0, what);
    free(longer), free(good);
}

static void test_truncated_files(void **state) {
    size_t n;
    uint8_t *good = good_file(&n);
    const size_t cuts[] = {0, 1, 5, 8, 11, 12, 63, 64, 100, 2000, 4095, 4096, 4097, 8192,
                           n / 2, n - 4096, n - 1};
    const char *path = path_in("cut.bin");
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(path, good, cuts[i]);
        char what[96];
        if (cuts[i] >= 64) snprintf(what, sizeof what, "truncated (expected %zu bytes, found %zu)", n, cuts[i]);
        else snprintf(what, sizeof what, "truncated (expected at least 4096 bytes, found %zu)", cuts[i]);
        expect_refused(path, 0, what);
    }
    free(good);
}

static void test_checksum_covers_data_and_padding(void **state) {
    size_t n;
    uint8_t *good = good_file(&n);
    const size_t flips[] = {4096, 4096 + 1234, 4096 + N_TABLES * ROWS * WIDTH * 4 + 10 /* padding */,
                            n - 1};
    const char *path = path_in("flipped.bin");
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        good[flips[i]] ^= 0x10;
        write_bytes(path, good, n);
        good[flips[i]] ^= 0x10;
        expect_refused(path, 1, "checksum mismatch");
        RomTable t;                                       /* the check is opt-in */
        assert_int_equal(rom_table_open(&t, path, 0), OK);
        rom_table_close(&t);
    }
    free(good);
}

/* ---- fuzz --------------------------------------------------------------------- */

/* An accepted file must be self-consistent, and every row of it readable. */
static void check_consistent(const RomTable *t, const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(t->n_tables >= 1 && t->n_tables <= 64);
    assert_int_equal(t->row_bytes, table_row_bytes(t->dtype, t->width));
    assert_int_equal(t->file_bytes, (size_t)st.st_size);
    assert_int_equal(t->data_offset, 4096);
    assert_int_equal(t->token_stride, t->n_tables * t->row_bytes);
    assert_int_equal(t->data_offset + (t->rows * t->token_stride + 4095) / 4096 * 4096, t->file_bytes);
    float *row = malloc(sizeof(float) * t->width);
    for (int s = 0; s < t->n_tables; s++) {
        assert_int_equal(t->slot_of_layer[t->layer[s]], s);
        for (int r = 0; r < t->rows; r++) {
            const uint8_t *p = rom_table_row_address(t, t->layer[s], r);
            assert_true(p >= t->base + 4096 && p + t->row_bytes <= t->base + t->file_bytes);
            rom_table_read_row(t, t->layer[s], r, row);
        }
    }
    free(row);
}

static void test_header_fuzz(void **state) {
    size_t n;
    uint8_t *good = good_file(&n);
    uint8_t *b = malloc(n);
    const char *path = path_in("fuzz.bin");
    Rng rng;
    rng_seed(&rng, 2024);
    int accepted = 0, refused = 0;
    for (int iter = 0; iter < 200; iter++) {
        memcpy(b, good, n);
        /* A quarter of the time, a plausible edit (a used slot moved to another layer, or
         * the checksum changed) so that the accepting path is exercised too. */
        if (iter % 4 == 0) {
            if (rng_below(&rng, 2)) b[OFF_LAYER + 4 * rng_below(&rng, N_TABLES)] = (uint8_t)rng_below(&rng, 64);
            else b[OFF_CHECKSUM + rng_below(&rng, 8)] ^= 0x40;
        }
        int flips = iter % 4 == 0 ? 0 : 1 + (int)rng_below(&rng, 3);
        for (int f = 0; f < flips; f++) {
            /* Mostly the fields (first 328 bytes), sometimes anywhere in the page. */
            size_t off = rng_below(&rng, 5) ? rng_below(&rng, 328) : rng_below(&rng, 4096);
            b[off] ^= (uint8_t)(1 + rng_below(&rng, 255));
        }
        write_bytes(path, b, n);
        RomTable t;
        error_clear();
        int rc = rom_table_open(&t, path, (int)rng_below(&rng, 2));
        if (rc == OK) {
            check_consistent(&t, path);
            accepted++;
        } else {
            if (rc != ERR_INPUT || !strstr(error_message(), path))
                fail_msg("iteration %d: rc %d, message \"%s\"", iter, rc, error_message());
            refused++;
        }
        rom_table_close(&t);
    }
    print_message("header fuzz: %d accepted (consistent), %d refused\n", accepted, refused);
    free(b), free(good);
}

/* ---- fixture ------------------------------------------------------------------ */

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/meki-romtable-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    return remove(path);
}

static int teardown(void **state) { return nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS); }


/* A FIFO or a device in place of a table is refused by name, without blocking. */
static void test_fifo_and_device_refused(void **state) {
    const char *fifo = path_in("fifo.rom");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    alarm(20);   /* the old reader blocked in open() */
    expect_refused(fifo, 1, "FIFO");
    alarm(0);
    unlink(fifo);
    const char *device = path_in("device.rom");
    assert_int_equal(symlink("/dev/zero", device), 0);
    expect_refused(device, 1, "device");
    unlink(device);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_dtype),
        cmocka_unit_test(test_rom_bytes_per_dtype),
        cmocka_unit_test(test_rom_size_goal_per_d_mem),
        cmocka_unit_test(test_writer_refuses_bad_arguments),
        cmocka_unit_test(test_writer_reports_unwritable_path),
        cmocka_unit_test(test_missing_and_not_regular),
        cmocka_unit_test(test_fifo_and_device_refused),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_file_longer_than_header_says),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_checksum_covers_data_and_padding),
        cmocka_unit_test(test_header_fuzz),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
