/* Held-out evaluation: mean token cross-entropy over a token file. */
#ifndef TRAIN_EVAL_H
#define TRAIN_EVAL_H
#include "data/tokenizer.h"
#include "models/model.h"
#include <stdint.h>

/* Non-overlapping windows of T+1 tokens cover ids (the last, shorter window included), so
 * every token but the first is predicted once. max_tokens > 0 stops early (periodic
 * validation). Reserves the model for B x T. Returns the mean loss; *count the tokens scored.
 * NAN (message set: ERR_INPUT for B or T < 1 or too large, else ERR_FAILURE) when it cannot run. */
double evaluate_loss(Model *m, const uint16_t *ids, long n_ids, int B, int T, long max_tokens,
                     long *count);
/* The same over max_tokens (rounded down to whole windows, at least one) spread over the
 * whole split: window k of K is drawn from the k-th of K equal strata of the split, at an
 * offset from a fixed seed (EVAL_SPREAD_SEED), so every run and every model scores the same
 * tokens, every part of the split (every source of a mixed corpus) included. max_tokens 0
 * or at least the split: evaluate_loss over all of it. */
#define EVAL_SPREAD_SEED 0x6d656b69u   /* "meki" */
double evaluate_loss_spread(Model *m, const uint16_t *ids, long n_ids, int B, int T,
                            long max_tokens, long *count);
/* Bytes of text the targets of that evaluation stand for (spread as in evaluate_loss_spread,
 * else consecutive windows), each id counted as its token's byte length. */
long evaluate_target_bytes(const uint16_t *ids, long n_ids, int T, long max_tokens, int spread, const Tokenizer *tok);
/* Bits per byte from a mean loss in nats over tokens predicted tokens that stand for bytes
 * bytes of text: comparable across tokenizers and corpora, where nats per token are not. */
double bits_per_byte(double loss, long tokens, long bytes);
/* "1.2345 bits/byte" with digits decimals, or why there is none (token shards bring no
 * tokenizer, so no text to count bytes of). Returns out. */
const char *bpb_text(double bpb, int digits, char *out, size_t size);
#endif
