#include "data/boilerplate.h"
#include "util/error.h"
#include "util/hash.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Lines by 64-bit hash (a collision would drop a line wrongly once in ~1e19 pairs): how many
 * documents hold each, counted once per document. Open addressing, power-of-two size. */
typedef struct {
    uint64_t *hash;
    int *docs, *last;
    size_t count, capacity;
} LineTable;

static int blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* The line text[0..length) without its leading and trailing whitespace. */
static uint64_t line_hash(const char *line, size_t length, int *empty) {
    while (length && blank((unsigned char)line[length - 1])) length--;
    while (length && blank((unsigned char)*line)) line++, length--;
    *empty = length == 0;
    return fnv1a64(FNV1A64_OFFSET, line, length);
}

static size_t slot(const LineTable *t, uint64_t h) {
    size_t i = (size_t)(h ^ (h >> 31)) & (t->capacity - 1);
    while (t->docs[i] && t->hash[i] != h) i = (i + 1) & (t->capacity - 1);
    return i;
}

static int table_grow(LineTable *t) {
    LineTable big = {0};
    big.capacity = t->capacity ? 2 * t->capacity : 1 << 12;
    big.hash = malloc(big.capacity * sizeof *big.hash);
    big.docs = calloc(big.capacity, sizeof *big.docs);
    big.last = malloc(big.capacity * sizeof *big.last);
    if (!big.hash || !big.docs || !big.last) {
        free(big.hash), free(big.docs), free(big.last);
        return error_set(ERR_FAILURE, "out of memory finding boilerplate");
    }
    for (size_t i = 0; i < t->capacity; i++)
        if (t->docs[i]) {
            size_t j = slot(&big, t->hash[i]);
            big.hash[j] = t->hash[i], big.docs[j] = t->docs[i], big.last[j] = t->last[i];
        }
    big.count = t->count;
    free(t->hash), free(t->docs), free(t->last);
    *t = big;
    return OK;
}

static int count_lines(LineTable *t, const char *text, size_t length, int doc) {
    for (size_t at = 0; at < length;) {
        const char *nl = memchr(text + at, '\n', length - at);
        size_t end = nl ? (size_t)(nl - text) : length;
        int empty;
        uint64_t h = line_hash(text + at, end - at, &empty);
        at = end + 1;
        if (empty) continue;
        if (2 * (t->count + 1) > t->capacity && table_grow(t)) return ERR_FAILURE;
        size_t i = slot(t, h);
        if (!t->docs[i]) t->hash[i] = h, t->count++;
        else if (t->last[i] == doc) continue;
        t->docs[i]++;
        t->last[i] = doc;
    }
    return OK;
}

static int is_boilerplate(const LineTable *t, uint64_t h, int threshold) {
    size_t i = slot(t, h);
    return t->docs[i] >= threshold;
}

/* Rewrites one text in place, keeping lines that are not boilerplate. */
static size_t rewrite(const LineTable *t, char *text, size_t length, int threshold) {
    size_t out = 0, at = 0;
    int blank_run = 1;   /* no blank line at the start */
    while (at < length) {
        char *nl = memchr(text + at, '\n', length - at);
        size_t end = nl ? (size_t)(nl - text) : length, keep = end - at;
        int empty;
        uint64_t h = line_hash(text + at, keep, &empty);
        while (keep && blank((unsigned char)text[at + keep - 1])) keep--;
        if (empty) {
            if (!blank_run) text[out++] = '\n';
            blank_run = 1;
        } else if (!is_boilerplate(t, h, threshold)) {
            memmove(text + out, text + at, keep);
            out += keep;
            text[out++] = '\n';
            blank_run = 0;
        }
        at = end + 1;
    }
    while (out && text[out - 1] == '\n') out--;   /* blank lines at the end */
    if (out) text[out++] = '\n';
    return out;
}

int boilerplate_strip(char **texts, size_t *lengths, int count, int *dropped_lines) {
    LineTable t = {0};
    int rc = table_grow(&t);
    for (int i = 0; i < count && !rc; i++) rc = count_lines(&t, texts[i], lengths[i], i);
    int threshold = (count + BOILERPLATE_SHARE - 1) / BOILERPLATE_SHARE;
    if (threshold < BOILERPLATE_MIN_DOCS) threshold = BOILERPLATE_MIN_DOCS;
    if (!rc && dropped_lines) {
        *dropped_lines = 0;
        for (size_t i = 0; i < t.capacity; i++) *dropped_lines += t.docs[i] >= threshold;
    }
    for (int i = 0; i < count && !rc; i++) lengths[i] = rewrite(&t, texts[i], lengths[i], threshold);
    free(t.hash), free(t.docs), free(t.last);
    return rc;
}
