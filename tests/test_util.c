/* The shared helpers of util/: the one FNV-1a (pinned: data files, ROM tables, parameter
 * initialisation and run hashes on disk depend on its exact values), the byte-order
 * helpers and the on/off parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "data/checksum.h"
#include "models/params.h"
#include "runner/experiment.h"
#include "util/byteorder.h"
#include "util/hash.h"
#include "util/parse.h"

static const struct {
    const char *text;
    uint64_t fnv, string_seeded;
    const char *run_hash;
} PINNED[] = {
    /* values computed by the four separate implementations before they became one */
    {"", 0xcbf29ce484222325ULL, 0x14650fb0739d0383ULL, "c3817c016ba4ff30"},
    {"a", 0xaf63dc4c8601ec8cULL, 0x44bd8ad473cd9906ULL, "5f29c2aadd9b8527"},
    {"foobar", 0x85944171f73967e8ULL, 0x88fad7c0a8ff07f2ULL, "5df295413403de4f"},
    {"model.d_model=128", 0xb71b6c1819f26c06ULL, 0xafbd9d583bac51bcULL, "40c80a5357aa4f78"},
};

static void test_hash_values_pinned(void **state) {
    for (size_t i = 0; i < sizeof PINNED / sizeof PINNED[0]; i++) {
        const char *t = PINNED[i].text;
        char run[17];
        assert_true(checksum_bytes(t, strlen(t)) == PINNED[i].fnv);
        assert_true(fnv1a64(FNV1A64_OFFSET, t, strlen(t)) == PINNED[i].fnv);
        assert_true(string_hash(t) == PINNED[i].string_seeded);
        config_hash(run, t);
        assert_string_equal(run, PINNED[i].run_hash);
    }
    /* continuing over pieces is the hash of the whole (the corpus fingerprint chains) */
    assert_true(checksum_update(checksum_bytes("files", 6), "abc\0", 4) == 0x5f17b0a556b66970ULL);
    assert_true(checksum_update(checksum_bytes("fo", 2), "obar", 4) == PINNED[2].fnv);
}

/* Little-endian whatever the host: the bytes of a known value, and back. */
static void test_byteorder(void **state) {
    unsigned char b[8];
    store_u16(b, 0x0102);
    assert_true(b[0] == 0x02 && b[1] == 0x01 && load_u16(b) == 0x0102);
    store_u32(b, 0x01020304u);
    assert_true(b[0] == 0x04 && b[3] == 0x01 && load_u32(b) == 0x01020304u);
    store_u64(b, 0x0102030405060708ULL);
    assert_true(b[0] == 0x08 && b[7] == 0x01 && load_u64(b) == 0x0102030405060708ULL);
}

static void test_parse_bool(void **state) {
    const char *on[] = {"on", "true", "yes", "1"}, *off[] = {"off", "false", "no", "0"};
    for (int i = 0; i < 4; i++) assert_int_equal(parse_bool(on[i]), 1), assert_int_equal(parse_bool(off[i]), 0);
    const char *bad[] = {"", "On", "2", "onn", "y"};
    for (int i = 0; i < 5; i++) assert_int_equal(parse_bool(bad[i]), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_values_pinned),
        cmocka_unit_test(test_byteorder),
        cmocka_unit_test(test_parse_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
