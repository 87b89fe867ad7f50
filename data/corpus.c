#include "data/corpus.h"
#include "data/jsonl.h"
#include "util/progress.h"
#include "data/checksum.h"
#include "util/error.h"
#include "util/fileio.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIBLE_COMMAND "bible -f 'Genesis1:1-Revelation22:21'"
enum { PIECE_BYTES = 65536, MIN_SPLIT_BYTES = 64 };

void corpus_free(Corpus *c) {
    for (int i = 0; i < c->count; i++) free(c->names[i]);
    for (int i = 0; i < c->n_sources; i++) free(c->sources[i].name), free(c->sources[i].packages);
    free(c->sources);
    free(c->doc_source);
    free(c->held_out);
    free(c->names);
    free(c->starts);
    free(c->lengths);
    free(c->text);
    memset(c, 0, sizeof *c);
}

int corpus_held_out(int index, int count) {
    long k = (count + 10) / 20 > 0 ? (count + 10) / 20 : 1, phase = count / 2;
    /* exactly k indices make floor((i * k + phase) / count) step up */
    return ((index + 1) * k + phase) / count != (index * k + phase) / count;
}

int corpus_document_held_out(const Corpus *c, int i) {
    return c->held_out ? c->held_out[i] : corpus_held_out(i, c->count);
}

static int out_of_memory(void) { return error_set(ERR_FAILURE, "out of memory reading the corpus"); }

/* Appends bytes to the corpus text. */
static int append_text(Corpus *c, size_t *capacity, const char *data, size_t bytes) {
    if (c->bytes + bytes + 1 > *capacity) {
        size_t cap = *capacity ? *capacity : 1 << 20;
        while (cap < c->bytes + bytes + 1) cap *= 2;
        char *bigger = realloc(c->text, cap);
        if (!bigger) return out_of_memory();
        c->text = bigger;
        *capacity = cap;
    }
    memcpy(c->text + c->bytes, data, bytes);
    c->bytes += bytes;
    return OK;
}

/* Closes the document that started at start: adds its final newline and records it. */
static int end_document(Corpus *c, size_t *capacity, size_t start, const char *name,
                        size_t name_length) {
    if (c->bytes > start && c->text[c->bytes - 1] != '\n') {
        int rc = append_text(c, capacity, "\n", 1);
        if (rc) return rc;
    }
    if (c->count == c->capacity) {
        int cap = c->capacity ? c->capacity * 2 : 64;
        size_t *starts = realloc(c->starts, (size_t)cap * sizeof *starts);
        if (starts) c->starts = starts;
        size_t *lengths = realloc(c->lengths, (size_t)cap * sizeof *lengths);
        if (lengths) c->lengths = lengths;
        char **names = realloc(c->names, (size_t)cap * sizeof *names);
        if (names) c->names = names;
        if (!starts || !lengths || !names) return out_of_memory();
        c->capacity = cap;
    }
    char *copy = malloc(name_length + 1);
    if (!copy) return out_of_memory();
    memcpy(copy, name, name_length);
    copy[name_length] = 0;
    c->starts[c->count] = start;
    c->lengths[c->count] = c->bytes - start;
    c->names[c->count++] = copy;
    return OK;
}

int corpus_add_document(Corpus *c, size_t *capacity, const char *text, size_t bytes, const char *name) {
    size_t start = c->bytes;
    if ((long long)(start + bytes + 1) > CORPUS_MAX_BYTES)
        return error_set(ERR_INPUT, "the corpus passes its limit of %lld bytes at %s", (long long)CORPUS_MAX_BYTES,
                         name);
    int rc = append_text(c, capacity, text, bytes);
    return rc ? rc : end_document(c, capacity, start, name, strlen(name));
}

/* ---- the Bible ---- */

/* "Ge1:1 In the beginning ...": the book is what precedes chapter:verse, and the text
 * starts after the first space. Returns 0 when the line has another shape. */
static int parse_verse(const char *line, size_t length, size_t *book_length, size_t *text_start) {
    const char *space = memchr(line, ' ', length);
    if (!space) return 0;
    size_t end = (size_t)(space - line), k = end;
    while (k > 0 && isdigit((unsigned char)line[k - 1])) k--;
    if (k == end || k == 0 || line[k - 1] != ':') return 0;
    size_t colon = --k;
    while (k > 0 && isdigit((unsigned char)line[k - 1])) k--;
    if (k == colon || k == 0) return 0;
    *book_length = k;
    *text_start = end + 1;
    return 1;
}

