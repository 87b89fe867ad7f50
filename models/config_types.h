/* The model config's types, apart from its functions (models/config.h): the variant
 * registry (models/memory.h) describes each variant's fields and config hooks with them,
 * while config.c fills and checks every variant's block through the registry.
 * The memory variants are not named here: each owns its config struct and field table
 * (models/memory.h), kept in ModelConfig's opaque per-variant blocks. */
#ifndef MODELS_CONFIG_TYPES_H
#define MODELS_CONFIG_TYPES_H
#include <stddef.h>

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

#endif
