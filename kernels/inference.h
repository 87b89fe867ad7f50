/* Kernels for the inference engine, where a step has one row (decoding) or a few
 * (prefill). Each gives the result of its training counterpart, without what costs time
 * at one row:
 * - linear_forward is matmul_forward (kernels/gemm.h), but one row goes through
 *   cblas_sgemv: OpenBLAS 0.3.21's sgemm with one row is about 5x slower than its sgemv
 *   at this harness's widths (measured: 128 x 128, 8.4 us vs 1.5 us);
 * - rmsnorm_rows, swiglu_rows and add_rows are rmsnorm_forward, swiglu_forward and
 *   vector_add without their `omp parallel ... if (large)` regions: libgomp enters a
 *   region even when the condition is false, about 1.8 us per call (measured), which is
 *   more than the arithmetic of a 128-wide row and adds up to a fifth of a small decode step;
 * - attention_query is attention_decode (kernels/attention.h) with its two loops over the
 *   cache as sgemv calls, which vectorize (the scalar loops cannot without reassociation). */
#ifndef KERNELS_INFERENCE_H
#define KERNELS_INFERENCE_H

/* One matrix-vector product of a fused group: out[rows] (=, or += when accumulate)
 * weight[rows, C] @ x; when packed is set, its rows in packed_dtype (kernels/wquant.h)
 * are read instead of weight's. A part may read its own input: x set, cols its width
 * (NULL, 0: the group's). transposed: weight is stored [cols, rows] and the product is
 * x @ weight (linear_forward_t's kernel, or weights_axpy_columns' when packed, its rows
 * [cols] of rows values; not accumulated): a narrow product, MeKi's output product, joins
 * another group's thread region instead of running alone. */
typedef struct MatvecPart {
    const float *weight;
    float *out;
    int rows, accumulate;
    const void *packed;
    int packed_dtype;
    const float *x;
    int cols, transposed;
} MatvecPart;

/* Every part of the group, in one pass: decoding's products are memory-bound, so the
 * kernel streams each weight once with several rows in flight, and with
 * kernels_threads() > 1 splits the group's work (all parts together, e.g. Q, K and V) into
 * one contiguous range of multiply-adds per thread inside a single OpenMP region.
 * x[C] is the input of the parts that name none. */
void matvec_group(const MatvecPart *parts, int n_parts, const float *x, int C);

/* out[N, O] (=, or += when accumulate) in[N, C] @ weight[O, C]^T */
void linear_forward(float *out, const float *in, const float *weight, int N, int C, int O,
                    int accumulate);
/* out[N, O] = in[N, C] @ weight_t[C, O]: a weight stored transposed, for products whose
 * rows would be short (C small, e.g. MeKi's folded output product, d_mem wide): one row
 * is C axpy passes over O floats, no horizontal sums. */
void linear_forward_t(float *out, const float *in, const float *weight_t, int N, int C, int O);
/* out[N, C] = in / sqrt(mean(in^2) + eps) * gain; out may be in */
void rmsnorm_rows(float *out, const float *in, const float *gain, int N, int C, float eps);
/* out[N, C] += in / sqrt(mean(in^2) + eps) * gain (rmsnorm_rows then add_rows, fused); out and in
 * must not overlap */
void rmsnorm_add_rows(float *out, const float *in, const float *gain, int N, int C, float eps);
/* v = v (x, or + when !multiply) act(gate), act = siluf when silu, else sigmoidf
 * (kernels/activation.h, the training forward's), in one pass (MeKi's fusion) */
void gate_fuse_rows(float *v, const float *gate, long n, int silu, int multiply);
/* out = SiLU(gate) * up; out may be gate */
void swiglu_rows(float *out, const float *gate, const float *up, long n);
/* y += x */
void add_rows(float *y, const float *x, long n);
/* One query against n cached positions, grouped-query heads (head h reads kv head
 * h / (H / KV)), scores scaled by 1/sqrt(hd).
 * out[H, hd], q[H, hd], k_cache[n, KV, hd], v_cache[n, KV, hd], scratch[n] */
void attention_query(float *out, const float *q, const float *k_cache, const float *v_cache,
                     float *scratch, int n, int H, int KV, int hd);
#endif
