/* Byte-level BPE: 256 byte tokens plus learned merges, vocabulary 256..32768.
 * decode(encode(text)) == text for any bytes. */
#ifndef DATA_TOKENIZER_H
#define DATA_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>

typedef struct Tokenizer Tokenizer;

/* Learn vocab_size - 256 merges from text. ERR_INPUT if vocab_size is out of range.
 * A text too small for that many merges yields fewer (see tokenizer_vocab_size). */
int tokenizer_train(Tokenizer **out, const unsigned char *text, size_t bytes, int vocab_size);
int tokenizer_save(const Tokenizer *tok, const char *path);      /* atomic write */
int tokenizer_load(Tokenizer **out, const char *path);           /* ERR_INPUT on a bad file */
/* Builds a tokenizer from a merge list (merge i makes token 256 + i); ERR_INPUT naming
 * source when a merge refers to a token not yet defined or tokens grow implausibly long
 * (a crafted file). */
int tokenizer_from_merges(Tokenizer **out, const uint16_t (*merges)[2], int n_merges,
                          const char *source);
/* The content hash of a tokenizer file (file_content_hash), refusing by its size alone a
 * file larger than any valid tokenizer. */
int tokenizer_file_hash(const char *path, uint64_t *out);
void tokenizer_free(Tokenizer *tok);
int tokenizer_vocab_size(const Tokenizer *tok);
/* Encode into a malloc'd array of ids. */
int tokenizer_encode(const Tokenizer *tok, const unsigned char *text, size_t bytes,
                     uint16_t **ids, long *count);
/* Decode into a malloc'd NUL-terminated buffer (bytes excludes the NUL). */
int tokenizer_decode(const Tokenizer *tok, const uint16_t *ids, long count, char **text,
                     size_t *bytes);
/* Merge i (0 .. vocab_size - 257) makes token 256 + i from left, right; ERR_INPUT if out of range. */
int tokenizer_merge_pair(const Tokenizer *tok, int i, int *left, int *right);
/* An outside tokenizer's tokenizer.json as it was read (bytes long), or NULL for the harness's. */
const char *tokenizer_outside_json(const Tokenizer *tok, size_t *bytes);
/* The bytes of one token (not NUL-terminated). */
const unsigned char *tokenizer_token_bytes(const Tokenizer *tok, int id, int *length);
#endif
