/* Model configuration: the architecture and its memory variant. Presets give the sizes
 * for this 2-core machine; every field can be overridden from an experiment file.
 * The struct and its field descriptor are in models/config_types.h (the variant registry
 * needs them, and this file fills every variant's block through the registry). */
#ifndef MODELS_CONFIG_H
#define MODELS_CONFIG_H
#include "models/config_types.h"
#include <stddef.h>

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
