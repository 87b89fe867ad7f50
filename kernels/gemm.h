/* Linear layers: OpenBLAS or oneDNN matmul (kernels/gemm_dnnl.h), chosen per call in one
 * place (gemm.c). Weights follow PyTorch's nn.Linear layout: weight[out_features,
 * in_features], so out = in @ weight^T. */
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

/* The GEMMs' operand precision. bf16: operands rounded to bfloat16, products summed and
 * written in f32 (mixed precision; weights, gradients and optimizer state stay f32). */
typedef enum { PRECISION_F32, PRECISION_BF16 } Precision;
const char *precision_name(Precision p);   /* "f32", "bf16" */
int precision_parse(const char *s);        /* -1 if unknown */
/* 0 when this machine can run p, else an error naming what is missing. */
int gemm_precision_check(Precision p);
/* A training step (forward and backward) runs its GEMMs at p between these two; the bf16
 * copy of each weight is made once inside and reused (the weights must not change
 * before gemm_step_end). Outside, every GEMM is f32 (evaluation, prefill). */
void gemm_step_begin(Precision p);
void gemm_step_end(void);

/* Which library runs the f32 GEMMs: auto picks oneDNN where it has AVX-512 kernels, for
 * shapes past a size where it beats OpenBLAS; bf16 always runs on oneDNN. */
typedef enum { GEMM_AUTO, GEMM_OPENBLAS, GEMM_ONEDNN } GemmBackend;
int gemm_set_backend(GemmBackend b);       /* error if oneDNN is asked for and absent */
int gemm_backend_parse(const char *s);     /* "auto", "openblas", "onednn"; -1 if unknown */
/* A line naming the backend and ISA the f32 and bf16 GEMMs run on, for reports. */
const char *gemm_backend_describe(void);

/* Measured GEMM throughput (FLOP/s) at precision p on the backend in use, on square
 * products like the model's; the peak MFU is quoted against. */
double gemm_peak_flops(Precision p, int size, double seconds);
void kernels_set_threads(int threads);   /* OpenMP (so oneDNN) and OpenBLAS; <= 0: all cores */
int kernels_threads(void);
#endif
