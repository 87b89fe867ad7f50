/* Every model configuration field, the model's own and each memory variant's (from its
 * ops): used to store a config in checkpoint metadata, to read it back, and to apply
 * "section.key = value" overrides. */
#include "models/config.h"
#include "models/memory.h"
#include "util/error.h"
#include "util/parse.h"
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(int v) { return memory_kind_name(v); }

/* The model's own fields and the memory kind; each variant's follow, from its ops. */
#define OFF(f) offsetof(ModelConfig, f)
static const ConfigField FIELDS[] = {
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
};
#undef OFF
enum { FIELD_COUNT = sizeof FIELDS / sizeof FIELDS[0] };

/* Field i, with the variant owning it (0: the model's own) in *kind. */
static const ConfigField *field_at(int i, MemoryKind *kind) {
    *kind = MEMORY_NONE;
    if (i < FIELD_COUNT) return &FIELDS[i];
    i -= FIELD_COUNT;
    for (int k = 1; k <= memory_variant_count(); k++) {
        const MemoryOps *ops = memory_ops(k);
        if (i < ops->n_fields) {
            *kind = k;
            return &ops->fields[i];
        }
        i -= ops->n_fields;
    }
    return NULL;
}

/* Where field f of kind's struct (or of the model) lives in c. */
static char *field_base(const ModelConfig *c, MemoryKind kind, const ConfigField *f) {
    char *owner = kind ? memory_config(c, memory_ops(kind)) : (char *)c;
    return owner + f->offset;
}

int model_config_field_count(void) {
    int n = FIELD_COUNT;
    for (int k = 1; k <= memory_variant_count(); k++) n += memory_ops(k)->n_fields;
    return n;
}

const char *model_config_field_key(int i) {
    MemoryKind kind;
    return field_at(i, &kind)->key;
}

MemoryKind model_config_field_kind(int i) {
    MemoryKind kind;
    field_at(i, &kind);
    return kind;
}

FieldType model_config_field_type(int i) {
    MemoryKind kind;
    return field_at(i, &kind)->type;
}

void model_config_field_value(const ModelConfig *c, int i, char *out, int size) {
    MemoryKind kind;
    const ConfigField *f = field_at(i, &kind);
    const char *base = field_base(c, kind, f);
    switch (f->type) {
    case F_INT: snprintf(out, (size_t)size, "%d", *(const int *)base); break;
    case F_FLOAT: snprintf(out, (size_t)size, "%.9g", *(const float *)base); break;
    case F_BOOL: snprintf(out, (size_t)size, "%s", *(const int *)base ? "on" : "off"); break;
    case F_ENUM: snprintf(out, (size_t)size, "%s", f->name(*(const int *)base)); break;
    case F_LAYERS: {
        /* the resolved flags follow the spec in the struct */
        const unsigned char *flags = (const unsigned char *)base + LAYER_SPEC_BYTES;
        format_layer_list(out, size, flags, c->n_layers);
        break;
    }
    }
}

int model_config_set(ModelConfig *c, const char *key, const char *value) {
    for (int i = 0; i < model_config_field_count(); i++) {
        MemoryKind kind;
        const ConfigField *f = field_at(i, &kind);
        if (strcmp(f->key, key) != 0) continue;
        char *base = field_base(c, kind, f), *end;
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
            if (strlen(value) >= LAYER_SPEC_BYTES)
                return error_set(ERR_INPUT, "%s: layer list too long", key);
            strcpy(base, value);
            return OK;
        }
        }
    }
    return error_set(ERR_INPUT, "unknown key '%s'", key);
}
