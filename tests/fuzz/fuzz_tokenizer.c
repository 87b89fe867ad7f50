/* tokenizer_load on arbitrary bytes (as given, then with the checksum recomputed so that
 * mutated merge lists are parsed); a loaded tokenizer must round-trip any text: the input
 * itself and a fixed sentence are encoded and decoded back. */
#include "data/tokenizer.h"
#include "tests/fuzz/fuzz_common.h"

static void roundtrip(const Tokenizer *tok, const uint8_t *text, size_t bytes) {
    uint16_t *ids;
    long count;
    char *back;
    size_t back_bytes;
    if (tokenizer_encode(tok, text, bytes, &ids, &count)) return;
    for (long i = 0; i < count; i++)
        if (ids[i] >= tokenizer_vocab_size(tok)) abort();
    if (tokenizer_decode(tok, ids, count, &back, &back_bytes) == 0) {
        if (back_bytes != bytes || memcmp(back, text, bytes)) abort();   /* decode(encode(x)) == x */
        free(back);
    }
    free(ids);
}

static void load_and_use(const char *path, const uint8_t *data, size_t size) {
    Tokenizer *tok;
    if (tokenizer_load(&tok, path)) return;
    static const char sentence[] = "In the beginning God created the heaven and the earth.\n  1:2 And...";
    roundtrip(tok, (const uint8_t *)sentence, sizeof sentence - 1);
    roundtrip(tok, data, size);
    for (int id = 0; id < tokenizer_vocab_size(tok); id++) {
        int length;
        if (!tokenizer_token_bytes(tok, id, &length) || length < 1) abort();
    }
    tokenizer_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "tokenizer.bin", data, size);
    load_and_use(path, data, size);
    if (size < 32) return 0;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    fuzz_fix_tokenizer_checksum(copy, size);
    fuzz_write_file(path, sizeof path, "tokenizer.bin", copy, size);
    load_and_use(path, copy, size);
    free(copy);
    return 0;
}
