/* Token shards brought in (data/shards.h) and the stamps that spare re-reading unchanged
 * token files (data/stamps.h): preparation, reading across shard boundaries, refusals
 * naming the file, and that a second open of a large file does not read it whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/checksum.h"
#include "data/dataset.h"
#include "data/shards.h"
#include "data/stamps.h"
#include "data/tokens.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/timer.h"
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/meki-shards-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", dir, name); }

/* An llm.c shard (header of 256 int32: magic, version, count) of ids, or a raw .bin. */
static void write_shard(const char *name, const uint16_t *ids, long count, int llmc, int32_t magic, int32_t version) {
    char path[256];
    path_in(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (llmc) {
        int32_t header[256] = {magic, version, (int32_t)count};
        assert_int_equal(fwrite(header, sizeof header, 1, f), 1);
    }
    assert_int_equal(fwrite(ids, 2, (size_t)count, f), (size_t)count);
    assert_int_equal(fclose(f), 0);
}

/* One llm.c train shard and one val shard of this folder prepared into DIR/out_name (out). */
static void prepare_llmc(const char *train, const char *val, const char *out_name, char out[256]) {
    char t[256], v[256];
    path_in(t, sizeof t, train);
    path_in(v, sizeof v, val);
    path_in(out, 256, out_name);
    const char *train_in[] = {t}, *val_in[] = {v};
    ShardOptions o = {SHARD_LLMC, train_in, 1, val_in, 1, 0, out, 0};
    DataSummary s;
    assert_int_equal(shards_prepare(&o, &s, NULL, NULL), OK);
}

static uint16_t id_at(long i, int vocab) { return (uint16_t)((i * 7919 + 13) % vocab); }

static void fill(uint16_t *ids, long from, long count, int vocab) {
    for (long i = 0; i < count; i++) ids[i] = id_at(from + i, vocab);
}

static long read_chars(void) {   /* bytes this process read through read/pread so far */
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long chars = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "rchar: %ld", &chars) == 1) break;
    if (f) fclose(f);
    return chars;
}

