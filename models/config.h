/* Model configuration: the architecture and its memory variant. Presets give the sizes
 * for this 2-core machine; every field can be overridden from an experiment file. */
#ifndef MODELS_CONFIG_H
#define MODELS_CONFIG_H
#include <stdint.h>

#define MAX_LAYERS 64

typedef enum { MEMORY_NONE, MEMORY_MEKI, MEMORY_PLE, MEMORY_ENGRAM } MemoryKind;
/* bit flags: static table, dynamic projection of the shared embedding, or both */
typedef enum { MEKI_STATIC = 1, MEKI_DYNAMIC = 2, MEKI_BOTH = 3 } MekiMemory;
typedef enum { POS_PARALLEL_FFN, POS_PARALLEL_ATTN, POS_AFTER_ATTN, POS_AFTER_FFN } MekiPosition;
typedef enum { FUSION_ADD_SIGMOID, FUSION_MUL_SIGMOID, FUSION_ADD_SILU, FUSION_MUL_SILU } MekiFusion;
typedef enum { PROJECTOR_SWIGLU, PROJECTOR_LINEAR } MekiProjector;

typedef struct {
    int d_mem;
    MekiMemory memory;
    MekiPosition position;
    MekiFusion fusion;
    MekiProjector projector;
    char layers_spec[96];               /* all | 0,2,4 | first:N | last:N | every:K */
    unsigned char layers[MAX_LAYERS];   /* resolved by model_config_validate */
} MekiConfig;

typedef struct {
    int width;                          /* p: per-layer token vector width */
    char layers_spec[96];
    unsigned char layers[MAX_LAYERS];
} PleConfig;

typedef struct {
    int max_ngram;                      /* N: n-grams 2..N */
    int heads;                          /* K hash heads per n */
    int table_size;                     /* rows per head (rounded to a distinct prime) */
    int width;                          /* columns per head */
    int normalize_tokens;               /* merge case / leading-space variants */
    char layers_spec[96];               /* default: layer 1 and the middle layer */
    unsigned char layers[MAX_LAYERS];
} EngramConfig;

typedef struct {
    int d_model, n_layers, n_heads, n_kv_heads, head_dim, ffn_hidden, vocab_size, seq_len;
    float rope_theta, norm_eps;
    int qk_norm, tie_embeddings;
    MemoryKind memory;
    MekiConfig meki;
    PleConfig ple;
    EngramConfig engram;
} ModelConfig;

/* Fill cfg from a preset name (tiny, small, medium, large); ERR_INPUT if unknown.
 * Memory defaults (MeKi d_mem = d_model/8, all layers, both, parallel_ffn, add_sigmoid,
 * swiglu) are set too, with memory = none. */
int model_preset(ModelConfig *cfg, const char *name);
/* Derived fields (head_dim) and range checks; ERR_INPUT with a message naming the field. */
int model_config_validate(ModelConfig *cfg);
/* Parse a layer selection "all", "0,2,4", "first:N", "last:N", "every:K" into flags. */
int parse_layer_list(unsigned char *flags, const char *text, int n_layers);
void format_layer_list(char *out, int size, const unsigned char *flags, int n_layers);

const char *memory_kind_name(MemoryKind k);
const char *meki_memory_name(MekiMemory m);
const char *meki_position_name(MekiPosition p);
const char *meki_fusion_name(MekiFusion f);
const char *meki_projector_name(MekiProjector p);
/* name -> enum value; -1 if unknown */
int memory_kind_parse(const char *s);
int meki_memory_parse(const char *s);
int meki_position_parse(const char *s);
int meki_fusion_parse(const char *s);
int meki_projector_parse(const char *s);

/* Every field as "section.key" (model., memory., meki., ple., engram.): iterate them to
 * store a config, set them from text to read one back or apply an override. */
int model_config_field_count(void);
const char *model_config_field_key(int i);
void model_config_field_value(const ModelConfig *c, int i, char *out, int size);
int model_config_set(ModelConfig *c, const char *key, const char *value); /* ERR_INPUT */
#endif
