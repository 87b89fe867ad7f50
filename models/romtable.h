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
 * Row encodings: f32; f16; bf16; q8: f32 scale then `width` int8 (value = scale * q);
 * q4: per group of 32 values an f32 scale then 16 bytes of packed signed 4-bit values
 * (low nibble first; value = scale * q, q in -8..7). */
#ifndef MODELS_ROMTABLE_H
#define MODELS_ROMTABLE_H
#include <stddef.h>
#include <stdint.h>

typedef enum { TABLE_F32, TABLE_F16, TABLE_BF16, TABLE_Q8, TABLE_Q4 } TableDtype;

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

const char *table_dtype_name(TableDtype t);
int table_dtype_parse(const char *s);                 /* -1 if unknown */
size_t table_row_bytes(TableDtype t, int width);

/* tables[s] is rows x width floats for model layer layers[s]. Atomic write. */
int rom_table_write(const char *path, TableDtype dtype, int n_tables, int rows, int width,
                    const int *layers, const float *const *tables);
/* Validates header, sizes and checksum (verify_checksum reads the whole file once). */
int rom_table_open(RomTable *t, const char *path, int verify_checksum);
void rom_table_close(RomTable *t);
/* Decode row `row` of model layer `layer` into out[width]. */
void rom_table_read_row(const RomTable *t, int layer, int row, float *out);
const void *rom_table_row_address(const RomTable *t, int layer, int row);
#endif