static long minor_faults(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

static void touch_later(const char *path, int seconds) {   /* a new mtime, the content as it was */
    struct timespec times[2] = {{0, UTIME_OMIT}, {time(NULL) + seconds, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Three llm.c train shards of uneven sizes and a val shard: prepared, read back id for id
 * across the boundaries, found up to date the second time. */
static void test_llmc_shards(void **state) {
    (void)state;
    enum { A = 1000, B = 3, C = 2500, V = 700 };
    static uint16_t ids[A + B + C], val[V];
    fill(ids, 0, A + B + C, SHARD_DEFAULT_VOCAB);
    fill(val, 99999, V, SHARD_DEFAULT_VOCAB);
    write_shard("x_train_000001.bin", ids, A, 1, 20240520, 1);
    write_shard("x_train_000002.bin", ids + A, B, 1, 20240520, 1);
    write_shard("x_train_000003.bin", ids + A + B, C, 1, 20240520, 1);
    write_shard("x_val_000000.bin", val, V, 1, 20240520, 1);
    char pattern[256], val_path[256], out[256];
    path_in(pattern, sizeof pattern, "x_train_*.bin");
    path_in(val_path, sizeof val_path, "x_val_000000.bin");
    path_in(out, sizeof out, "prep");
    const char *train_in[] = {pattern}, *val_in[] = {val_path};
    ShardOptions o = {SHARD_LLMC, train_in, 1, val_in, 1, 0, out, 0};
    DataSummary s;
    int reused = -1;
    assert_int_equal(shards_prepare(&o, &s, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    assert_int_equal(s.train_tokens, A + B + C);
    assert_int_equal(s.val_tokens, V);
    assert_int_equal(s.vocab_size, 50257);
    assert_int_equal(s.no_tokenizer, 1);
    assert_int_equal(s.documents, 4);
    assert_true(isfinite(s.unigram_val_ppl) && s.unigram_val_ppl > 1);
    TokenFile train, held;
    assert_int_equal(dataset_open_split(out, "train", 0, &train), OK);
    assert_null(train.ids);   /* read by window only */
    assert_int_equal(train.count, A + B + C);
    assert_int_equal(train.n_segments, 3);
    int32_t tokens[64], targets[64];
    long starts[] = {0, A - 30, A - 1, A + 1, A + B + C - 65};   /* across both boundaries */
    for (int k = 0; k < 5; k++) {
        assert_int_equal(token_file_window(&train, starts[k], 64, tokens, targets), OK);
        for (int t = 0; t < 64; t++) {
            assert_int_equal(tokens[t], ids[starts[k] + t]);
            assert_int_equal(targets[t], ids[starts[k] + t + 1]);
        }
    }
    token_file_close(&train);
    assert_int_equal(dataset_open_split(out, "val", 0, &held), OK);   /* val.tok: a mapped copy */
    assert_int_equal(held.count, V);
    assert_memory_equal(held.ids, val, sizeof val);
    token_file_close(&held);
    uint64_t fingerprint;
    assert_int_equal(dataset_shard_folder(out, &fingerprint), 1);
    char id[17];
    assert_int_equal(dataset_tokenizer_id(out, id), OK);
    assert_string_equal(id, "none");
    /* the same inputs again: nothing read, the folder reused */
    DataSummary again;
    assert_int_equal(shards_prepare(&o, &again, NULL, &reused), OK);
    assert_int_equal(reused, 1);
    assert_int_equal(again.train_tokens, s.train_tokens);
    /* a sweep's [data] corpus naming the folder: used as it is, the model's vocab checked */
    const char *folder[] = {out};
    DataOptions as_corpus = {.corpus_files = folder, .n_files = 1, .vocab_size = 50257};
    assert_int_equal(dataset_prepare_logged(&as_corpus, &again, NULL, &reused), OK);
    assert_int_equal(reused, 1);
    assert_string_equal(again.dir, out);
    as_corpus.vocab_size = 4096;
    assert_int_equal(dataset_prepare_logged(&as_corpus, &again, NULL, &reused), ERR_INPUT);
    assert_non_null(strstr(error_message(), "vocab_size = 50257"));
}

/* nanoGPT's raw train.bin / val.bin with a given vocabulary. */
static void test_raw_bins(void **state) {
    (void)state;
    static uint16_t ids[5000];
    fill(ids, 0, 5000, 300);
    write_shard("train.bin", ids, 4000, 0, 0, 0);
    write_shard("val.bin", ids + 4000, 1000, 0, 0, 0);
    char t[256], v[256], out[256];
    path_in(t, sizeof t, "train.bin");
    path_in(v, sizeof v, "val.bin");
    path_in(out, sizeof out, "raw");
    const char *train_in[] = {t}, *val_in[] = {v};
    ShardOptions o = {SHARD_RAW, train_in, 1, val_in, 1, 300, out, 0};
    DataSummary s;
    assert_int_equal(shards_prepare(&o, &s, NULL, NULL), OK);
    assert_int_equal(s.train_tokens, 4000);
    assert_int_equal(s.vocab_size, 300);
    TokenFile tf;
    int32_t tokens[10], targets[10];
    assert_int_equal(dataset_open_split(out, "train", 0, &tf), OK);
    assert_int_equal(token_file_window(&tf, 3989, 10, tokens, targets), OK);
    assert_int_equal(targets[9], ids[3999]);
    token_file_close(&tf);
    /* a vocabulary below an id: refused naming the file and where */
    o.vocab_size = 256;
    path_in(out, sizeof out, "raw256");
    assert_int_equal(shards_prepare(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "train.bin: token id"));
    assert_non_null(strstr(error_message(), "not below the vocabulary 256"));
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0);   /* nothing half-made */
}

/* Each damaged shard: ERR_INPUT naming it, no folder. */
static void test_bad_shards(void **state) {
    (void)state;
    static uint16_t ids[100];
    fill(ids, 0, 100, 1000);
    write_shard("good.bin", ids, 100, 1, 20240520, 1);
    write_shard("magic.bin", ids, 100, 1, 20240521, 1);
    write_shard("version.bin", ids, 100, 1, 20240520, 3);
    write_shard("odd.bin", ids, 100, 0, 0, 0);
    char path[256];
    path_in(path, sizeof path, "odd.bin");
    assert_int_equal(truncate(path, 199), 0);
    write_shard("truncated.bin", ids, 100, 1, 20240520, 1);
    path_in(path, sizeof path, "truncated.bin");
    assert_int_equal(truncate(path, 1024 + 150), 0);
    const struct {
        const char *name, *word;
        ShardFormat format;
    } cases[] = {{"magic.bin", "not an llm.c token shard", SHARD_LLMC},
                 {"version.bin", "version 3", SHARD_LLMC},
                 {"truncated.bin", "says 100 tokens", SHARD_LLMC},
                 {"odd.bin", "199 bytes, an odd count", SHARD_RAW}};
    char good[256], out[256];
    path_in(good, sizeof good, "good.bin");
    path_in(out, sizeof out, "bad");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        path_in(path, sizeof path, cases[i].name);
        const char *train_in[] = {path}, *val_in[] = {good};
        ShardOptions o = {cases[i].format, train_in, 1, val_in, 1, 0, out, 0};
        DataSummary s;
        assert_int_equal(shards_prepare(&o, &s, NULL, NULL), ERR_INPUT);
        assert_non_null(strstr(error_message(), cases[i].name));
        assert_non_null(strstr(error_message(), cases[i].word));
        struct stat st;
        assert_int_not_equal(stat(out, &st), 0);
    }
}

/* A train.shards manifest edited by hand (seen reading data/shards.c for its fuzz target, which
 * replays both as regressions; fuzzing alone had not hit them): a second
 * vocab_size, after shards checked against the first, once let ids past the vocabulary the
 * sequence then reported; an offset and count past the file's size overflowed the size
 * check. Both are refused naming the manifest's line or the shard. */
static void test_bad_manifests(void **state) {
    (void)state;
    static uint16_t ids[200];
    fill(ids, 0, 200, 1000);
    write_shard("m_train.bin", ids, 200, 1, 20240520, 1);
    write_shard("m_val.bin", ids, 100, 1, 20240520, 1);
    char t[256], out[256], manifest[300], edited[300];
    prepare_llmc("m_train.bin", "m_val.bin", "mprep", out);
    path_in(t, sizeof t, "m_train.bin");
    snprintf(manifest, sizeof manifest, "%s/train.shards", out);
    char *text;
    size_t bytes;
    assert_int_equal(read_file(manifest, &text, &bytes), OK);
    const struct { const char *tail, *word; } cases[] = {
        {"vocab_size = 256\n", ":5: a second vocab_size"},
        {"shard = 9223372036854775807 4611686018427387904 0 %s\n", "m_train.bin: 1424 bytes, but 4611686018427387904 tokens"},
    };
    path_in(edited, sizeof edited, "edited.shards");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(edited, "w");
        assert_non_null(f);
        fputs(text, f);
        fprintf(f, cases[i].tail, t);
        assert_int_equal(fclose(f), 0);
        TokenFile tf;
        StampBook book = {0};
        assert_int_equal(shards_open(&tf, edited, &book, 1), ERR_INPUT);
        stamps_free(&book);
        if (!strstr(error_message(), cases[i].word)) fail_msg("got '%s'", error_message());
    }
    free(text);
}

/* A 256 MB token file (sparse): the first open reads every id; the second, with its stamp,
 * touches the header alone; a new mtime makes the next read it whole again. A change that
 * keeps size and mtime is caught only by a full check: what the stamps take on trust. */
static void test_second_open_does_not_read_whole(void **state) {
    (void)state;
    const uint64_t count = (uint64_t)128 << 20;
    static unsigned char zeros[1 << 16];
    uint64_t sum = CHECKSUM_SEED;
    for (uint64_t done = 0; done < 2 * count; done += sizeof zeros) sum = checksum_update(sum, zeros, sizeof zeros);
    char folder[256], path[300];
    path_in(folder, sizeof folder, "big");
    assert_int_equal(mkdir(folder, 0755), 0);
    snprintf(path, sizeof path, "%s/train.tok", folder);
    unsigned char header[32] = "MEKITOK1";
    store_u32(header + 8, 4096);
    store_u64(header + 16, count);
    store_u64(header + 24, sum);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(header, sizeof header, 1, f), 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(path, (off_t)(sizeof header + 2 * count)), 0);
    TokenFile tf;
    long faults[3];
    double seconds[3];
    for (int k = 0; k < 3; k++) {
        if (k == 2) touch_later(path, 100);
        long before = minor_faults();
        double start = now_seconds();
        assert_int_equal(dataset_open_split(folder, "train", 0, &tf), OK);
        seconds[k] = now_seconds() - start;
        faults[k] = minor_faults() - before;
        assert_int_equal(tf.count, (long)count);
        token_file_close(&tf);
    }
    fprintf(stderr, "256 MB token file: %ld page faults (%.3f s) opening it first, %ld (%.6f s) the second time, "
            "%ld (%.3f s) after a touch\n", faults[0], seconds[0], faults[1], seconds[1], faults[2], seconds[2]);
    /* reading 256 MB takes at least 128 faults (2 MB huge pages; 4 KB pages take more); the
     * header alone a few */
    assert_true(faults[0] >= 128);
    assert_true(faults[1] < 64);   /* a whole read is >= 128; ASan's own allocations add ~20 */
    assert_true(faults[2] >= 128);
    /* one id changed in place, the mtime put back: the stamp vouches, a full check refuses */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 32 + 2 * 1000, SEEK_SET), 0);
    assert_int_equal(fputc(1, f), 1);
    assert_int_equal(fclose(f), 0);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(dataset_open_split(folder, "train", 0, &tf), OK);
    token_file_close(&tf);
    assert_int_equal(dataset_open_split(folder, "train", 1, &tf), ERR_INPUT);
    assert_non_null(strstr(error_message(), "checksum mismatch"));
    unlink(path);
}

