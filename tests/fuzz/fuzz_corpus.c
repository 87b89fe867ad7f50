/* corpus_read_files on 1..4 files (the input split at NUL bytes), then BPE training on the
 * corpus with a small vocabulary, which must round-trip the corpus text. */
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char paths[4][600];
    const char *path_list[4];
    int n = 0;
    for (size_t at = 0; n < 4 && at <= size; n++) {
        const uint8_t *end = memchr(data + at, 0, size - at);
        size_t length = end ? (size_t)(end - (data + at)) : size - at;
        char name[16];
        snprintf(name, sizeof name, "doc%d.txt", n);
        fuzz_write_file(paths[n], sizeof paths[n], name, data + at, length);
        path_list[n] = paths[n];
        at += length + 1;
        if (!end) { n++; break; }
    }
    Corpus corpus;
    if (corpus_read_files(&corpus, path_list, n)) return 0;
    for (int i = 0; i < corpus.count; i++)
        if (corpus.starts[i] + corpus.lengths[i] > corpus.bytes) abort();
    Tokenizer *tok;
    int vocab = 256 + (int)(size % 48);   /* small: training cost grows with the merges */
    if (tokenizer_train(&tok, (const unsigned char *)corpus.text, corpus.bytes, vocab) == 0) {
        uint16_t *ids;
        long count;
        char *back;
        size_t back_bytes;
        if (tokenizer_encode(tok, (const unsigned char *)corpus.text, corpus.bytes, &ids, &count) == 0) {
            if (tokenizer_decode(tok, ids, count, &back, &back_bytes) == 0) {
                if (back_bytes != corpus.bytes || memcmp(back, corpus.text, back_bytes)) abort();
                free(back);
            }
            free(ids);
        }
        tokenizer_free(tok);
    }
    corpus_free(&corpus);
    return 0;
}