static int command_on_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char candidate[4096];
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t length = colon ? (size_t)(colon - p) : strlen(p);
        int n = snprintf(candidate, sizeof candidate, "%.*s/%s", (int)length, p, name);
        if (length && n > 0 && (size_t)n < sizeof candidate && access(candidate, X_OK) == 0)
            return 1;
        p += length + (colon != NULL);
    }
    return 0;
}

/* Reads the verses, starting a new document whenever the book abbreviation changes. */
static int read_verses(Corpus *c, FILE *pipe) {
    size_t capacity = 0, start = 0, book_length = 0, text_start;
    char book[64] = "", *line = NULL;
    size_t line_capacity = 0;
    long number = 0;
    ssize_t got;
    int rc = OK;
    while (rc == OK && (got = getline(&line, &line_capacity, pipe)) >= 0) {
        number++;
        size_t length = (size_t)got;
        while (length && (line[length - 1] == '\n' || line[length - 1] == '\r')) length--;
        if (!length) continue;
        size_t this_book;
        if (!parse_verse(line, length, &this_book, &text_start) || this_book >= sizeof book) {
            line[length] = 0;
            rc = error_set(ERR_FAILURE, "unexpected line %ld from `%s`: %.60s", number,
                           BIBLE_COMMAND, line);
            break;
        }
        if (this_book != book_length || memcmp(book, line, this_book)) {
            if (book_length) rc = end_document(c, &capacity, start, book, book_length);
            memcpy(book, line, this_book);
            book_length = this_book;
            start = c->bytes;
        }
        line[length] = '\n';
        if (!rc) rc = append_text(c, &capacity, line + text_start, length + 1 - text_start);
    }
    if (!rc && book_length) rc = end_document(c, &capacity, start, book, book_length);
    free(line);
    return rc;
}

