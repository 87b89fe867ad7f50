#include "data/dedup.h"
#include "util/error.h"
#include "util/hash.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = DEDUP_HASHES / DEDUP_BANDS, MAX_CHECKS = 32 };

static int space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static uint64_t mix64(uint64_t x) {   /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* ---- exact: the text with whitespace runs collapsed to one space and the ends trimmed ---- */

typedef struct {
    const char *p, *end;
    int pending_space;
} Normal;

static void normal_begin(Normal *n, const char *text, size_t length) {
    n->p = text, n->end = text + length, n->pending_space = 0;
    while (n->p < n->end && space((unsigned char)*n->p)) n->p++;
}

/* The next byte of the normalised text, or -1 at its end. */
static int normal_next(Normal *n) {
    if (n->pending_space) {
        n->pending_space = 0;
        return ' ';
    }
    if (n->p >= n->end) return -1;
    unsigned char c = (unsigned char)*n->p++;
    if (!space(c)) return c;
    while (n->p < n->end && space((unsigned char)*n->p)) n->p++;
    if (n->p >= n->end) return -1;   /* trailing whitespace */
    return ' ';
}

static uint64_t normal_hash(const char *text, size_t length) {
    Normal n;
    normal_begin(&n, text, length);
    uint64_t h = FNV1A64_OFFSET;
    for (int c; (c = normal_next(&n)) >= 0;) {
        unsigned char b = (unsigned char)c;
        h = fnv1a64(h, &b, 1);
    }
    return h;
}

static int normal_equal(const char *a, size_t a_length, const char *b, size_t b_length) {
    Normal x, y;
    normal_begin(&x, a, a_length);
    normal_begin(&y, b, b_length);
    for (;;) {
        int c = normal_next(&x), d = normal_next(&y);
        if (c != d) return 0;
        if (c < 0) return 1;
    }
}

/* ---- near: MinHash signatures ---- */

/* sig gets the DEDUP_HASHES minima over the text's word shingles; returns the shingle count. */
static long signature(const char *text, size_t length, uint32_t *sig) {
    uint64_t window[DEDUP_SHINGLE] = {0}, mins[DEDUP_HASHES];
    for (int k = 0; k < DEDUP_HASHES; k++) mins[k] = UINT64_MAX;
    long words = 0, shingles = 0;
    const char *p = text, *end = text + length;
    for (;;) {
        while (p < end && space((unsigned char)*p)) p++;
        const char *start = p;
        while (p < end && !space((unsigned char)*p)) p++;
        int last = p == start;
        if (!last) window[words++ % DEDUP_SHINGLE] = fnv1a64(FNV1A64_OFFSET, start, (size_t)(p - start));
        /* a full window, or the end of a text shorter than one window */
        if ((!last && words >= DEDUP_SHINGLE) || (last && words > 0 && words < DEDUP_SHINGLE)) {
            uint64_t s = 0;
            for (long w = words - (words < DEDUP_SHINGLE ? words : DEDUP_SHINGLE); w < words; w++)
                s = mix64(s ^ window[w % DEDUP_SHINGLE]);
            for (int k = 0; k < DEDUP_HASHES; k++) {
                uint64_t h = mix64(s + 0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1));
                if (h < mins[k]) mins[k] = h;
            }
            shingles++;
        }
        if (last) break;
    }
    for (int k = 0; k < DEDUP_HASHES; k++) sig[k] = (uint32_t)(mins[k] >> 32);
    return shingles;
}

static double sig_similarity(const uint32_t *a, const uint32_t *b) {
    int equal = 0;
    for (int k = 0; k < DEDUP_HASHES; k++) equal += a[k] == b[k];
    return (double)equal / DEDUP_HASHES;
}

double dedup_similarity(const char *a, size_t a_length, const char *b, size_t b_length) {
    uint32_t x[DEDUP_HASHES], y[DEDUP_HASHES];
    signature(a, a_length, x);
    signature(b, b_length, y);
    return sig_similarity(x, y);
}