/* Shards: a second open reads none of them (pread bytes counted); a touched one is read
 * again, found the same, and stamped afresh; one changed is refused naming it. */
static void test_shards_second_open_reads_nothing(void **state) {
    (void)state;
    enum { N = 4 << 20 };   /* 8 MB of ids */
    uint16_t *ids = malloc(2 * (size_t)N);
    assert_non_null(ids);
    fill(ids, 0, N, SHARD_DEFAULT_VOCAB);
    write_shard("s_train_1.bin", ids, N, 1, 20240520, 1);
    write_shard("s_val_1.bin", ids, 1000, 1, 20240520, 1);
    char t[256], out[256];
    prepare_llmc("s_train_1.bin", "s_val_1.bin", "sprep", out);
    path_in(t, sizeof t, "s_train_1.bin");
    TokenFile tf;
    long read[3];
    for (int k = 0; k < 3; k++) {
        if (k == 2) touch_later(t, 100);
        long before = read_chars();
        assert_int_equal(dataset_open_split(out, "train", 0, &tf), OK);
        read[k] = read_chars() - before;
        token_file_close(&tf);
    }
    fprintf(stderr, "8 MB shard: %ld bytes read opening it, %ld after a touch, %ld again\n", read[0], read[2], read[1]);
    assert_true(read[0] >= 0 && read[0] < (64 << 10));   /* the manifest and verified.txt */
    assert_true(read[2] >= 2L * N);                      /* touched: read whole once more */
    long before = read_chars();
    assert_int_equal(dataset_open_split(out, "train", 0, &tf), OK);
    assert_true(read_chars() - before < (64 << 10));     /* and stamped afresh */
    token_file_close(&tf);
    ids[12345] ^= 1;   /* same size, another id, a new mtime */
    write_shard("s_train_1.bin", ids, N, 1, 20240520, 1);
    touch_later(t, 200);
    assert_int_equal(dataset_open_split(out, "train", 0, &tf), ERR_INPUT);
    assert_non_null(strstr(error_message(), "s_train_1.bin: its tokens changed"));
    free(ids);
}

