/* Duplicate documents, found in corpus order (the first copy is kept, later ones dropped).
 * Exact: the same text once runs of whitespace are collapsed and the ends trimmed
 * (compared byte for byte after a 64-bit hash match). Near: MinHash over word 5-shingles,
 * DEDUP_HASHES hashes, banded for locality-sensitive hashing (DEDUP_BANDS bands of
 * DEDUP_HASHES / DEDUP_BANDS rows); a document sharing a band with an earlier kept one is
 * dropped when their estimated Jaccard similarity (the share of equal hashes) is at least
 * DEDUP_NEAR. Documents of fewer than 5 words are one shingle (exact only, in effect). */
#ifndef DATA_DEDUP_H
#define DATA_DEDUP_H
#include <stddef.h>

enum { DEDUP_HASHES = 64, DEDUP_BANDS = 16, DEDUP_SHINGLE = 5 };
#define DEDUP_NEAR 0.8

typedef struct {
    int exact, near;   /* documents dropped as exact and as near duplicates */
} DedupStats;

enum { DEDUP_KEPT = 0, DEDUP_EXACT = 1, DEDUP_NEAR_COPY = 2 };
/* dropped[i] becomes DEDUP_EXACT or DEDUP_NEAR_COPY for a duplicate of an earlier kept
 * document, else DEDUP_KEPT. ERR_FAILURE only when memory runs out. */
int dedup_documents(const char *const *texts, const size_t *lengths, int count,
                    unsigned char *dropped, DedupStats *stats);
/* The estimated Jaccard similarity of two texts' word 5-shingle sets (the test's view). */
double dedup_similarity(const char *a, size_t a_length, const char *b, size_t b_length);
#endif
