/* The per-layer tables of a memory variant's inference form, [rows, width] floats per
 * layer: computed on the heap by a fold, or read from a bundle's ROM table file. PLE and
 * Engram keep theirs here, so that reading rows, folding in chunks and listing the tables
 * for a bundle are written once. */
#ifndef MODELS_MEMTABLES_H
#define MODELS_MEMTABLES_H
#include "models/config.h"
#include "models/memory.h"
#include <stdint.h>

typedef struct {
    int rows, width;
    float *heap[MAX_LAYERS];       /* owned; NULL for layers without a table */
    const struct RomTable *rom;    /* when set, rows come from the file instead */
} MemoryTables;

/* Rows of one layer's table for a chunk of tokens: out[n, width] for tokens[n] with their
 * shared embeddings embedded[n, d]. The training-form computation a fold evaluates. */
typedef void (*TableRowsFunction)(const Model *m, int layer, const int32_t *tokens,
                                  const float *embedded, int n, float *out, void *scratch);

/* out[n, width] = rows[i] of layer's table (rows already checked to be < t->rows). With a
 * ROM table, fetched (may be NULL) holds where row i's rows of every layer start, read once
 * per token before the first layer (rom_table_token_rows): then no row is read again. */
void memory_tables_gather(const MemoryTables *t, int layer, const int32_t *rows,
                          const uint8_t *const *fetched, int n, float *out);
/* layer's heap table = a copy of table[rows, width] */
int memory_tables_copy(MemoryTables *t, int layer, const float *table);
/* layer's heap table, row v = f(token v) for every token v < rows, in chunks of `chunk`
 * (scratch is handed to f: whatever buffers it needs for that many tokens) */
int memory_tables_compute(MemoryTables *t, const Model *m, int layer, TableRowsFunction f,
                          void *scratch, int chunk);
/* The layers flagged in layers[n_layers], with their heap tables (NULL if not held). */
void memory_tables_list(const MemoryTables *t, const unsigned char *layers, int n_layers,
                        RomTableList *list);
void memory_tables_free(MemoryTables *t);
#endif
