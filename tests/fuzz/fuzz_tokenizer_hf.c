/* Any bytes as a Hugging Face tokenizer.json: the JSON reader alone, then tokenizer_load (which
 * takes a file starting with '{' as one). A tokenizer that loads must round-trip text: decode of
 * encode gives the bytes back (after one space when add_prefix_space put it there), or
 * encoding refuses a byte its vocabulary lacks. */
#include "data/tokenizer.h"
#include "util/error.h"
#include "util/json_read.h"
#include "tests/fuzz/fuzz_common.h"

static void round_trip(const Tokenizer *tok, const unsigned char *text, size_t bytes) {
    uint16_t *ids;
    long n;
    int rc = tokenizer_encode(tok, text, bytes, &ids, &n);
    if (rc == ERR_INPUT) return;   /* a byte without a token */
    if (rc) abort();
    char *back;
    size_t back_bytes;
    if (tokenizer_decode(tok, ids, n, &back, &back_bytes)) abort();
    int spaced = bytes && text[0] != ' ' && back_bytes == bytes + 1 && back[0] == ' ';
    if (back_bytes != bytes + (size_t)spaced || memcmp(back + spaced, text, bytes)) abort();
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    JsonValue *v;
    if (json_parse((const char *)data, size, "fuzz", &v) == OK) json_value_free(v);
    char path[600];
    fuzz_write_file(path, sizeof path, "tokenizer.json", data, size);
    Tokenizer *tok;
    if (tokenizer_load(&tok, path)) return 0;
    static const char text[] = "In the beginning, it's 1234  words\n\nna\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 ";
    round_trip(tok, (const unsigned char *)text, sizeof text - 1);
    round_trip(tok, data, size < 256 ? size : 256);   /* the input's own bytes as text */
    tokenizer_free(tok);
    return 0;
}
