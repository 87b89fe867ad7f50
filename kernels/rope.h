/* Rotary position embedding, half-split layout as in Llama/Qwen (HF rotate_half):
 * dimension i pairs with i + head_dim/2, angle = pos * theta^(-2i/head_dim). */
#ifndef KERNELS_ROPE_H
#define KERNELS_ROPE_H

/* cos_table[T, head_dim/2], sin_table[T, head_dim/2] for positions 0..T-1 */
void rope_table(float *cos_table, float *sin_table, int T, int head_dim, float theta);
/* x[B, T, H, head_dim] rotated in place; position of row t is t (training) */
void rope_forward(float *x, const float *cos_table, const float *sin_table, int B, int T, int H,
                  int head_dim);
/* dx[B, T, H, head_dim] rotated back in place (the transpose of the rotation) */
void rope_backward(float *dx, const float *cos_table, const float *sin_table, int B, int T, int H,
                   int head_dim);
/* one vector x[H, head_dim] at position pos (decoding) */
void rope_apply_one(float *x, const float *cos_row, const float *sin_row, int H, int head_dim);
#endif
