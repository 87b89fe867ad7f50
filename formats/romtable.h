/* The ROM table file: every memory layer's folded table for one (model, dtype), read
 * through a read-only mmap and never copied into the heap.
 *
 * Layout: a 4096-byte header page, then the tables back to back, each starting on a
 * 4096-byte boundary; row r of table slot s starts at
 *   data_offset + s * table_stride + r * row_bytes.
 * Header (little-endian): magic "MEKIROM1", u32 version, u32 dtype, u32 n_tables,
 * u32 rows, u32 width, u32 group (q4 group size), u64 row_bytes, u64 table_stride,
 * u64 data_offset, u64 file_bytes, u64 checksum (FNV-1a 64 of the data region),
 * i32 layer[64] (model layer of each slot, -1 unused), then zeros up to 4096 bytes.
 * (group: values per quantization block of q8_0 / q4_0, 32, or the width for narrow rows.)
 * Byte offsets: magic 0, version 8, dtype 12, n_tables 16, rows 20, width 24, group 28,
 * row_bytes 32, table_stride 40, data_offset 48, file_bytes 56, checksum 64, layer 72..327.
 * version is 2 (version 1 had the old q8 / q4 layouts and is refused with a message to
 * fold again); group is 32 for q8_0 / q4_0 when width is a multiple of 32, width for
 * narrower or other q8_0 / q4_0 rows, and 0 for f32 / f16 / bf16; row_bytes is table_row_bytes(dtype,
 * width); data_offset is 4096; table_stride is a multiple of 4096 >= rows * row_bytes (the
 * writer uses the smallest; padding is zeros, covered by the checksum); file_bytes is
 * data_offset + n_tables * table_stride; n_tables is 1..64; layers are distinct, in 0..63,
 * and -1 in unused slots; reserved bytes (328..4095) are zero.
 * Row encodings (see kernels/quant.h): f32; f16; bf16; q8_0 and q4_0 as ggml's blocks of
 * 32 (f16 d, then 32 int8 / 16 bytes of nibbles) when width is a multiple of 32, and for
 * other widths one block per row (q8_0: an E8M0 power-of-two scale byte then width int8;
 * q4_0: an f16 d then ceil(width / 2) bytes of nibbles). Each row is read on its own.
 * TableDtype, table_dtype_name/parse and table_row_bytes live in kernels/quant.h so that
 * kernels need not know about files. */
#ifndef FORMATS_ROMTABLE_H
#define FORMATS_ROMTABLE_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/quant.h"

enum { ROM_VERSION = 2, ROM_PAGE = 4096, ROM_MAX_TABLES = 64 };

typedef struct RomTable {
    TableDtype dtype;
    int n_tables, rows, width;
    int layer[64];                 /* model layer of each slot */
    int slot_of_layer[64];         /* -1 where a layer has no table */
    size_t row_bytes, table_stride, data_offset, file_bytes;
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
/* Decode row `row` of model layer `layer` into out[width]; the layer must have a table. */
void rom_table_read_row(const RomTable *t, int layer, int row, float *out);
/* The encoded row inside the mapping; NULL if the layer has no table or row is out of range. */
const void *rom_table_row_address(const RomTable *t, int layer, int row);
#endif
