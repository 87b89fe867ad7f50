/* Internals of the byte-level BPE shared by tokenizer.c and bpe.c; not for other folders. */
#ifndef DATA_BPE_H
#define DATA_BPE_H
#include <stddef.h>
#include <stdint.h>

/* the tokenizer type, declared here too so that this header need not include tokenizer.h
 * (tokenizer.c includes this one; C11 allows the repeated typedef) */
typedef struct Tokenizer Tokenizer;

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
/* The same for GPT-2's split regex (data/gpt2_split.c); chunks are unbounded in length. */
size_t gpt2_chunk_length(const unsigned char *text, size_t bytes);

/* Learns up to n_merges merges; merge i makes token 256 + i from merges[i][0], merges[i][1].
 * Fewer are learned when the text runs out of pairs (*learned tells how many).
 * Ties between equally frequent pairs go to the smallest (left, right) ids, so the result
 * depends on the text alone. ERR_FAILURE only when memory runs out. */
int bpe_learn_merges(const unsigned char *text, size_t bytes, int n_merges, uint16_t (*merges)[2],
                     int *learned);

/* An outside byte-level BPE (a Hugging Face tokenizer.json, data/tokenizer_hf.c) in its own
 * ids. Every array is malloc'd and passes to the tokenizer, which frees it. */
enum { BPE_SPLIT_HARNESS, BPE_SPLIT_GPT2 };
enum { BPE_OUTSIDE_VOCAB_MAX = 65536 };   /* ids are stored as uint16 */
typedef struct {
    int vocab_size, n_merges;
    uint16_t (*merges)[2];       /* in rank order */
    uint16_t *merge_result;      /* merge i makes token merge_result[i] */
    int32_t byte_id[256];        /* the token of each byte; -1: the vocabulary lacks it */
    uint32_t *offsets, *lengths; /* token id is bytes[offsets[id] .. + lengths[id]] */
    unsigned char *bytes;
    int split, prefix_space;     /* BPE_SPLIT_*; a space put before text not starting with one */
    char *json;                  /* the file as read, which tokenizer_save writes back */
    size_t json_bytes;
} BpeOutside;
/* Takes every array of parts (also on failure, when they are freed). */
int tokenizer_from_outside(Tokenizer **out, BpeOutside *parts);
/* Parses a tokenizer.json text (data/tokenizer_hf.c); ERR_INPUT naming source and the field. */
int tokenizer_hf_parse(Tokenizer **out, char *json, size_t bytes, const char *source);
#endif