int corpus_read_bible(Corpus *c) {
    memset(c, 0, sizeof *c);
    if (!command_on_path("bible"))
        return error_set(ERR_FAILURE, "the `bible` command is missing: install bible-kjv (make deps)");
    FILE *pipe = popen(BIBLE_COMMAND, "r");
    if (!pipe) return error_set(ERR_FAILURE, "cannot run `%s`: %s", BIBLE_COMMAND, strerror(errno));
    int rc = read_verses(c, pipe);
    int status = pclose(pipe);
    if (!rc && (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        rc = error_set(ERR_FAILURE, "`%s` failed (exit %d): is bible-kjv installed? (make deps)",
                       BIBLE_COMMAND, status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (!rc && c->count < 2)
        rc = error_set(ERR_FAILURE, "`%s` printed %d books; expected 66", BIBLE_COMMAND, c->count);
    if (rc) {
        corpus_free(c);
        return rc;
    }
    c->fingerprint = checksum_update(checksum_bytes("bible-kjv", 10), c->text, c->bytes);
    return OK;
}

/* ---- user files ---- */

/* Only regular files, and at most CORPUS_MAX_BYTES in all: /dev/zero or a FIFO would
 * otherwise grow the text until memory runs out. The size is checked before reading and
 * again while reading (the file may grow meanwhile). */
static int read_whole_file(Corpus *c, size_t *capacity, const char *path) {
    int fd;
    long long size;
    int rc = open_input(path, "corpus file", &fd, &size);
    if (rc) return rc;
    if (size > CORPUS_MAX_BYTES - (long long)c->bytes) {
        close(fd);
        return error_set(ERR_INPUT, "corpus file %s is too large (%lld bytes; the corpus may hold "
                         "%lld bytes in all)", path, size, (long long)CORPUS_MAX_BYTES);
    }
    char buffer[1 << 16];
    size_t before = c->bytes;
    ssize_t got;
    while (!rc && (got = read(fd, buffer, sizeof buffer)) != 0) {
        if (got < 0) {
            if (errno == EINTR) continue;
            rc = error_set(ERR_INPUT, "cannot read corpus file %s: %s", path, strerror(errno));
        } else if ((long long)(c->bytes + (size_t)got) > CORPUS_MAX_BYTES) {
            rc = error_set(ERR_INPUT, "corpus file %s grew past the corpus limit of %lld bytes",
                           path, (long long)CORPUS_MAX_BYTES);
        } else {
            rc = append_text(c, capacity, buffer, (size_t)got);
        }
    }
    close(fd);
    if (!rc && c->bytes == before) rc = error_set(ERR_INPUT, "corpus file %s is empty", path);
    return rc;
}

/* Cuts the lone file into documents of about PIECE_BYTES (fewer, smaller ones for a small
 * file, so that about 20 exist), each ending after a newline when one is near. */
static int split_single_file(Corpus *c, size_t *capacity, const char *path) {
    size_t total = c->bytes;
    if (total < MIN_SPLIT_BYTES)
        return error_set(ERR_INPUT, "corpus file %s is too small (%zu bytes) to hold out "
                         "validation text: give more text or a second file", path, total);
    char *whole = c->text;   /* take the text over and rebuild it piece by piece */
    c->text = NULL;
    c->bytes = 0;
    *capacity = 0;
    size_t piece = (total + 19) / 20 < PIECE_BYTES ? (total + 19) / 20 : PIECE_BYTES;
    int rc = OK;
    char name[4200];
    for (size_t at = 0; at < total && !rc;) {
        size_t end = total - at <= piece ? total : at + piece;
        for (size_t k = end; end < total && k > at + piece / 2; k--)
            if (whole[k - 1] == '\n') {
                end = k;
                break;
            }
        size_t start = c->bytes;
        rc = append_text(c, capacity, whole + at, end - at);
        int n = snprintf(name, sizeof name, "%s@%zu", path, at);
        if (!rc) rc = end_document(c, capacity, start, name, n > 0 ? strlen(name) : 0);
        at = end;
    }
    free(whole);
    return rc;
}

typedef struct {
    Corpus *c;
    size_t *capacity;
    const char *path;
} JsonlSink;

/* One line's document of a JSONL file, named PATH:LINE; empty ones are left out. */
static int add_jsonl_document(void *user, const char *text, size_t bytes, long line) {
    JsonlSink *sink = user;
    if (!bytes) return OK;
    size_t start = sink->c->bytes;
    if ((long long)(start + bytes) > CORPUS_MAX_BYTES)
        return error_set(ERR_INPUT, "%s:%ld: the corpus passes its limit of %lld bytes", sink->path, line,
                         (long long)CORPUS_MAX_BYTES);
    int rc = append_text(sink->c, sink->capacity, text, bytes);
    char name[4200];
    int n = snprintf(name, sizeof name, "%s:%ld", sink->path, line);
    if (!rc) rc = end_document(sink->c, sink->capacity, start, name, n > 0 ? strlen(name) : 0);
    return rc;
}

/* A JSONL file: read whole (within the corpus limit) into a side buffer, its documents
 * then appended one by one. */
static int read_jsonl_file(Corpus *c, size_t *capacity, const char *path, const char *field) {
    Corpus raw = {0};   /* within CORPUS_MAX_BYTES itself; the documents are counted as added */
    size_t raw_capacity = 0;
    int rc = read_whole_file(&raw, &raw_capacity, path);
    if (rc) {
        free(raw.text);
        return rc;
    }
    JsonlSink sink = {c, capacity, path};
    int before = c->count;
    rc = jsonl_read(path, raw.text, raw.bytes, field, add_jsonl_document, &sink);
    free(raw.text);
    if (!rc && c->count == before) rc = error_set(ERR_INPUT, "%s holds no non-empty document", path);
    return rc;
}

int corpus_read_files(Corpus *c, const char *const *paths, int n_paths) {
    return corpus_read_files_field(c, paths, n_paths, NULL);
}

int corpus_read_files_field(Corpus *c, const char *const *paths, int n_paths, const char *jsonl_field) {
    memset(c, 0, sizeof *c);
    size_t capacity = 0;
    uint64_t fingerprint = checksum_bytes("files", 6);
    int rc = n_paths > 0 ? OK : error_set(ERR_INPUT, "no corpus files given");
    Progress progress;
    progress_begin_after(&progress, "reading corpus files", n_paths, 5);
    for (int i = 0; i < n_paths && !rc; i++) {
        progress_update(&progress, i, "");
        size_t start = c->bytes;
        int jsonl = jsonl_path(paths[i]);
        rc = jsonl ? read_jsonl_file(c, &capacity, paths[i], jsonl_field)
                   : read_whole_file(c, &capacity, paths[i]);
        if (rc) break;
        if (jsonl) {   /* the field decides the documents */
            const char *field = jsonl_field ? jsonl_field : JSONL_DEFAULT_FIELD;
            fingerprint = checksum_update(fingerprint, field, strlen(field) + 1);
        }
        fingerprint = checksum_update(fingerprint, c->text + start, c->bytes - start);
        fingerprint = checksum_update(fingerprint, "\0", 1);   /* file boundary */
        if (jsonl) continue;   /* its lines are its documents */
        if (n_paths == 1) rc = split_single_file(c, &capacity, paths[i]);
        else rc = end_document(c, &capacity, start, paths[i], strlen(paths[i]));
    }
    progress_end(&progress);
    if (rc) {
        corpus_free(c);
        return rc;
    }
    c->fingerprint = fingerprint;
    return OK;
}
