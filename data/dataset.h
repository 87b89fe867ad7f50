/* The prepared corpus: a folder holding tokenizer.bin, train.tok, val.tok, val.txt
 * (the held-out documents as text, for building zero-shot tasks), summary.txt and
 * verified.txt (data/stamps.h); summary.txt and the install are data/summary.h's. One
 * prepared from token shards (data/shards.h) holds train.shards in place of train.tok,
 * and no tokenizer.bin or val.txt.
 * The default corpus is the King James Bible (Debian's bible-kjv); each book is a
 * document and about 5% of the books (deterministically chosen) are held out.
 * train.tok and val.tok encode the train and held-out documents back to back, each
 * document ending in a newline; decoding val.tok gives val.txt byte for byte.
 * vocab_size in the summary is what was learned: less than asked only when the
 * training text runs out of pairs to merge. */
#ifndef DATA_DATASET_H
#define DATA_DATASET_H
#include "data/summary.h"
#include "data/tokens.h"
#include <stdint.h>
#include <stdio.h>

typedef struct {
    /* corpus inputs, expanded by corpus_expand: files, directories, @list files;
     * none: the built-in Bible corpus */
    const char *const *corpus_files;
    int n_files;
    int vocab_size;                            /* 256..32768, default 4096 */
    const char *out_dir;                       /* NULL: data_default_dir(...) */
    const char *jsonl_field;                   /* the document of a .jsonl line; NULL: "text" */
    int verify;                                /* an up-to-date folder's token files are read
                                                * whole again (else their stamps vouch for them) */
    /* a Hugging Face tokenizer.json (byte-level BPE, data/tokenizer_hf.c) used in place of a
     * BPE learned here, vocab_size then ignored; NULL: learn one */
    const char *tokenizer;
    const char *builtin;                       /* "debian": the corpus of data/debian.h (no files);
                                                * NULL: the files, or the Bible */
    const char *debian_root;                   /* builtin "debian": the installed tree to read
                                                * (a chroot); NULL: / */
    const char *debian_sources;                /* its sources, comma-separated; NULL: all */
} DataOptions;

/* Builds everything (skips work already done for the same inputs), fills summary.
 * A vocab_size of 0 means the default, 4096. Progress lines go to stderr. */
int dataset_prepare(const DataOptions *options, DataSummary *summary);
/* The same with progress lines to log (NULL: silent); *reused (may be NULL) becomes 1 when a
 * complete folder for the same inputs and vocabulary was found and nothing was rebuilt. */
int dataset_prepare_logged(const DataOptions *options, DataSummary *summary, FILE *log,
                           int *reused);
/* data/cache/<corpus>-v<vocab>: "bible" or "debian" for the built-in corpora, else the 16 hex digits of
 * corpus_content_hash of the expanded inputs (a run's corpus_hash), so ./meki data and a
 * sweep naming the same files in other ways share one folder; with an outside tokenizer
 * data/cache/<corpus>-hf<16 hex digits of its file's content hash>. ERR_INPUT naming an
 * input that cannot be expanded or read. */
int data_default_dir(char *out, int size, const DataOptions *options);
/* Whether input is a folder prepared from token shards (data/shards.h): then [data] corpus
 * and train's data may name it, it is used as it is, and *fingerprint identifies it. */
int dataset_shard_folder(const char *input, uint64_t *fingerprint);
/* What names the folder's tokenizer in a run record: the 16 hex digits of tokenizer.bin's
 * hash, or "none" for token shards (data/shards.h). */
int dataset_tokenizer_id(const char *dir, char out[17]);
/* DIR/tokenizer.bin, for decode and export, checked to have the model's vocab_size (ERR_INPUT
 * otherwise). A folder of token shards has none: ERR_INPUT saying so, and that --data takes a
 * folder prepared with the tokenizer the ids came from. */
struct Tokenizer;
int dataset_tokenizer_load(const char *dir, int vocab_size, struct Tokenizer **tok);
/* Opens the "train" or "val" ids of a prepared folder: DIR/<split>.tok, or for train the
 * shards DIR/train.shards names. A file read whole and found intact before (DIR/verified.txt,
 * data/stamps.h) is not read again while its size and mtime stay the same; full reads
 * (and checks) every id regardless. ERR_INPUT naming a missing, corrupt or changed file. */
int dataset_open_split(const char *dir, const char *split, int full, TokenFile *tf);
#endif
