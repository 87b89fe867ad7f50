/* Causal multi-head attention with grouped-query heads: query head h reads key/value
 * head h / (H / KV). Scores are scaled by 1/sqrt(head_dim). */
#ifndef KERNELS_ATTENTION_H
#define KERNELS_ATTENTION_H

/* out[B, T, H, hd], probs[B, H, T, T] (saved; zero above the diagonal)
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
