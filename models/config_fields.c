/* One table of every model configuration field: used to store a config in checkpoint
 * metadata, to read it back, and to apply "section.key = value" overrides. */
#include "models/config.h"
#include "util/error.h"
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { F_INT, F_FLOAT, F_BOOL, F_LAYERS, F_ENUM } FieldType;

typedef struct {
    const char *key;
    FieldType type;
    size_t offset;
    double min, max;                              /* for F_INT and F_FLOAT: inclusive range */
    int (*parse)(const char *);                   /* for F_ENUM */
    const char *(*name)(int);
} Field;

static const char *kind_name(int v) { return memory_kind_name((MemoryKind)v); }
static const char *memory_name(int v) { return meki_memory_name((MekiMemory)v); }
static const char *position_name(int v) { return meki_position_name((MekiPosition)v); }
static const char *fusion_name(int v) { return meki_fusion_name((MekiFusion)v); }
static const char *projector_name(int v) { return meki_projector_name((MekiProjector)v); }

#define OFF(f) offsetof(ModelConfig, f)
static const Field FIELDS[] = {
    {"model.d_model", F_INT, OFF(d_model), 8, 8192, 0, 0},
    {"model.n_layers", F_INT, OFF(n_layers), 1, MAX_LAYERS, 0, 0},
    {"model.n_heads", F_INT, OFF(n_heads), 1, 256, 0, 0},
    {"model.n_kv_heads", F_INT, OFF(n_kv_heads), 1, 256, 0, 0},
    {"model.ffn_hidden", F_INT, OFF(ffn_hidden), 1, 65536, 0, 0},
    {"model.vocab_size", F_INT, OFF(vocab_size), 256, 65536, 0, 0},
    {"model.seq_len", F_INT, OFF(seq_len), 2, 65536, 0, 0},
    {"model.rope_theta", F_FLOAT, OFF(rope_theta), 1, 1e9, 0, 0},
    {"model.norm_eps", F_FLOAT, OFF(norm_eps), 1e-12, 1, 0, 0},
    {"model.qk_norm", F_BOOL, OFF(qk_norm), 0, 1, 0, 0},
    {"model.tie_embeddings", F_BOOL, OFF(tie_embeddings), 0, 1, 0, 0},
    {"memory.kind", F_ENUM, OFF(memory), 0, 0, memory_kind_parse, kind_name},
    {"meki.d_mem", F_INT, OFF(meki.d_mem), 1, 65536, 0, 0},
    {"meki.memory", F_ENUM, OFF(meki.memory), 0, 0, meki_memory_parse, memory_name},
    {"meki.position", F_ENUM, OFF(meki.position), 0, 0, meki_position_parse, position_name},
    {"meki.fusion", F_ENUM, OFF(meki.fusion), 0, 0, meki_fusion_parse, fusion_name},
    {"meki.projector", F_ENUM, OFF(meki.projector), 0, 0, meki_projector_parse, projector_name},
    {"meki.layers", F_LAYERS, OFF(meki.layers_spec), 0, 0, 0, 0},
    {"ple.width", F_INT, OFF(ple.width), 1, 65536, 0, 0},
    {"ple.layers", F_LAYERS, OFF(ple.layers_spec), 0, 0, 0, 0},
    {"engram.max_ngram", F_INT, OFF(engram.max_ngram), 2, 8, 0, 0},
    {"engram.heads", F_INT, OFF(engram.heads), 1, 64, 0, 0},
    {"engram.table_size", F_INT, OFF(engram.table_size), 2, 1 << 26, 0, 0},
    {"engram.width", F_INT, OFF(engram.width), 1, 65536, 0, 0},
    {"engram.normalize_tokens", F_BOOL, OFF(engram.normalize_tokens), 0, 1, 0, 0},
    {"engram.layers", F_LAYERS, OFF(engram.layers_spec), 0, 0, 0, 0},
};
#undef OFF
enum { FIELD_COUNT = sizeof FIELDS / sizeof FIELDS[0] };

int model_config_field_count(void) { return FIELD_COUNT; }
const char *model_config_field_key(int i) { return FIELDS[i].key; }

void model_config_field_value(const ModelConfig *c, int i, char *out, int size) {
    const Field *f = &FIELDS[i];
    const char *base = (const char *)c + f->offset;
    switch (f->type) {
    case F_INT: snprintf(out, (size_t)size, "%d", *(const int *)base); break;
    case F_FLOAT: snprintf(out, (size_t)size, "%.9g", *(const float *)base); break;
    case F_BOOL: snprintf(out, (size_t)size, "%s", *(const int *)base ? "on" : "off"); break;
    case F_ENUM: snprintf(out, (size_t)size, "%s", f->name(*(const int *)base)); break;
    case F_LAYERS: {
        /* the resolved flags follow the spec in the struct */
        const unsigned char *flags = (const unsigned char *)base + sizeof(c->meki.layers_spec);
        format_layer_list(out, size, flags, c->n_layers);
        break;
    }
    }
}

static int parse_bool(const char *s) {
    if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) return 1;
    if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) return 0;
    return -1;
}

int model_config_set(ModelConfig *c, const char *key, const char *value) {
    for (int i = 0; i < FIELD_COUNT; i++) {
        const Field *f = &FIELDS[i];
        if (strcmp(f->key, key) != 0) continue;
        char *base = (char *)c + f->offset, *end;
        errno = 0;
        switch (f->type) {
        case F_INT: {
            long v = strtol(value, &end, 10);
            if (*end || end == value || errno)
                return error_set(ERR_INPUT, "%s: '%s' is not an integer", key, value);
            if (v < f->min || v > f->max)
                return error_set(ERR_INPUT, "%s: %ld is out of range %.0f..%.0f", key, v, f->min, f->max);
            *(int *)base = (int)v;
            return OK;
        }
        case F_FLOAT: {
            float v = strtof(value, &end);
            if (*end || end == value || (errno && errno != ERANGE) || !isfinite(v))
                return error_set(ERR_INPUT, "%s: '%s' is not a finite number", key, value);
            if (!(v >= f->min && v <= f->max))   /* underflow to 0 lands here too */
                return error_set(ERR_INPUT, "%s: %s is out of range %g..%g", key, value, f->min, f->max);
            *(float *)base = v;
            return OK;
        }
        case F_BOOL: {
            int v = parse_bool(value);
            if (v < 0) return error_set(ERR_INPUT, "%s: '%s' is not on or off", key, value);
            *(int *)base = v;
            return OK;
        }
        case F_ENUM: {
            int v = f->parse(value);
            if (v < 0) return error_set(ERR_INPUT, "%s: unknown value '%s'", key, value);
            *(int *)base = v;
            return OK;
        }
        case F_LAYERS: {
            /* n_layers may be set later in the same file: keep the text, resolve it in
             * model_config_validate */
            unsigned char flags[MAX_LAYERS];
            if (strcmp(value, "default") && parse_layer_list(flags, value, MAX_LAYERS))
                return error_set(ERR_INPUT, "%s: %s", key, error_message());
            if (strlen(value) >= sizeof(c->meki.layers_spec))
                return error_set(ERR_INPUT, "%s: layer list too long", key);
            strcpy(base, value);
            return OK;
        }
        }
    }
    return error_set(ERR_INPUT, "unknown key '%s'", key);
}
