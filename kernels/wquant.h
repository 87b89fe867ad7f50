/* RAM weights of the decode engine in smaller formats: bf16 (the top half of an f32), and
 * q8_0 (llama.cpp's layout: blocks of 32 along a row, each an f16 scale then 32 int8,
 * 34 bytes; value = scale * q, scale = max|x| / 127, encoded by kernels/quant.c as ggml does). Decoding is memory-bound, so
 * reading half or about a quarter of the bytes is the speed-up. */
#ifndef KERNELS_WQUANT_H
#define KERNELS_WQUANT_H
#include <stddef.h>
#include "kernels/quant.h"   /* QK_BLOCK, Q8_0_BLOCK_BYTES: the same blocks as the ROM tables */

typedef enum { WEIGHTS_F32, WEIGHTS_BF16, WEIGHTS_Q8_0 } WeightsDtype;

const char *weights_dtype_name(WeightsDtype t);   /* "f32", "bf16", "q8_0" */
int weights_dtype_parse(const char *name);        /* -1 if unknown */
/* Bytes of rows x C in that format; 0 when C does not fit it (q8_0: C % 32 != 0). */
size_t weights_bytes(WeightsDtype t, long rows, int C);
void weights_encode(WeightsDtype t, void *dst, const float *w, long rows, int C);
/* The first value (flat index) of w[rows][C] whose encoding in t would be inf (q8_0: its
 * block's f16 scale overflows; kernels/quant.h quant_find_overflow), or -1. */
long weights_find_overflow(WeightsDtype t, const float *w, long rows, int C);
/* In place: each value replaced by what its encoding decodes to (what the engine reads). */
void weights_roundtrip(WeightsDtype t, float *w, long rows, int C);
/* out[C] = row `row` of packed (rows of C), decoded */
void weights_decode_row(WeightsDtype t, const void *packed, long row, int C, float *out);
/* sums[r] = row r of packed (n rows of C) . x */
void weights_rows_dot(WeightsDtype t, const void *packed, int n, int C, const float *x, float *sums);
/* out[o] = sum over c of x[c] * row c of packed (C rows of O, bf16 or q8_0), for o in [lo, hi):
 * a product with a transposed weight (kernels/inference.h MatvecPart.transposed); for q8_0,
 * lo and hi on block boundaries (hi == O counts: O % 32 == 0). */
void weights_axpy_columns(WeightsDtype t, const void *packed, int C, int O, const float *x, float *out,
                          int lo, int hi);
#endif
