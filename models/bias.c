/* Bias: a per-layer token-indexed bias, the simplest token-indexed memory. For each
 * selected layer l and the N tokens x of a batch,
 *   x_l <- x_l + B_l[x]            B_l: [V, d], added to the residual stream before attention
 * It costs no multiply at inference, only one row read per layer; its table goes to the ROM
 * file as it is (the fold moves it there). A baseline to compare MeKi with at equal ROM
 * size: MeKi stores L x V x d_mem, Bias V x d per selected layer (e.g. every:8 layers
 * against d_mem = d/8 on all).
 *
 * Keys: bias.layers (default all). The tables start at zero, so the model starts as the
 * dense one, and take no weight decay (as MeKi's and PLE's tables). */
#include "models/memory.h"
#include "models/memtables.h"
#include "kernels/embedding.h"
#include "kernels/activation.h"
#include "util/error.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char layers_spec[LAYER_SPEC_BYTES];
    unsigned char layers[MAX_LAYERS];   /* resolved by model_config_validate */
} BiasConfig;

typedef struct {
    float *table[MAX_LAYERS], *grad[MAX_LAYERS];   /* training form: B_l [V, d] */
    MemoryTables folded;                            /* inference form: the same, heap or ROM */
    float *rows;                                    /* [N, d] gathered rows (folded forward) */
} BiasState;

extern const MemoryOps BIAS_OPS;   /* at the end of this file; listed in models/memory.c */

_Static_assert(sizeof(BiasConfig) <= MEMORY_CONFIG_BYTES, "BiasConfig outgrows its block");
_Static_assert(offsetof(BiasConfig, layers) == offsetof(BiasConfig, layers_spec) + LAYER_SPEC_BYTES,
               "F_LAYERS: the flags follow the spec");

static const BiasConfig *config(const ModelConfig *c) { return memory_config(c, &BIAS_OPS); }
static BiasState *state(const Model *m) { return m->memory; }

/* ---- config ------------------------------------------------------------------------ */

static const ConfigField FIELDS[] = {
    {"bias.layers", F_LAYERS, offsetof(BiasConfig, layers_spec), 0, 0, 0, 0},
};

static const ReportColumn REPORT_COLUMNS[] = {
    {"bias.layers", "bias_layers", "'all'", "TEXT", 1},
};

/* Independent of the preset's sizes, so an older checkpoint without bias.layers (which
 * keeps this default) still compares equal to the config it was trained with. */
static void config_defaults(void *own, const ModelConfig *c) {
    strcpy(((BiasConfig *)own)->layers_spec, "all");
}

static int config_resolve(void *own, const ModelConfig *c) {
    BiasConfig *k = own;
    return config_resolve_layers(k->layers, k->layers_spec, c->n_layers, "bias.layers");
}

static int config_check(const void *own, const ModelConfig *c) { return OK; }

/* ---- training form ----------------------------------------------------------------- */

static int declare(Model *m) {
    const ModelConfig *c = &m->cfg;
    BiasState *st = calloc(1, sizeof *st);
    m->memory = st;
    if (!st) return error_set(ERR_FAILURE, "out of memory for Bias");
    st->folded.rows = c->vocab_size;
    st->folded.width = c->d_model;
    char name[64];
    for (int l = 0; l < c->n_layers && !m->folded; l++) {
        if (!config(c)->layers[l]) continue;
        snprintf(name, sizeof name, "layers.%d.bias.table", l);
        /* rom 1: the table itself is what the ROM file stores */
        params_add(&m->params, name, c->vocab_size, c->d_model, 0, INIT_ZEROS, 0, 0, 1,
                   &st->table[l], &st->grad[l]);
    }
    return OK;
}

static int reserve(Model *m, int B, int T) {
    BiasState *st = state(m);
    free(st->rows);
    st->rows = calloc((size_t)B * T * m->cfg.d_model, sizeof(float));
    return st->rows ? OK : error_set(ERR_FAILURE, "out of memory for Bias activations");
}