/* One --out taking shards, then text, then shards: never both kinds at once (a stale
 * train.shards would shadow train.tok), and a file of the user's beside them left alone. */
static void test_out_folder_changes_kind(void **state) {
    (void)state;
    static uint16_t ids[3000];
    fill(ids, 0, 3000, 300);
    write_shard("k_train.bin", ids, 2500, 0, 0, 0);
    write_shard("k_val.bin", ids + 2500, 500, 0, 0, 0);
    char t[256], v[256], out[256], notes[300], a[256], b[256], shards_path[300];
    path_in(t, sizeof t, "k_train.bin");
    path_in(v, sizeof v, "k_val.bin");
    path_in(out, sizeof out, "kinds");
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(notes, sizeof notes, "%s/notes.txt", out);
    snprintf(shards_path, sizeof shards_path, "%s/train.shards", out);
    FILE *f = fopen(notes, "w");
    assert_non_null(f);
    fclose(f);
    const char *train_in[] = {t}, *val_in[] = {v};
    ShardOptions o = {SHARD_RAW, train_in, 1, val_in, 1, 300, out, 0};
    DataSummary s;
    assert_int_equal(shards_prepare(&o, &s, NULL, NULL), OK);
    path_in(a, sizeof a, "a.txt");
    path_in(b, sizeof b, "b.txt");
    for (int k = 0; k < 2; k++) {
        f = fopen(k ? b : a, "w");
        assert_non_null(f);
        for (int line = 0; line < 200; line++) fprintf(f, "%s line %d of words and more words\n", k ? "bravo" : "alpha", line);
        fclose(f);
    }
    const char *text_in[] = {a, b};
    DataOptions text = {.corpus_files = text_in, .n_files = 2, .vocab_size = 300, .out_dir = out};
    assert_int_equal(dataset_prepare_logged(&text, &s, NULL, NULL), OK);
    assert_int_equal(s.no_tokenizer, 0);
    assert_int_equal(access(shards_path, F_OK), -1);
    TokenFile tf;
    assert_int_equal(dataset_open_split(out, "train", 0, &tf), OK);
    assert_non_null(tf.ids);   /* train.tok */
    assert_int_equal(tf.count, s.train_tokens);
    token_file_close(&tf);
    assert_int_equal(shards_prepare(&o, &s, NULL, NULL), OK);
    char tok[300];
    snprintf(tok, sizeof tok, "%s/tokenizer.bin", out);
    assert_int_equal(access(tok, F_OK), -1);
    assert_int_equal(access(shards_path, F_OK), 0);
    assert_int_equal(access(notes, F_OK), 0);
}

