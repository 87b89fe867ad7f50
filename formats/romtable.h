/* The ROM table file: every memory layer's folded table for one (model, dtype), read
 * through a read-only mmap and never copied into the heap.
 *
 * Layout, token-major: a 4096-byte header page, then for each row r (a token, or Engram's
 * hashed row) the rows of every table slot back to back, so one token's rows of all layers
 * are one contiguous read (one page or less at d_mem <= 256 x 4 layers of f32); row r of
 * slot s starts at
 *   data_offset + r * token_stride + s * row_bytes,   token_stride = n_tables * row_bytes.
 * Header (little-endian): magic "MEKIROM1", u32 version, u32 dtype, u32 n_tables,
 * u32 rows, u32 width, u32 group (q4 group size), u64 row_bytes, u64 token_stride,
 * u64 data_offset, u64 file_bytes, u64 checksum (FNV-1a 64 of the data region),
 * i32 layer[64] (model layer of each slot, -1 unused), then zeros up to 4096 bytes.
 * (group: values per quantization block of q8_0 / q4_0, 32, or the width for narrow rows.)
 * Byte offsets: magic 0, version 8, dtype 12, n_tables 16, rows 20, width 24, group 28,
 * row_bytes 32, token_stride 40, data_offset 48, file_bytes 56, checksum 64, layer 72..327.
 * version is 3 (version 2 stored each layer's table on its own, so a token's rows were
 * n_tables reads; version 1 had the old q8 / q4 layouts: both are refused with a message to
 * fold again); group is 32 for q8_0 / q4_0 when width is a multiple of 32, width for
 * narrower or other q8_0 / q4_0 rows, and 0 for f32 / f16 / bf16; row_bytes is
 * table_row_bytes(dtype, width); token_stride is n_tables * row_bytes; data_offset is 4096;
 * file_bytes is data_offset + rows * token_stride rounded up to a multiple of 4096 (the
 * padding is zeros, covered by the checksum); n_tables is 1..64; layers are distinct, in
 * 0..63, and -1 in unused slots; reserved bytes (328..4095) are zero.
 * Row encodings (see kernels/quant.h): f32; f16; bf16; q8_0 and q4_0 as ggml's blocks of
 * 32 (f16 d, then 32 int8 / 16 bytes of nibbles) when width is a multiple of 32, and for
 * other widths one block per row (q8_0: an E8M0 power-of-two scale byte then width int8;
 * q4_0: an f16 d then ceil(width / 2) bytes of nibbles). Each row decodes on its own.
 * TableDtype, table_dtype_name/parse and table_row_bytes live in kernels/quant.h so that
 * kernels need not know about files. */
#ifndef FORMATS_ROMTABLE_H
#define FORMATS_ROMTABLE_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/quant.h"

enum { ROM_VERSION = 3, ROM_PAGE = 4096, ROM_MAX_TABLES = 64 };

typedef struct RomTable {
    TableDtype dtype;
    int n_tables, rows, width;
    int layer[64];                 /* model layer of each slot */
    int slot_of_layer[64];         /* -1 where a layer has no table */
    size_t row_bytes, token_stride, data_offset, file_bytes;
    const uint8_t *base;           /* the mapping */
    int fd;
    char path[4096];
} RomTable;

/* tables[s] is rows x width floats for model layer layers[s]. Atomic write.
 * ERR_INPUT for bad arguments (q8 / q4 also refuse non-finite values), ERR_FAILURE for I/O. */
int rom_table_write(const char *path, TableDtype dtype, int n_tables, int rows, int width,
                    const int *layers, const float *const *tables);
/* Validates header, sizes and checksum (verify_checksum reads the whole file once).
 * Any refusal is ERR_INPUT with a message naming the file; t is then safe to close. */
int rom_table_open(RomTable *t, const char *path, int verify_checksum);
void rom_table_close(RomTable *t);                    /* idempotent */
/* Reads: every call of these two counts one read (rom_table_reads), so that a test can hold
 * decoding to one read per token. */
/* Decode row `row` of model layer `layer` into out[width]; the layer must have a table. */
void rom_table_read_row(const RomTable *t, int layer, int row, float *out);
/* Where row `row`'s rows of every table start, inside the mapping (zero-copy: the page
 * cache's pages, never copied to the heap); NULL if row is out of range. */
const uint8_t *rom_table_token_rows(const RomTable *t, int row);
/* Decode layer's row out of what rom_table_token_rows returned; not a read of its own. */
void rom_table_decode_row(const RomTable *t, const uint8_t *token_rows, int layer, float *out);
/* Reads counted since the process started (all tables, all threads). */
unsigned long rom_table_reads(void);

/* Layout only (no read counted): the encoded row inside the mapping; NULL if the layer has
 * no table or row is out of range. The prefetcher finds its pages with it. */
const void *rom_table_row_address(const RomTable *t, int layer, int row);
#endif
