#include "models/config.h"
#include "models/memory.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; int d_model, n_layers, n_heads, n_kv_heads, ffn_hidden, seq_len; } Preset;

/* Sized for a 2-core CPU: tiny trains in seconds (tests), large in about an hour. */
static const Preset PRESETS[] = {
    {"tiny", 64, 2, 4, 2, 192, 64},
    /* between tiny and small (twice tiny's RAM parameters, half small's): a fourth size for
     * scaling laws that 2 cores can train to 20 tokens per parameter */
    {"mini", 96, 3, 4, 2, 288, 128},
    {"small", 128, 4, 4, 2, 384, 128},
    {"medium", 192, 6, 6, 2, 576, 256},
    {"large", 256, 8, 8, 4, 768, 256},
};

int model_preset(ModelConfig *cfg, const char *name) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const Preset *p = &PRESETS[i];
        if (strcmp(p->name, name) != 0) continue;
        memset(cfg, 0, sizeof *cfg);
        cfg->d_model = p->d_model;
        cfg->n_layers = p->n_layers;
        cfg->n_heads = p->n_heads;
        cfg->n_kv_heads = p->n_kv_heads;
        cfg->ffn_hidden = p->ffn_hidden;
        cfg->seq_len = p->seq_len;
        cfg->vocab_size = 4096;
        cfg->rope_theta = 500000.0f;   /* as Qwen3 in the paper */
        cfg->norm_eps = 1e-6f;
        cfg->qk_norm = 1;
        cfg->tie_embeddings = 1;
        cfg->memory = MEMORY_NONE;
        for (int k = 1; k <= memory_variant_count(); k++) {
            const MemoryOps *ops = memory_ops(k);
            ops->config_defaults(memory_config(cfg, ops), cfg);
        }
        return OK;
    }
    char names[128];
    model_preset_names(names, sizeof names, ", ");
    return error_set(ERR_INPUT, "unknown preset '%s' (%s)", name, names);
}

const char *model_preset_name(int i) {
    return i >= 0 && i < (int)(sizeof PRESETS / sizeof PRESETS[0]) ? PRESETS[i].name : NULL;
}

void model_preset_names(char *out, size_t size, const char *separator) {
    size_t used = 0;
    if (size) out[0] = 0;
    for (int i = 0; model_preset_name(i) && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? separator : "", model_preset_name(i));
}

static int check(int ok, const char *what) {
    return ok ? OK : error_set(ERR_INPUT, "model: %s", what);
}

int config_require(int ok, const char *what) { return check(ok, what); }

int config_resolve_layers(unsigned char *flags, const char *spec, int n_layers, const char *key) {
    if (parse_layer_list(flags, spec[0] ? spec : "all", n_layers))
        return error_set(ERR_INPUT, "%s: %s", key, error_message());
    return OK;
}

int model_config_validate(ModelConfig *c) {
    int rc;
    if ((rc = check(c->d_model > 0 && c->d_model <= 8192, "d_model must be in 1..8192")) ||
        (rc = check(c->n_layers > 0 && c->n_layers <= MAX_LAYERS, "n_layers must be in 1..64")) ||
        (rc = check(c->n_heads > 0 && c->d_model % c->n_heads == 0,
                    "n_heads must be positive and divide d_model")) ||
        (rc = check(c->n_kv_heads > 0 && c->n_heads % c->n_kv_heads == 0,
                    "n_kv_heads must be positive and divide n_heads")) ||
        (rc = check((c->d_model / c->n_heads) % 2 == 0, "head dimension must be even (RoPE)")) ||
        (rc = check(c->ffn_hidden > 0, "ffn_hidden must be positive")) ||
        (rc = check(c->vocab_size >= 256 && c->vocab_size <= 65536, "vocab_size must be in 256..65536")) ||
        (rc = check(c->seq_len > 1 && c->seq_len <= 65536, "seq_len must be in 2..65536")) ||
        /* the same ranges as model_config_set's (models/config_fields.c); NaN fails both */
        (rc = check(c->rope_theta >= 1 && c->rope_theta <= 1e9f, "rope_theta must be in 1..1e9")) ||
        (rc = check(c->norm_eps >= 1e-12f && c->norm_eps <= 1, "norm_eps must be in 1e-12..1")))
        return rc;
    c->head_dim = c->d_model / c->n_heads;
    /* every variant's layer flags: inactive ones are stored in checkpoints too */
    for (int k = 1; k <= memory_variant_count(); k++) {
        const MemoryOps *ops = memory_ops(k);
        if ((rc = ops->config_resolve(memory_config(c, ops), c))) return rc;
    }
    const MemoryOps *active = memory_ops(c->memory);
    return active ? active->config_check(memory_config(c, active), c) : OK;
}

int parse_layer_list(unsigned char *flags, const char *text, int n_layers) {
    memset(flags, 0, MAX_LAYERS);
    int count;
    char *end;
    if (strcmp(text, "all") == 0) {
        memset(flags, 1, (size_t)n_layers);
        return OK;
    }
    if (strncmp(text, "every:", 6) == 0) {   /* every:K = layers 0, K, 2K, ... */
        int step = (int)strtol(text + 6, &end, 10);
        if (*end || step <= 0 || step > n_layers)
            return error_set(ERR_INPUT, "layers '%s': K must be in 1..%d", text, n_layers);
        for (int l = 0; l < n_layers; l += step) flags[l] = 1;
        return OK;
    }
    int first = strncmp(text, "first:", 6) == 0, last = strncmp(text, "last:", 5) == 0;
    if (first || last) {
        count = (int)strtol(text + (first ? 6 : 5), &end, 10);
        if (*end || count <= 0 || count > n_layers)
            return error_set(ERR_INPUT, "layers '%s': N must be in 1..%d", text, n_layers);
        for (int l = 0; l < count; l++) flags[first ? l : n_layers - 1 - l] = 1;
        return OK;
    }
    const char *p = text;
    while (*p) {
        long l = strtol(p, &end, 10);
        if (end == p || l < 0 || l >= n_layers)
            return error_set(ERR_INPUT, "layers '%s': expected all, first:N, last:N, every:K or indices in 0..%d",
                             text, n_layers - 1);
        flags[l] = 1;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        while (*p == ' ') p++;
    }
    return OK;
}

void format_layer_list(char *out, int size, const unsigned char *flags, int n_layers) {
    int used = 0, all = 1;
    out[0] = 0;
    for (int l = 0; l < n_layers; l++) all &= flags[l];
    if (all) { snprintf(out, (size_t)size, "all"); return; }
    for (int l = 0; l < n_layers && used < size; l++)
        if (flags[l]) used += snprintf(out + used, (size_t)(size - used), "%s%d", used ? "," : "", l);
}