/* More shards than the soft limit on open files: the limit is raised for them. */
static void test_many_shards(void **state) {
    (void)state;
    enum { SHARDS = 300 };
    char name[64], pattern[256], v[256], out[256];
    uint16_t ids[4];
    for (int i = 0; i < SHARDS; i++) {
        fill(ids, 4L * i, 4, 300);
        snprintf(name, sizeof name, "many_%04d.bin", i);
        write_shard(name, ids, 4, 0, 0, 0);
    }
    write_shard("many_val.bin", ids, 4, 0, 0, 0);
    path_in(pattern, sizeof pattern, "many_0*.bin");
    path_in(v, sizeof v, "many_val.bin");
    path_in(out, sizeof out, "many");
    const char *train_in[] = {pattern}, *val_in[] = {v};
    ShardOptions o = {SHARD_RAW, train_in, 1, val_in, 1, 300, out, 0};
    DataSummary s;
    assert_int_equal(shards_prepare(&o, &s, NULL, NULL), OK);
    struct rlimit before, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &before), 0);
    low = before;
    low.rlim_cur = 256;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    TokenFile tf;
    assert_int_equal(dataset_open_split(out, "train", 0, &tf), OK);
    assert_int_equal(tf.n_segments, SHARDS);
    int32_t tokens[8], targets[8];
    assert_int_equal(token_file_window(&tf, 4L * 150 - 3, 8, tokens, targets), OK);
    for (int t = 0; t < 8; t++) assert_int_equal(tokens[t], id_at(4L * 150 - 3 + t, 300));
    token_file_close(&tf);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &before), 0);
}

/* train on a shard folder: bits per byte reported unavailable, not a number. */
static void test_train_on_shards(void **state) {
    (void)state;
    static uint16_t ids[6000];
    fill(ids, 0, 6000, 300);
    write_shard("tr.bin", ids, 5000, 0, 0, 0);
    write_shard("va.bin", ids + 5000, 1000, 0, 0, 0);
    const char *meki = getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki";
    char command[2048];
    snprintf(command, sizeof command,
             "%s data --shards %s/tr.bin --val-shards %s/va.bin --shard-format raw --vocab 300 --out %s/rp >/dev/null 2>&1 && "
             "%s train --preset tiny --set model.vocab_size=300 --data %s/rp --tokens 1024 --batch 2 --seq-len 32 "
             "--threads 1 --out %s/run --quiet > %s/train.out 2>&1",
             meki, dir, dir, dir, meki, dir, dir, dir);
    assert_int_equal(system(command), 0);
    char path[256], text[4096] = "";
    path_in(path, sizeof path, "train.out");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    assert_non_null(strstr(text, "bits/byte unavailable (no tokenizer)"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llmc_shards),
        cmocka_unit_test(test_raw_bins),
        cmocka_unit_test(test_bad_shards),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_second_open_does_not_read_whole),
        cmocka_unit_test(test_shards_second_open_reads_nothing),
        cmocka_unit_test(test_out_folder_changes_kind),
        cmocka_unit_test(test_many_shards),
        cmocka_unit_test(test_train_on_shards),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
