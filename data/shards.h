/* Token shards researchers already have, used where they lie (they may be many GB):
 * - llm.c (dev/data/data_common.py, "gpt-2"): a header of 256 little-endian int32, [0] the
 *   magic 20240520, [1] the version 1, [2] the number of tokens; then that many uint16 ids;
 * - nanoGPT's train.bin / val.bin: uint16 ids and nothing else.
 * Neither says its vocabulary: it is given (default 50257, GPT-2's), and every id is
 * checked below it. shards_prepare makes a prepared folder (data/dataset.h) that train, eval and
 * sweep take as any other: train.shards names the train shards (not copied), val.tok is a
 * copy of the held-out shards (evaluation maps it whole), summary.txt says tokenizer = none
 * (no bits per byte, no zero-shot tasks: there is no text). */
#ifndef DATA_SHARDS_H
#define DATA_SHARDS_H
#include "data/summary.h"
#include "data/stamps.h"
#include "data/tokens.h"
#include <stdio.h>

typedef enum { SHARD_LLMC, SHARD_RAW } ShardFormat;
#define SHARD_DEFAULT_VOCAB 50257   /* GPT-2's, which both tools use by default */

typedef struct {
    ShardFormat format;
    const char *const *train;   /* shard files or glob patterns (llm.c: '*_train_*.bin' in its folder) */
    int n_train;
    const char *const *val;
    int n_val;
    int vocab_size;             /* 0: SHARD_DEFAULT_VOCAB */
    const char *out_dir;        /* NULL: data/cache/shards-<hash of the paths>-v<vocab> */
    int verify;                 /* read every shard again even when the folder is up to date */
} ShardOptions;

/* "llmc" or "raw"; ERR_INPUT otherwise. */
int shard_format_parse(const char *name, ShardFormat *format);
/* Builds (or finds up to date: same paths, sizes and mtimes) the prepared folder. Every
 * shard is read whole once: its header and size, every id below vocab_size, the checksum
 * of its ids. ERR_INPUT naming the file (and the token's offset) otherwise. */
int shards_prepare(const ShardOptions *o, DataSummary *s, FILE *log, int *reused);
/* Opens a train.shards manifest as one sequence read by window (tf->ids NULL). Each shard's
 * header and size are checked; one whose size, mtime or checksum differs from its stamp in
 * book (or all, with full) is read whole and its checksum compared with the manifest's. */
int shards_open(TokenFile *tf, const char *manifest, StampBook *book, int full);
#endif
