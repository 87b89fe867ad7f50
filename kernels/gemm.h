/* Linear layers through OpenBLAS. Weights follow PyTorch's nn.Linear layout:
 * weight[out_features, in_features], so out = in @ weight^T. */
#ifndef KERNELS_GEMM_H
#define KERNELS_GEMM_H

/* out[N, O] (=, or += when accumulate) in[N, C] @ weight[O, C]^T */
void matmul_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate);
/* din[N, C] += dout[N, O] @ weight[O, C]   (skipped when din is NULL)
 * dweight[O, C] += dout^T @ in             (skipped when dweight is NULL) */
void matmul_backward(float *din, float *dweight, const float *dout, const float *in,
                     const float *weight, int N, int C, int O);
/* The same but din = (not +=) dout @ weight: the first writer of an input gradient
 * overwrites it, which spares zeroing the buffer beforehand (dweight still +=). */
void matmul_backward_set(float *din, float *dweight, const float *dout, const float *in,
                         const float *weight, int N, int C, int O);
/* Measured sgemm throughput (FLOP/s) on square-ish products like the model's; for MFU. */
double sgemm_peak_flops(int size, double seconds);
void kernels_set_threads(int threads);   /* OpenMP and OpenBLAS; <= 0 means all cores */
int kernels_threads(void);
#endif
