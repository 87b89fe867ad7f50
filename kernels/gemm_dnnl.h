/* Row-major GEMMs through oneDNN's matmul, one primitive per shape created on first use
 * and kept (kernels/gemm.c decides when this path is taken). */
#ifndef KERNELS_GEMM_DNNL_H
#define KERNELS_GEMM_DNNL_H
#include <stdint.h>

/* The implementation oneDNN picks for an f32 (bf16 = 0) or bf16 matmul on this CPU, e.g.
 * "brg:avx512_core" or "brg:avx512_core_bf16"; "none" when it has none. */
const char *onednn_impl(int bf16);
/* 1 when oneDNN runs f32 on AVX-512 kernels (faster than OpenBLAS's AVX2 ones under
 * OPENBLAS_CORETYPE=Haswell) / bf16 on native bf16 dot products; 0 otherwise. */
int onednn_has_avx512(void);
int onednn_has_bf16(void);

/* C[M, N] (=, or += when accumulate) op(A)[M, K] @ op(B)[K, N]; op transposes when ta / tb
 * (A then stored [K, M] with row stride lda). A and B are f32, or bf16 (uint16_t) when
 * bf16; C is f32 and the products are summed in f32. Returns 0, or -1 with error_set when
 * oneDNN has no implementation for it. */
int onednn_gemm(int ta, int tb, int M, int N, int K, const void *A, int lda, const void *B, int ldb,
              float *C, int ldc, int accumulate, int bf16);
/* Frees the primitives (tests; the cache otherwise lives as long as the process). */
void onednn_gemm_release(void);
#endif
