/* The registry of memory variants. A variant is one file in models/ exporting its
 * MemoryOps, plus one line in models/memory.c's MEMORY_VARIANTS: nothing else names it.
 * Through its ops it owns its config (struct, field table "name.key", defaults,
 * validation), its report columns, its parameters and training form (declares them,
 * says at which site of a block it sits, adds its output to the residual stream there),
 * its fold into ROM tables, its decoding path in the inference engine and the prefetch
 * of its rows, and what it needs from the prepared data folder.
 * It sees only the config's and the model's types (models/config_types.h,
 * models/model_types.h): config.c and model.c call it, not the other way round. */
#ifndef MODELS_MEMORY_H
#define MODELS_MEMORY_H
#include "models/model_types.h"
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SITE_NONE,
    SITE_BEFORE_ATTN,    /* input: residual stream; output added before attention */
    SITE_PARALLEL_ATTN,  /* input: pre-attention norm output; added with attention's */
    SITE_AFTER_ATTN,     /* input: residual after attention; added to it */
    SITE_PARALLEL_FFN,   /* input: pre-FFN norm output; added with the FFN's */
    SITE_AFTER_FFN,      /* input: residual after the FFN; added to it */
} MemorySite;

/* The tables a folded model keeps in its ROM table file (formats/romtable.h): one
 * [rows, width] table per listed model layer, in layer order. tables[i] is NULL when the
 * model does not hold that table in memory (a model loaded from a bundle). */
typedef struct {
    int count, rows, width;
    int layers[MAX_LAYERS];
    const float *tables[MAX_LAYERS];
} RomTableList;

/* A column of the report's run table (analysis/views.sql) taken from a variant's key:
 * NULL for runs of other kinds; fallback (SQL literal or NULL) for stored runs whose JSON
 * lacks the key; cast "INTEGER" or "TEXT" (or NULL: as stored). brief: also shown in
 * one-line summaries of a run (meki sweep --dry-run). */
typedef struct {
    const char *key, *column, *fallback, *cast;
    int brief;
} ReportColumn;

struct RomTable;
struct Prefetcher;
struct MatvecPart;

