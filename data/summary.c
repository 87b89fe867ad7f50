/* summary.txt of a prepared folder, and the install that puts it in place last. */
#include "data/summary.h"
#include "data/bpe.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* what summary.txt may hold: ids from outside (token shards, a tokenizer.json) go beyond
 * the vocabulary learned here, up to the uint16 limit */
enum { SUMMARY_VOCAB_MAX = BPE_OUTSIDE_VOCAB_MAX, PATH_BYTES = DATASET_PATH_BYTES };

const char *const TEXT_FOLDER_FILES[TEXT_FOLDER_FILE_COUNT] = {"tokenizer.bin", "train.tok", "val.tok", "val.txt"};

int dataset_file_path(char *out, const char *dir, const char *name) {
    return path_join(out, PATH_BYTES, dir, name);
}

enum { KIND_LONG, KIND_INT, KIND_DOUBLE };
static const struct {
    const char *key;
    int kind;
    size_t offset;
} SUMMARY_KEYS[] = {
    {"vocab_size", KIND_INT, offsetof(DataSummary, vocab_size)},
    {"documents", KIND_INT, offsetof(DataSummary, documents)},
    {"val_documents", KIND_INT, offsetof(DataSummary, val_documents)},
    {"train_tokens", KIND_LONG, offsetof(DataSummary, train_tokens)},
    {"val_tokens", KIND_LONG, offsetof(DataSummary, val_tokens)},
    {"train_bytes", KIND_LONG, offsetof(DataSummary, train_bytes)},
    {"val_bytes", KIND_LONG, offsetof(DataSummary, val_bytes)},
    {"unigram_val_ppl", KIND_DOUBLE, offsetof(DataSummary, unigram_val_ppl)},
};
enum { N_SUMMARY_KEYS = sizeof SUMMARY_KEYS / sizeof SUMMARY_KEYS[0] };

/* Stores one known key's value; 0 when the text is not a valid value. */
static int set_summary_value(DataSummary *s, int k, const char *text) {
    char *end;
    errno = 0;
    void *field = (char *)s + SUMMARY_KEYS[k].offset;
    if (SUMMARY_KEYS[k].kind == KIND_DOUBLE) {
        double v = strtod(text, &end);
        if (*end || end == text || errno || !isfinite(v) || v <= 0) return 0;
        *(double *)field = v;
        return 1;
    }
    long v = strtol(text, &end, 10);
    if (*end || end == text || errno || v < 0) return 0;
    if (SUMMARY_KEYS[k].kind == KIND_INT) {
        if (v > 1000000000L) return 0;
        *(int *)field = (int)v;
    } else {
        *(long *)field = v;
    }
    return 1;
}

