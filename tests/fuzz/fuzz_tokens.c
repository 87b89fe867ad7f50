/* token_file_open on arbitrary bytes: as given, then with the ids' checksum recomputed so
 * that mutations get past it to the count and vocabulary checks. */
#include "data/checksum.h"
#include "data/tokens.h"
#include "tests/fuzz/fuzz_common.h"

static void open_and_read(const char *path) {
    TokenFile tf;
    if (token_file_open(&tf, path)) return;
    for (long i = 0; i < tf.count; i++)
        if (tf.ids[i] >= tf.vocab_size) abort();   /* what open promises its callers */
    token_file_close(&tf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "input.tok", data, size);
    open_and_read(path);
    if (size < 32) return 0;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    uint64_t sum = checksum_bytes(copy + 32, (size - 32) & ~(size_t)1);
    for (int i = 0; i < 8; i++) copy[24 + i] = (uint8_t)(sum >> 8 * i);
    fuzz_write_file(path, sizeof path, "input.tok", copy, size);
    free(copy);
    open_and_read(path);
    return 0;
}
