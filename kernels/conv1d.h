/* Causal depthwise convolution over time, per sequence: PyTorch's
 * Conv1d(C, C, K, groups=C, dilation=D, bias=False) with (K-1)*D zeros padded on the left,
 *   out[b, t, c] = sum_k weight[c, k] * in[b, t - (K-1-k)*D, c]   (in = 0 before t = 0)
 * so weight[c, K-1] is the tap on the current step and weight[c, 0] the oldest. */
#ifndef KERNELS_CONV1D_H
#define KERNELS_CONV1D_H

/* out[B, T, C] += conv(in[B, T, C]) with weight[C, K] (accumulates: out = in + conv(in)
 * is a copy then this call); out must not alias in */
void causal_conv1d_forward(float *out, const float *in, const float *weight, int B, int T, int C,
                           int K, int dilation);
/* din[B, T, C] += ..., dweight[C, K] += ... from dout[B, T, C] (either may be NULL) */
void causal_conv1d_backward(float *din, float *dweight, const float *dout, const float *in,
                            const float *weight, int B, int T, int C, int K, int dilation);
/* One step of a decoder: out[C] += conv at `position` of one sequence, whose inputs so far
 * are history[position + 1, C] (row `position` the newest) */
void causal_conv1d_step(float *out, const float *history, int position, const float *weight,
                        int C, int K, int dilation);
#endif
