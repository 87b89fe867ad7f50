#include "kernels/matvec.h"
#include "kernels/gemm.h"
#include <cblas.h>

void linear_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate) {
    if (N != 1) { matmul_forward(out, in, weight, N, C, O, accumulate); return; }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, O, C, 1.0f, weight, C, in, 1,
                accumulate ? 1.0f : 0.0f, out, 1);
}
