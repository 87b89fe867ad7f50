/* Number formats for memory tables: f16 / bf16 conversion, q8_0 and q4_0 row quantization,
 * encode / decode of a whole row for each table dtype, and dot products of a float
 * vector with an encoded row (so a fast path never has to decode into a buffer).
 *
 * Row encodings (the bytes of one row, in the ROM file and in memory alike):
 *   f32, f16, bf16: `width` little-endian values;
 *   q8_0, q4_0 when width is a multiple of 32: ggml's blocks, so a row is byte for byte
 *     what llama.cpp stores for a row of that type:
 *     q8_0: per 32 values an f16 d = max|x| / 127, then 32 int8 q = round(x / d)
 *       (34 bytes; value = d * q);
 *     q4_0: per 32 values an f16 d = max / -8 (max: the value of largest magnitude, with
 *       its sign), then 16 bytes, byte j holding q[j] in its low nibble and q[j + 16] in
 *       its high one, q = min(15, (int)(x / d + 8.5)) (18 bytes; value = d * (q - 8));
 *     d is rounded to f16 after q is computed with the f32 d, as ggml does.
 *   q8_0, q4_0 for other widths ("narrow" rows, e.g. d_mem 8, 16 or 24): one block per
 *     row covering the whole row, so a row is still read on its own and stays small:
 *     q8_0: one byte e then `width` int8 q; value = q * 2^(e - 127), 2^(e - 127) the
 *       smallest power of two with max|x| / 2^(e - 127) <= 127 (an E8M0 scale as in the
 *       OCP MX formats: an f16 scale would make a 16-wide row 18/64 = 0.28 of f32);
 *     q4_0: an f16 d as above over the whole row, then ceil(width / 2) bytes, byte j
 *       holding q[j] low and q[j + h] high, h = ceil(width / 2) (an odd width leaves the
 *       last high nibble 8, value 0).
 *   Bytes per row vs f32: blocked q8_0 0.266, q4_0 0.141; narrow at width 16: q8_0 0.266,
 *   q4_0 0.156; at width 8: 0.281 and 0.188.
 * The names "q8" and "q4" are accepted by table_dtype_parse as aliases of q8_0 and q4_0
 * (they named other layouts before ROM table version 2).
 * Rows need no alignment: scales are read with memcpy.
 * q8_0 / q4_0 expect finite inputs (a non-finite value makes the row's scale meaningless);
 * the ROM writer refuses such tables. A block whose scale rounds to an f16 zero is encoded
 * as zeros (value 0, as it decodes anyway). */
#ifndef KERNELS_QUANT_H
#define KERNELS_QUANT_H
#include <stddef.h>
#include <stdint.h>

/* TABLE_Q8 is q8_0 and TABLE_Q4 is q4_0 (layouts above). */
typedef enum { TABLE_F32, TABLE_F16, TABLE_BF16, TABLE_Q8, TABLE_Q4 } TableDtype;
enum { TABLE_DTYPE_COUNT = 5, QK_BLOCK = 32, Q8_0_BLOCK_BYTES = 2 + QK_BLOCK,
       Q4_0_BLOCK_BYTES = 2 + QK_BLOCK / 2 };

const char *table_dtype_name(TableDtype t);           /* "f32", ...; "?" if invalid */
int table_dtype_parse(const char *s);                 /* -1 if unknown */
size_t table_row_bytes(TableDtype t, int width);      /* 0 if dtype or width invalid */
/* 1 when q8_0 / q4_0 rows of this width are ggml blocks of 32, 0 when narrow. */
int quant_is_blocked(int width);

/* IEEE binary16 and bfloat16, round to nearest even; inf, nan and subnormals kept. */
uint16_t f32_to_f16(float x);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float x);
float bf16_to_f32(uint16_t h);
void f32_to_bf16_array(uint16_t *out, const float *in, size_t n);   /* f32_to_bf16 of each */

/* out[width] bytes per TableDtype above; in[width] floats */
void quant_encode_row(TableDtype t, void *out, const float *in, int width);
void quant_decode_row(TableDtype t, float *out, const void *row, int width);
/* sum_i x[i] * decode(row)[i], accumulated in float */
float quant_dot_row(TableDtype t, const float *x, const void *row, int width);

/* The first finite value (flat index) of x[rows][width] that t cannot hold, or -1: an f16
 * beyond 65504, a bf16 beyond FLT_MAX, the largest value of a q8_0 / q4_0 block whose f16
 * scale (max|x| / 127, max / -8) overflows. Writers check with it before encoding, so that
 * no inf is made from finite weights (non-finite inputs are refused where models load). */
long quant_find_overflow(TableDtype t, const float *x, long rows, int width);

/* The per-dtype pieces, for callers that know their dtype at compile time. */
void q8_encode_row(uint8_t *out, const float *in, int width);
void q8_decode_row(float *out, const uint8_t *row, int width);
float q8_dot_row(const float *x, const uint8_t *row, int width);
void q4_encode_row(uint8_t *out, const float *in, int width);
void q4_decode_row(float *out, const uint8_t *row, int width);
float q4_dot_row(const float *x, const uint8_t *row, int width);
#endif
