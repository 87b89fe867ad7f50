/* Linear layers for inference, where a step often has a single row (decoding).
 * Same layout and result as matmul_forward (kernels/gemm.h); one row goes through
 * cblas_sgemv, because OpenBLAS 0.3.21's sgemm with one row is about 5x slower than its
 * sgemv at this harness's widths (measured: 128 x 128, 1.5 us vs 8.4 us). */
#ifndef KERNELS_MATVEC_H
#define KERNELS_MATVEC_H

/* out[N, O] (=, or += when accumulate) in[N, C] @ weight[O, C]^T */
void linear_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate);
#endif
