#include "models/memtables.h"
#include <stdio.h>
#include "util/progress.h"
#include "formats/romtable.h"
#include "util/error.h"
#include "kernels/quant.h"
#include <stdlib.h>
#include <string.h>

/* ROM rows come from the mapping itself (zero-copy). A decode step passes each token's
 * rows as fetched once for every layer (rom_table_token_rows); without them (training
 * forward, Engram's hashed rows) each row is one read of its own. */
void memory_tables_gather(const MemoryTables *t, int layer, const int32_t *rows,
                          const uint8_t *const *fetched, int n, float *out) {
    size_t row_bytes = sizeof(float) * (size_t)t->width;
    for (int i = 0; i < n; i++) {
        float *dst = out + (long)i * t->width;
        if (t->rom && fetched) rom_table_decode_row(t->rom, fetched[i], layer, dst);
        else if (t->rom) rom_table_read_row(t->rom, layer, rows[i], dst);
        else memcpy(dst, t->heap[layer] + (long)rows[i] * t->width, row_bytes);
    }
}

static float *heap_table(MemoryTables *t, int layer) {
    free(t->heap[layer]);
    t->heap[layer] = malloc(sizeof(float) * (size_t)t->rows * (size_t)t->width);
    if (!t->heap[layer]) error_set(ERR_FAILURE, "out of memory for a %d x %d table", t->rows, t->width);
    return t->heap[layer];
}

int memory_tables_copy(MemoryTables *t, int layer, const float *table) {
    float *dst = heap_table(t, layer);
    if (!dst) return ERR_FAILURE;
    memcpy(dst, table, sizeof(float) * (size_t)t->rows * (size_t)t->width);
    return OK;
}

int memory_tables_compute(MemoryTables *t, const Model *m, int layer, TableRowsFunction f,
                          void *scratch, int chunk) {
    float *dst = heap_table(t, layer);
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)chunk);
    if (!dst || !tokens) {
        free(tokens);
        return error_set(ERR_FAILURE, "out of memory folding layer %d", layer);
    }
    int d = m->cfg.d_model;
    char label[64];
    snprintf(label, sizeof label, "folding layer %d", layer);
    Progress progress;
    progress_begin_after(&progress, label, t->rows, 5);
    for (int v0 = 0; v0 < t->rows; v0 += chunk) {
        progress_update(&progress, v0, "");
        int n = t->rows - v0 < chunk ? t->rows - v0 : chunk;
        for (int i = 0; i < n; i++) tokens[i] = v0 + i;
        f(m, layer, tokens, m->embed + (long)v0 * d, n, dst + (long)v0 * t->width, scratch);
    }
    progress_end(&progress);
    free(tokens);
    return OK;
}

void memory_tables_list(const MemoryTables *t, const unsigned char *layers, int n_layers,
                        RomTableList *list) {
    memset(list, 0, sizeof *list);
    list->rows = t->rows;
    list->width = t->width;
    for (int l = 0; l < n_layers; l++)
        if (layers[l]) {
            list->layers[list->count] = l;
            list->tables[list->count++] = t->heap[l];
        }
}

void memory_tables_free(MemoryTables *t) {
    for (int l = 0; l < MAX_LAYERS; l++) free(t->heap[l]);
    memset(t, 0, sizeof *t);
}
