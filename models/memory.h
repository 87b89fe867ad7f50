/* The registry of memory variants. A variant is one file in models/ plus one line in
 * memory_ops(): it declares its parameters, says at which site of a block it sits,
 * and adds its output to the residual stream there. */
#ifndef MODELS_MEMORY_H
#define MODELS_MEMORY_H
#include "models/model.h"

typedef enum {
    SITE_NONE,
    SITE_BEFORE_ATTN,    /* input: residual stream; output added before attention */
    SITE_PARALLEL_ATTN,  /* input: pre-attention norm output; added with attention's */
    SITE_AFTER_ATTN,     /* input: residual after attention; added to it */
    SITE_PARALLEL_FFN,   /* input: pre-FFN norm output; added with the FFN's */
    SITE_AFTER_FFN,      /* input: residual after the FFN; added to it */
} MemorySite;

/* The tables a folded model keeps in its ROM table file (models/romtable.h): one
 * [rows, width] table per listed model layer, in layer order. tables[i] is NULL when the
 * model does not hold that table in memory (a model loaded from a bundle). */
typedef struct {
    int count, rows, width;
    int layers[MAX_LAYERS];
    const float *tables[MAX_LAYERS];
} RomTableList;

struct RomTable;

typedef struct MemoryOps {
    MemoryKind kind;
    int (*declare)(Model *m);                 /* params (training or folded form), state */
    int (*reserve)(Model *m, int B, int T);   /* activation buffers */
    MemorySite (*site)(const Model *m, int layer);
    /* out[N, d] += memory(in[N, d]) for layer l, with m->tokens and m->embedded */
    void (*forward)(Model *m, int layer, const float *in, float *out, int B, int T);
    /* din[N, d] += d/d in; parameter gradients += ; m->d_embedded += where E is used */
    void (*backward)(Model *m, int layer, const float *dout, float *din, int B, int T);
    /* Compute the folded form of a trained model's memory into folded (created folded). */
    int (*fold)(Model *trained, Model *folded);
    void (*accounting)(const Model *m, Accounting *a);
    /* Folded form: the tables that go to the ROM file (shape from the config, data when
     * held), and from now on reading their rows from rom, whose shape the caller checked. */
    void (*rom_tables)(const Model *m, RomTableList *list);
    void (*attach_rom)(Model *m, const struct RomTable *rom);
    void (*release)(Model *m);
} MemoryOps;

const MemoryOps *memory_ops(MemoryKind kind);   /* NULL for MEMORY_NONE */
extern const MemoryOps MEKI_OPS, PLE_OPS, ENGRAM_OPS;
#endif
