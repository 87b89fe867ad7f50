/* Token shards (data/shards.c) from any bytes. Input: a mode byte (bit 0: llm.c or raw
 * layout; bit 1: vocabulary 256 or GPT-2's 50257; bit 2: shards_open reads every shard
 * whole), a little-endian u16 length L, L bytes of shard, then the text of a train.shards
 * manifest in which "$S" stands for that shard's path (the fuzzer cannot know it).
 * The shard is prepared as train and val (two copies); when that succeeds its manifest must
 * open. Then the fuzzed manifest is opened. Every sequence opened is read window by window
 * and each id must be below the vocabulary it reports: what shards_open promises trainers. */
#include "data/shards.h"
#include "util/error.h"
#include "tests/fuzz/fuzz_common.h"

static void read_all(const TokenFile *tf) {
    enum { WINDOW = 509 };
    int32_t tokens[WINDOW], targets[WINDOW];
    for (long start = 0; start + 1 < tf->count;) {
        int n = tf->count - 1 - start < WINDOW ? (int)(tf->count - 1 - start) : WINDOW;
        if (token_file_window(tf, start, n, tokens, targets)) abort();   /* checked files read whole */
        for (int t = 0; t < n; t++)
            if (tokens[t] < 0 || tokens[t] >= tf->vocab_size || targets[t] < 0 || targets[t] >= tf->vocab_size)
                abort();
        start += n;
    }
}

static void open_manifest(const char *manifest, int full, int must) {
    TokenFile tf;
    StampBook book = {0};
    int rc = shards_open(&tf, manifest, &book, full);
    stamps_free(&book);
    if (rc && must) abort();   /* a folder shards_prepare made must open */
    error_clear();
    if (rc) return;
    read_all(&tf);
    token_file_close(&tf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int mode = data[0];
    size_t length = (size_t)data[1] | (size_t)data[2] << 8;
    if (length > size - 3) length = size - 3;
    const uint8_t *shard = data + 3, *text = shard + length;
    size_t text_bytes = size - 3 - length;
    char train[600], val[600], out[600], manifest[700];
    fuzz_write_file(train, sizeof train, "train.bin", shard, length);
    fuzz_write_file(val, sizeof val, "val.bin", shard, length);
    snprintf(out, sizeof out, "%s/prepared", fuzz_dir());
    const char *trains[] = {train}, *vals[] = {val};
    ShardOptions o = {.format = mode & 1 ? SHARD_RAW : SHARD_LLMC, .train = trains, .n_train = 1, .val = vals,
                      .n_val = 1, .vocab_size = mode & 2 ? 256 : SHARD_DEFAULT_VOCAB, .out_dir = out, .verify = 1};
    DataSummary summary;
    if (shards_prepare(&o, &summary, NULL, NULL) == OK) {
        snprintf(manifest, sizeof manifest, "%s/train.shards", out);
        open_manifest(manifest, mode & 4, 1);
    }
    error_clear();
    /* the fuzzed manifest, "$S" replaced by the shard's path */
    char *expanded = malloc(text_bytes * (strlen(train) + 1) + 1);
    if (!expanded) abort();
    size_t at = 0;
    for (size_t i = 0; i < text_bytes; i++) {
        if (text[i] == '$' && i + 1 < text_bytes && text[i + 1] == 'S') {
            memcpy(expanded + at, train, strlen(train));
            at += strlen(train), i++;
        } else {
            expanded[at++] = (char)text[i];
        }
    }
    fuzz_write_file(manifest, sizeof manifest, "input.shards", (const uint8_t *)expanded, at);
    free(expanded);
    open_manifest(manifest, mode & 4, 0);
    return 0;
}
