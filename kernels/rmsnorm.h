/* RMSNorm with a learned gain: out = in / sqrt(mean(in^2) + eps) * gain. */
#ifndef KERNELS_RMSNORM_H
#define KERNELS_RMSNORM_H

/* 1 / sqrt(mean(x[C]^2) + eps), summed in double: the one row sum of the training and
 * the inference kernels (kernels/inference.h), so both round alike. */
float rmsnorm_rstd(const float *x, int C, float eps);
/* out[N, C], rstd[N] (saved for backward), in[N, C], gain[C] (NULL: no gain) */
void rmsnorm_forward(float *out, float *rstd, const float *in, const float *gain, int N, int C,
                     float eps);
/* din[N, C] += ..., dgain[C] += ... (either may be NULL) */
void rmsnorm_backward(float *din, float *dgain, const float *dout, const float *in,
                      const float *gain, const float *rstd, int N, int C);
/* The same with din = (not +=): its first writer needs no zeroing pass (dgain still +=) */
void rmsnorm_backward_set(float *din, float *dgain, const float *dout, const float *in,
                          const float *gain, const float *rstd, int N, int C);
#endif