typedef struct {
    uint64_t hash;
    int doc;
} Entry;

static int by_hash_then_doc(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* Marks exact duplicates (DEDUP_EXACT) through a table sorted by normalised hash. */
static int mark_exact(const char *const *texts, const size_t *lengths, int count, unsigned char *dropped,
                      DedupStats *stats) {
    Entry *e = malloc((size_t)(count ? count : 1) * sizeof *e);
    if (!e) return error_set(ERR_FAILURE, "out of memory finding duplicates");
#pragma omp parallel for schedule(dynamic, 64)
    for (int i = 0; i < count; i++) e[i] = (Entry){normal_hash(texts[i], lengths[i]), i};
    qsort(e, (size_t)count, sizeof *e, by_hash_then_doc);
    for (int i = 0; i < count; i++) {
        /* an earlier kept document in the run of equal hashes with the same text */
        for (int j = i - 1; j >= 0 && e[j].hash == e[i].hash; j--)
            if (!dropped[e[j].doc] && normal_equal(texts[e[i].doc], lengths[e[i].doc], texts[e[j].doc],
                                                   lengths[e[j].doc])) {
                dropped[e[i].doc] = DEDUP_EXACT;
                stats->exact++;
                break;
            }
    }
    free(e);
    return OK;
}

int dedup_documents(const char *const *texts, const size_t *lengths, int count, unsigned char *dropped,
                    DedupStats *stats) {
    memset(stats, 0, sizeof *stats);
    memset(dropped, DEDUP_KEPT, (size_t)(count > 0 ? count : 0));
    if (count < 2) return OK;
    int rc = mark_exact(texts, lengths, count, dropped, stats);
    if (rc) return rc;
    uint32_t *sig = malloc((size_t)count * DEDUP_HASHES * sizeof *sig);
    Entry *bands = malloc((size_t)count * DEDUP_BANDS * sizeof *bands);
    int *pos = malloc((size_t)count * DEDUP_BANDS * sizeof *pos);
    long *shingles = malloc((size_t)count * sizeof *shingles);
    if (!sig || !bands || !pos || !shingles) {
        free(sig), free(bands), free(pos), free(shingles);
        return error_set(ERR_FAILURE, "out of memory finding near duplicates");
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < count; i++) {
        shingles[i] = signature(texts[i], lengths[i], sig + (size_t)i * DEDUP_HASHES);
        for (int b = 0; b < DEDUP_BANDS; b++)
            bands[(size_t)b * count + i] =
                (Entry){fnv1a64((uint64_t)b + 1, sig + (size_t)i * DEDUP_HASHES + b * ROWS, ROWS * sizeof *sig), i};
    }
    for (int b = 0; b < DEDUP_BANDS; b++) {
        Entry *band = bands + (size_t)b * count;
        qsort(band, (size_t)count, sizeof *band, by_hash_then_doc);
        for (int p = 0; p < count; p++) pos[(size_t)b * count + band[p].doc] = p;
    }
    /* in corpus order, so that every earlier document is decided before it is compared */
    for (int i = 0; i < count; i++) {
        if (dropped[i] || !shingles[i]) continue;
        for (int b = 0; b < DEDUP_BANDS && !dropped[i]; b++) {
            const Entry *band = bands + (size_t)b * count;
            int p = pos[(size_t)b * count + i], checks = 0;
            for (int q = p - 1; q >= 0 && band[q].hash == band[p].hash && checks < MAX_CHECKS; q--) {
                int j = band[q].doc;
                if (dropped[j] || !shingles[j]) continue;
                checks++;
                if (sig_similarity(sig + (size_t)i * DEDUP_HASHES, sig + (size_t)j * DEDUP_HASHES) >= DEDUP_NEAR) {
                    dropped[i] = DEDUP_NEAR_COPY;
                    stats->near++;
                    break;
                }
            }
        }
    }
    free(sig), free(bands), free(pos), free(shingles);
    return OK;
}
