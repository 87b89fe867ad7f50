/* The harness's byte-level BPE in the forms other tools read:
 * - Hugging Face tokenizers' tokenizer.json (+ tokenizer_config.json): model BPE with the
 *   vocabulary and the merges in the harness's order; pre-tokenizer a Sequence of ByteLevel
 *   (bytes to GPT-2's printable characters, no regex) then a Split whose regex, written over
 *   those characters, cuts exactly where data/bpe.c's bpe_chunk_length does (64-byte cap
 *   included); decoder ByteLevel.
 * - the token strings and merges of a GGUF gpt2 tokenizer (same characters).
 * End of text: the harness trains on running text with no marker, but llama.cpp and HF
 * tools expect bos/eos ids. Byte 0xFF never occurs in UTF-8 text, so when no merge uses it
 * its token is written as the control token TOKENIZER_EOS_TEXT (the model never predicts
 * it: generation ends by length); a tokenizer merging 0xFF gets no bos/eos. */
#ifndef DATA_TOKENIZER_JSON_H
#define DATA_TOKENIZER_JSON_H
#include "data/tokenizer.h"
#include <stddef.h>

/* Writes DIR/tokenizer.json and DIR/tokenizer_config.json; max_length: model_max_length. */
int tokenizer_json_write(const Tokenizer *tok, const char *dir, int max_length);
/* Token id as GPT-2 byte-level characters (UTF-8) into out; returns its length or -1. */
int tokenizer_token_string(const Tokenizer *tok, int id, char *out, size_t size);
#define TOKENIZER_EOS_TEXT "<|endoftext|>"
/* Token id of the bos/eos marker (0xFF), or -1 when a merge uses byte 0xFF or a learned
 * token spells TOKENIZER_EOS_TEXT. */
int tokenizer_eos_id(const Tokenizer *tok);
/* tokenizer_token_string, but TOKENIZER_EOS_TEXT for id == eos (>= 0). */
int tokenizer_export_string(const Tokenizer *tok, int eos, int id, char *out, size_t size);
/* Bytes a buffer needs for any token's string (the longest token's, NUL included). */
size_t tokenizer_string_room(const Tokenizer *tok);
/* Why llama.cpp's "gpt-2" pre-tokenizer may give other ids than the harness on some text
 * (a vocabulary with whitespace-run, non-ASCII or 64-byte tokens), or NULL. */
const char *tokenizer_gpt2_split_differs(const Tokenizer *tok);
/* The Split regex (UTF-8, JSON-unescaped), for tests. */
const char *tokenizer_split_regex(void);
#endif