static MemorySite site(const Model *m, int l) {
    return config(&m->cfg)->layers[l] ? SITE_BEFORE_ATTN : SITE_NONE;
}

/* out[n, d] += B_l[tokens]: rows is scratch for n rows (folded form only); rom_rows as in
 * MemoryOps.infer. */
static void add_rows(const Model *m, int l, const int32_t *tokens, const uint8_t *const *rom_rows,
                     float *out, int n, float *rows) {
    const BiasState *st = state(m);
    int d = m->cfg.d_model;
    if (m->folded) {
        memory_tables_gather(&st->folded, l, tokens, rom_rows, n, rows);
        vector_add(out, rows, (long)n * d);
        return;
    }
    for (int i = 0; i < n; i++)
        vector_add(out + (long)i * d, st->table[l] + (long)tokens[i] * d, d);
}

static void forward(Model *m, int l, const float *in, float *out, int B, int T) {
    add_rows(m, l, m->tokens, NULL, out, B * T, state(m)->rows);
}

/* The input is not read: din gets nothing; each row of dout goes to its token's row. */
static void backward(Model *m, int l, const float *dout, float *din, int B, int T) {
    if (!m->folded) embedding_backward(state(m)->grad[l], dout, m->tokens, B * T, m->cfg.d_model);
}

static int fold(Model *trained, Model *folded) {
    int rc = OK;
    for (int l = 0; l < trained->cfg.n_layers && !rc; l++)
        if (state(trained)->table[l]) rc = memory_tables_copy(&state(folded)->folded, l, state(trained)->table[l]);
    return rc;
}

static void accounting(const Model *m, Accounting *acc) {
    const ModelConfig *c = &m->cfg;
    int layers = 0;
    for (int l = 0; l < c->n_layers; l++) layers += config(c)->layers[l] != 0;
    acc->rom_weights += (long)layers * c->vocab_size * c->d_model;   /* no multiply-adds */
}

static void rom_tables(const Model *m, RomTableList *list) {
    memory_tables_list(&state(m)->folded, config(&m->cfg)->layers, m->cfg.n_layers, list);
}

static void attach_rom(Model *m, const struct RomTable *rom) { state(m)->folded.rom = rom; }

static void release(Model *m) {
    BiasState *st = state(m);
    if (!st) return;
    memory_tables_free(&st->folded);
    free(st->rows);
    free(st);
    m->memory = NULL;
}

/* ---- decoding: scratch rows only; rows are indexed by token (default prefetch) ------- */

static int infer_create(const Model *m, int context, int rows, void **out) {
    if (m->folded) {
        const BiasState *st = state(m);
        int held = st->folded.rom != NULL;
        for (int l = 0; l < m->cfg.n_layers; l++) held |= st->folded.heap[l] != NULL;
        if (!held) return error_set(ERR_INPUT, "folded Bias model without tables (neither heap nor ROM)");
    }
    *out = calloc((size_t)rows * m->cfg.d_model, sizeof(float));
    return *out ? OK : error_set(ERR_FAILURE, "engine: out of memory");
}

static void infer(const Model *m, void *rows, int layer, const int32_t *tokens, const float *embedded,
                  const float *in, float *out, int n, int pos, const uint8_t *const *rom_rows) {
    add_rows(m, layer, tokens, rom_rows, out, n, rows);
}

const MemoryOps BIAS_OPS = {
    .name = "bias",
    .fields = FIELDS,
    .n_fields = sizeof FIELDS / sizeof FIELDS[0],
    .config_defaults = config_defaults,
    .config_resolve = config_resolve,
    .config_check = config_check,
    .report_columns = REPORT_COLUMNS,
    .n_report_columns = sizeof REPORT_COLUMNS / sizeof REPORT_COLUMNS[0],
    .declare = declare,
    .reserve = reserve,
    .site = site,
    .forward = forward,
    .backward = backward,
    .fold = fold,
    .accounting = accounting,
    .rom_tables = rom_tables,
    .attach_rom = attach_rom,
    .release = release,
    .infer_create = infer_create,
    .infer_free = free,
    .infer = infer,
};
