/* Model configuration: the architecture and its memory variant. Presets give the sizes
 * for this 2-core machine; every field can be overridden from an experiment file.
 * The memory variants are not named here: each owns its config struct and field table
 * (models/memory.h), kept in this struct's opaque per-variant blocks. */
#ifndef MODELS_CONFIG_H
#define MODELS_CONFIG_H
#include <stddef.h>
#include <stdint.h>

#define MAX_LAYERS 64
#define LAYER_SPEC_BYTES 96   /* text of a layer selection: all | 0,2,4 | first:N | last:N | every:K */

/* The memory variant: its index in the registry (models/memory.c), 0 for none. */
typedef int MemoryKind;
enum { MEMORY_NONE = 0 };
enum { MEMORY_MAX_VARIANTS = 8, MEMORY_CONFIG_BYTES = 256 };

/* One variant's config, whatever its struct: the variant casts the bytes to it (and
 * asserts statically that it fits). */
typedef struct {
    _Alignas(max_align_t) unsigned char bytes[MEMORY_CONFIG_BYTES];
} MemoryConfigBlock;

typedef struct {
    int d_model, n_layers, n_heads, n_kv_heads, head_dim, ffn_hidden, vocab_size, seq_len;
    float rope_theta, norm_eps;
    int qk_norm, tie_embeddings;
    MemoryKind memory;
    /* every variant's config, active or not (experiment files may set a variant's keys
     * before choosing it): variant k's in variant_config[k - 1] */
    MemoryConfigBlock variant_config[MEMORY_MAX_VARIANTS];
} ModelConfig;

/* Fill cfg from a preset name (tiny, small, medium, large); ERR_INPUT if unknown.
 * Every memory variant's defaults are set too (its config_defaults), with memory = none. */
int model_preset(ModelConfig *cfg, const char *name);
/* The presets by index, smallest first (NULL past the last), and all of them joined by
 * separator: the one list that help texts and messages print. */
const char *model_preset_name(int i);
void model_preset_names(char *out, size_t size, const char *separator);
/* Derived fields (head_dim, every variant's layer flags) and range checks (the model's,
 * the active variant's); ERR_INPUT with a message naming the field. */
int model_config_validate(ModelConfig *cfg);
/* Parse a layer selection "all", "0,2,4", "first:N", "last:N", "every:K" into flags. */
int parse_layer_list(unsigned char *flags, const char *text, int n_layers);
void format_layer_list(char *out, int size, const unsigned char *flags, int n_layers);
/* A stored selection into flags ("" = all), ERR_INPUT prefixed with key. */
int config_resolve_layers(unsigned char *flags, const char *spec, int n_layers, const char *key);
/* OK if ok, else ERR_INPUT "model: what" (the validation messages). */
int config_require(int ok, const char *what);

/* The kind's name (memory.kind), from the registry; "none" for 0. -1 if unknown. */
const char *memory_kind_name(MemoryKind k);
int memory_kind_parse(const char *s);
/* "none" and every variant of the registry, joined by separator (help texts, messages). */
void memory_kind_names(char *out, size_t size, const char *separator);

/* A field of the config, "section.key": the model's own (offset in ModelConfig) or a
 * memory variant's (offset in the variant's config struct). F_LAYERS: a char
 * [LAYER_SPEC_BYTES] spec immediately followed by the resolved unsigned char
 * [MAX_LAYERS] flags; the spec "default" is left to the variant's config_resolve. */
typedef enum { F_INT, F_FLOAT, F_BOOL, F_LAYERS, F_ENUM } FieldType;
typedef struct {
    const char *key;
    FieldType type;
    size_t offset;
    double min, max;                              /* for F_INT and F_FLOAT: inclusive range */
    int (*parse)(const char *);                   /* for F_ENUM: -1 if unknown */
    const char *(*name)(int);
} ConfigField;

/* Every field (model., memory.kind, then each variant's in registry order): iterate them
 * to store a config, set them from text to read one back or apply an override. */
int model_config_field_count(void);
const char *model_config_field_key(int i);
/* The variant owning field i (0: the model's own and memory.kind). */
MemoryKind model_config_field_kind(int i);
void model_config_field_value(const ModelConfig *c, int i, char *out, int size);
FieldType model_config_field_type(int i);
int model_config_set(ModelConfig *c, const char *key, const char *value); /* ERR_INPUT */
#endif