typedef struct MemoryOps {
    const char *name;                         /* memory.kind value; its keys are "name.*" */
    /* ---- config: the variant's struct, in ModelConfig's block for it (memory_config) */
    const ConfigField *fields;
    int n_fields;
    void (*config_defaults)(void *own, const ModelConfig *c);   /* c: a preset's sizes */
    int (*config_resolve)(void *own, const ModelConfig *c);      /* derived fields; always */
    int (*config_check)(const void *own, const ModelConfig *c);  /* ranges; when active */
    const ReportColumn *report_columns;
    int n_report_columns;
    /* ---- training form */
    int (*declare)(Model *m);                 /* params (training or folded form), state */
    int (*reserve)(Model *m, int B, int T);   /* activation buffers */
    MemorySite (*site)(const Model *m, int layer);
    /* out[N, d] += memory(in[N, d]) for layer l, with m->tokens and m->embedded */
    void (*forward)(Model *m, int layer, const float *in, float *out, int B, int T);
    /* din[N, d] += d/d in; parameter gradients += ; m->d_embedded += where E is used */
    void (*backward)(Model *m, int layer, const float *dout, float *din, int B, int T);
    /* Before training a new model, from the prepared data folder (NULL: nothing). */
    int (*prepare)(Model *m, const char *data_dir);
    /* Compute the folded form of a trained model's memory into folded (created folded). */
    int (*fold)(Model *trained, Model *folded);
    void (*accounting)(const Model *m, Accounting *a);
    /* Folded form: the tables that go to the ROM file (shape from the config, data when
     * held), and from now on reading their rows from rom, whose shape the caller checked. */
    void (*rom_tables)(const Model *m, RomTableList *list);
    void (*attach_rom)(Model *m, const struct RomTable *rom);
    void (*release)(Model *m);
    /* ---- decoding (infer/engine.c): the variant's per-engine state for a context of
     * `context` positions and steps of up to `rows` rows; ERR_INPUT if this model's
     * memory cannot be run. */
    int (*infer_create)(const Model *m, int context, int rows, void **state);
    void (*infer_free)(void *state);
    /* out[n, d] += memory_layer(in[n, d]) for tokens[n] at positions pos..pos+n-1, whose
     * embeddings are embedded[n, d]; in may alias out. Equals forward, row for row.
     * rom_rows[n]: for variants whose ROM rows are indexed by token (prefetch NULL) and a
     * model reading a ROM table, where token i's rows of every layer start, read once per
     * step by the engine (memory_tables_gather); else NULL. */
    void (*infer)(const Model *m, void *state, int layer, const int32_t *tokens,
                  const float *embedded, const float *in, float *out, int n, int pos,
                  const uint8_t *const *rom_rows);
    /* Decoding one row at a parallel site: a product of the memory's over the same normed
     * input as the block's own first products there (attention's Q, K, V; the FFN's gate
     * and up), which the engine runs in that pass (kernels/inference.h matvec_group): no
     * pass or thread region of its own. Returns 1 with *part (rows of d, over the pass's
     * input) promised for the layer's next infer call, 0 when there is none (NULL: never). */
    int (*infer_shared)(const Model *m, void *state, int layer, struct MatvecPart *part);
    /* Then, after the block's own products there, the memory's last product as one more
     * part of the pass that closes the block (attention's output product, the FFN's down
     * product), so it shares that pass's thread region instead of running on one thread:
     * the memory readies the part's input for the layer's tokens[1] and returns 1 with
     * *part described; its next infer call only adds the result. 0: none (NULL: never). */
    int (*infer_shared_out)(const Model *m, void *state, int layer, const int32_t *tokens,
                            const float *embedded, const uint8_t *const *rom_rows, struct MatvecPart *part);
    /* The engine's RAM weights dtype (kernels/wquant.h; engine_set_weights_dtype) for the
     * memory's own decode matrices too: copies in dtype kept in state (WEIGHTS_F32: none),
     * and with release (the model m itself) their f32 tensors leave it. ERR_INPUT naming the
     * tensor if one does not fit dtype. NULL: the memory's matrices stay f32. */
    int (*infer_pack)(const Model *m, void *state, int dtype, Model *release);
    /* Those matrices of m rounded in place through dtype, as infer_pack stores them (what
     * eval --weights-dtype computes); and their count of values, with *bytes in dtype. */
    int (*roundtrip_weights)(Model *m, int dtype);
    long (*packed_values)(const Model *m, int dtype, size_t *bytes);
    /* Request the ROM rows the step of tokens[n] at pos will read. NULL: rows are indexed
     * by token (each table's row tokens[i]), which the engine also requests ahead. */
    void (*prefetch)(const Model *m, const void *state, struct Prefetcher *p,
                     const int32_t *tokens, int n, int pos);
} MemoryOps;

/* The kind's name (memory.kind), from the registry; "none" for 0. -1 if unknown. */
const char *memory_kind_name(MemoryKind k);
int memory_kind_parse(const char *s);
/* "none" and every variant of the registry, joined by separator (help texts, messages). */
void memory_kind_names(char *out, size_t size, const char *separator);

/* Registry indices are 1..memory_variant_count(); memory_ops(0) is NULL (dense). */
int memory_variant_count(void);
const MemoryOps *memory_ops(MemoryKind kind);
MemoryKind memory_kind_of(const MemoryOps *ops);
/* The variant's own config struct inside c (its block, whether active or not). */
void *memory_config(const ModelConfig *c, const MemoryOps *ops);
/* The SQL column expressions of every variant's report columns for analysis/views.sql,
 * one line per column: "CASE WHEN kind = 'meki' THEN ... END AS d_mem,". j is the run's
 * JSON, kind its memory kind. Returns the length (snprintf's). */
int memory_report_columns_sql(char *out, size_t size);
#endif
