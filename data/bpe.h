/* Internals of the byte-level BPE shared by tokenizer.c and bpe.c; not for other folders. */
#ifndef DATA_BPE_H
#define DATA_BPE_H
#include <stddef.h>
#include <stdint.h>

enum {
    BPE_BYTE_TOKENS = 256,
    BPE_VOCAB_MIN = 256,
    BPE_VOCAB_MAX = 32768,
    BPE_CHUNK_MAX = 64,     /* longest pre-split chunk; bounds token length and encode cost */
};

/* Length (1..BPE_CHUNK_MAX) of the chunk that starts at text[0]; bytes must be > 0.
 * GPT-2-like: an optional leading space joined to a run of letters (bytes >= 0x80 count
 * as letters so UTF-8 words stay whole), of digits or of punctuation; a run of whitespace
 * leaves its last space to the word that follows. Merges never cross chunk boundaries. */
size_t bpe_chunk_length(const unsigned char *text, size_t bytes);

/* Learns up to n_merges merges; merge i makes token 256 + i from merges[i][0], merges[i][1].
 * Fewer are learned when the text runs out of pairs (*learned tells how many).
 * Ties between equally frequent pairs go to the smallest (left, right) ids, so the result
 * depends on the text alone. ERR_FAILURE only when memory runs out. */
int bpe_learn_merges(const unsigned char *text, size_t bytes, int n_merges, uint16_t (*merges)[2],
                     int *learned);
#endif
