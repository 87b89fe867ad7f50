/* The harness's byte-level BPE in the forms other tools read:
 * - Hugging Face tokenizers' tokenizer.json (+ tokenizer_config.json): model BPE with the
 *   vocabulary and the merges in the harness's order; pre-tokenizer a Sequence of ByteLevel
 *   (bytes to GPT-2's printable characters, no regex) then a Split whose regex, written over
 *   those characters, cuts exactly where data/bpe.c's bpe_chunk_length does (64-byte cap
 *   included); decoder ByteLevel. No special tokens.
 * - the token strings and merges of a GGUF gpt2 tokenizer (same characters). */
#ifndef DATA_TOKENIZER_JSON_H
#define DATA_TOKENIZER_JSON_H
#include "data/tokenizer.h"
#include <stddef.h>

/* Writes DIR/tokenizer.json and DIR/tokenizer_config.json; max_length: model_max_length. */
int tokenizer_json_write(const Tokenizer *tok, const char *dir, int max_length);
/* Token id as GPT-2 byte-level characters (UTF-8) into out; returns its length or -1. */
int tokenizer_token_string(const Tokenizer *tok, int id, char *out, size_t size);
/* The Split regex (UTF-8, JSON-unescaped), for tests. */
const char *tokenizer_split_regex(void);
#endif
