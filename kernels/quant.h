/* Number formats for memory tables: f16 / bf16 conversion, q8 and q4 row quantization,
 * encode / decode of a whole row for each table dtype, and dot products of a float
 * vector with an encoded row (so a fast path never has to decode into a buffer).
 *
 * Row encodings (the bytes of one row, in the ROM file and in memory alike):
 *   f32, f16, bf16: `width` little-endian values;
 *   q8: f32 scale, then `width` int8 q; value = scale * q, scale = max|x| / 127;
 *   q4: per group of 32 values an f32 scale then 16 bytes of signed 4-bit q (low nibble
 *       first, q in -8..7, value = scale * q, scale = max|x| / 7 over the group); a last
 *       shorter group is still 20 bytes, its unused nibbles zero.
 * Rows need no alignment: scales are read with memcpy.
 * q8 / q4 expect finite inputs (a non-finite value makes the row's scale meaningless);
 * the ROM writer refuses such tables. */
#ifndef KERNELS_QUANT_H
#define KERNELS_QUANT_H
#include <stddef.h>
#include <stdint.h>

typedef enum { TABLE_F32, TABLE_F16, TABLE_BF16, TABLE_Q8, TABLE_Q4 } TableDtype;
enum { TABLE_DTYPE_COUNT = 5, Q4_GROUP = 32, Q4_GROUP_BYTES = 4 + Q4_GROUP / 2 };

const char *table_dtype_name(TableDtype t);           /* "f32", ...; "?" if invalid */
int table_dtype_parse(const char *s);                 /* -1 if unknown */
size_t table_row_bytes(TableDtype t, int width);      /* 0 if dtype or width invalid */

/* IEEE binary16 and bfloat16, round to nearest even; inf, nan and subnormals kept. */
uint16_t f32_to_f16(float x);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float x);
float bf16_to_f32(uint16_t h);

/* out[width] bytes per TableDtype above; in[width] floats */
void quant_encode_row(TableDtype t, void *out, const float *in, int width);
void quant_decode_row(TableDtype t, float *out, const void *row, int width);
/* sum_i x[i] * decode(row)[i], accumulated in float */
float quant_dot_row(TableDtype t, const float *x, const void *row, int width);

/* The per-dtype pieces, for callers that know their dtype at compile time. */
void q8_encode_row(uint8_t *out, const float *in, int width);
void q8_decode_row(float *out, const uint8_t *row, int width);
float q8_dot_row(const float *x, const uint8_t *row, int width);
void q4_encode_row(uint8_t *out, const float *in, int width);
void q4_decode_row(float *out, const uint8_t *row, int width);
float q4_dot_row(const float *x, const uint8_t *row, int width);
#endif
