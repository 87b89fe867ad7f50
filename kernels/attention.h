/* Causal multi-head attention with grouped-query heads: query head h reads key/value
 * head h / (H / KV). Scores are scaled by 1/sqrt(head_dim). */
#ifndef KERNELS_ATTENTION_H
#define KERNELS_ATTENTION_H

/* Query rows per block. Block i (rows r0 = i * ATTENTION_BLOCK .. r1 - 1) computes its
 * scores against keys 0 .. r1 - 1 only, so of the masked upper triangle just the part inside
 * the diagonal blocks is computed (ATTENTION_BLOCK / 2 entries per row on average). */
enum { ATTENTION_BLOCK = 32 };
/* The saved softmax of one (batch, head) holds only those blocks, packed one after another:
 * block i is a [r1 - r0, r1] panel whose row t is the softmax over keys 0..t followed by
 * zeros up to r1. attention_probs_size: floats per (batch, head);
 * attention_probs_row: where row t starts (it has attention_probs_keys(T, t) entries). */
long attention_probs_size(int T);
long attention_probs_row(int T, int t);
int attention_probs_keys(int T, int t);

/* out[B, T, H, hd], probs[B, H, attention_probs_size(T)] (saved, for the backward)
 * q[B, T, H, hd], k[B, T, KV, hd], v[B, T, KV, hd] */
void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int H, int KV, int hd);
/* dq, dk, dv (same shapes as q, k, v) += gradients from dout[B, T, H, hd] */
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                        const float *q, const float *k, const float *v, int B, int T, int H,
                        int KV, int hd);
/* The same with dq, dk, dv = (not +=) the gradients: no zeroing pass beforehand */
void attention_backward_set(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                            const float *q, const float *k, const float *v, int B, int T, int H,
                            int KV, int hd);
/* One query position against a cache of n positions (decoding).
 * out[H, hd], q[H, hd], k_cache[n, KV, hd], v_cache[n, KV, hd], scratch[n] */
void attention_decode(float *out, const float *q, const float *k_cache, const float *v_cache,
                      float *scratch, int n, int H, int KV, int hd);
#endif