/* Handles one "key = value" line; unknown keys are notes for people and are skipped. */
static int parse_summary_line(char *line, const char *path, int number, DataSummary *s,
                              uint64_t *fingerprint, unsigned *found) {
    while (*line == ' ' || *line == '\t') line++;
    if (!*line || *line == '#') return OK;
    char *eq = strchr(line, '=');
    if (!eq) return error_set(ERR_INPUT, "%s:%d: expected key = value", path, number);
    char *key_end = eq, *value = eq + 1;
    while (key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t')) key_end--;
    *key_end = 0;
    while (*value == ' ' || *value == '\t') value++;
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\r')) value[--n] = 0;
    if (!strcmp(line, "tokenizer")) {   /* "none": token shards, ids from outside */
        s->no_tokenizer = !strcmp(value, "none");
        return OK;
    }
    if (!strcmp(line, "fingerprint")) {
        char *end;
        errno = 0;
        *fingerprint = strtoull(value, &end, 16);
        if (*end || end == value || errno)
            return error_set(ERR_INPUT, "%s:%d: bad fingerprint", path, number);
        *found |= 1u << N_SUMMARY_KEYS;
        return OK;
    }
    for (int k = 0; k < N_SUMMARY_KEYS; k++) {
        if (strcmp(line, SUMMARY_KEYS[k].key)) continue;
        if (!set_summary_value(s, k, value))
            return error_set(ERR_INPUT, "%s:%d: bad value '%s' for %s", path, number, value, line);
        *found |= 1u << k;
    }
    return OK;
}

static int parse_summary(const char *path, DataSummary *s, uint64_t *fingerprint) {
    char *text;
    size_t bytes;
    int rc = read_file(path, &text, &bytes);
    if (rc) return rc;
    unsigned found = 0;
    int number = 0;
    for (char *line = text, *next; line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        rc = parse_summary_line(line, path, ++number, s, fingerprint, &found);
    }
    free(text);
    for (int k = 0; k <= N_SUMMARY_KEYS && !rc; k++)
        if (!(found & 1u << k))
            rc = error_set(ERR_INPUT, "%s: missing %s (run ./meki data again)", path,
                           k < N_SUMMARY_KEYS ? SUMMARY_KEYS[k].key : "fingerprint");
    if (!rc && (s->vocab_size < 1 || s->vocab_size > SUMMARY_VOCAB_MAX))
        rc = error_set(ERR_INPUT, "%s: vocab_size %d out of range", path, s->vocab_size);
    return rc;
}

int dataset_summary_read(const char *dir, DataSummary *s, uint64_t *fingerprint) {
    memset(s, 0, sizeof *s);
    char path[PATH_BYTES];
    if (strlen(dir) >= sizeof s->dir) return error_set(ERR_INPUT, "path too long: %s", dir);
    int rc = dataset_file_path(path, dir, "summary.txt");
    if (rc) return rc;
    if (!file_exists(path))
        return error_set(ERR_INPUT, "no prepared corpus in %s: run ./meki data", dir);
    rc = parse_summary(path, s, fingerprint);
    static const char *const SHARD_FOLDER_FILES[] = {"train.shards", "val.tok"};
    const char *const *files = s->no_tokenizer ? SHARD_FOLDER_FILES : TEXT_FOLDER_FILES;
    size_t n_files = s->no_tokenizer ? 2 : TEXT_FOLDER_FILE_COUNT;
    for (size_t i = 0; !rc && i < n_files; i++) {
        rc = dataset_file_path(path, dir, files[i]);
        if (!rc && !file_exists(path))
            rc = error_set(ERR_INPUT, "%s is missing: run ./meki data again", path);
    }
    if (!rc) snprintf(s->dir, sizeof s->dir, "%s", dir);
    return rc;
}

int dataset_summary_load(const char *dir, DataSummary *summary) {
    uint64_t fingerprint;
    return dataset_summary_read(dir, summary, &fingerprint);
}


/* head, the figures, tail: written whole under a temporary name, then renamed. */
int dataset_summary_write(const char *dir, const char *head, const char *tail, const DataSummary *s) {
    char figures[1024], path[PATH_BYTES];
    int n = snprintf(figures, sizeof figures,
                     "vocab_size = %d\ndocuments = %d\nval_documents = %d\n"
                     "train_tokens = %ld\nval_tokens = %ld\ntrain_bytes = %ld\nval_bytes = %ld\n"
                     "unigram_val_ppl = %.6f\n",
                     s->vocab_size, s->documents, s->val_documents,
                     s->train_tokens, s->val_tokens, s->train_bytes, s->val_bytes, s->unigram_val_ppl);
    if (!s->no_tokenizer && n > 0 && (size_t)n < sizeof figures)   /* token shards have no text: no bytes */
        n += snprintf(figures + n, sizeof figures - (size_t)n,
                      "train_bytes_per_token = %.4f\nval_bytes_per_token = %.4f\n",
                      (double)s->train_bytes / (double)(s->train_tokens ? s->train_tokens : 1),
                      (double)s->val_bytes / (double)(s->val_tokens ? s->val_tokens : 1));
    if (n < 0 || (size_t)n >= sizeof figures) return error_set(ERR_FAILURE, "summary figures overflow");
    AtomicFile af;
    int rc = dataset_file_path(path, dir, "summary.txt");
    if (!rc) rc = atomic_open(&af, path);
    if (rc) return rc;
    rc = atomic_write(&af, head, strlen(head));
    if (!rc) rc = atomic_write(&af, figures, (size_t)n);
    if (!rc && tail && *tail) rc = atomic_write(&af, tail, strlen(tail));
    if (rc) {
        atomic_abort(&af);
        return rc;
    }
    return atomic_commit(&af);
}

/* Every file a prepared folder of either kind may hold besides summary.txt: those of the
 * other kind are removed when one kind is installed, so the folder is never both. */
static const char *const ALL_FOLDER_FILES[] = {"tokenizer.bin", "train.tok", "val.tok", "val.txt",
                                               "train.shards", "verified.txt"};

int dataset_install(const char *temp, const char *dir, const char *const *names, int n) {
    char path[PATH_BYTES], from[PATH_BYTES + 128];
    /* summary.txt leaves first and comes back last: a kill between the renames leaves a
     * folder that reads as unprepared, never old files under a new summary */
    int rc = make_dirs(dir);
    if (!rc) rc = dataset_file_path(path, dir, "summary.txt");
    if (!rc && unlink(path) != 0 && errno != ENOENT)
        rc = error_set(ERR_FAILURE, "cannot remove %s: %s", path, strerror(errno));
    for (size_t i = 0; !rc && i < sizeof ALL_FOLDER_FILES / sizeof ALL_FOLDER_FILES[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", temp, ALL_FOLDER_FILES[i]);
        if (file_exists(from) || dataset_file_path(path, dir, ALL_FOLDER_FILES[i])) continue;
        if (unlink(path) != 0 && errno != ENOENT)   /* the other kind's, or stale stamps */
            rc = error_set(ERR_FAILURE, "cannot remove %s: %s", path, strerror(errno));
    }
    for (int i = 0; !rc && i <= n; i++) {
        const char *name = i < n ? names[i] : "summary.txt";
        snprintf(from, sizeof from, "%s/%s", temp, name);
        if (i < n && !file_exists(from)) continue;   /* optional (verified.txt) */
        if ((rc = dataset_file_path(path, dir, name)) == OK) remove_stale_temps(path);   /* as atomic_open would */
        if (!rc && rename(from, path) != 0)
            rc = error_set(ERR_FAILURE, "cannot rename %s to %s: %s", from, path, strerror(errno));
    }
    return rc;
}

