#include "models/config.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; int d_model, n_layers, n_heads, n_kv_heads, ffn_hidden, seq_len; } Preset;

/* Sized for a 2-core CPU: tiny trains in seconds (tests), large in about an hour. */
static const Preset PRESETS[] = {
    {"tiny", 64, 2, 4, 2, 192, 64},
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
        cfg->meki.d_mem = p->d_model / 8;
        cfg->meki.memory = MEKI_BOTH;
        cfg->meki.position = POS_PARALLEL_FFN;
        cfg->meki.fusion = FUSION_ADD_SIGMOID;
        cfg->meki.projector = PROJECTOR_SWIGLU;
        strcpy(cfg->meki.layers_spec, "all");
        cfg->ple.width = p->d_model / 8;
        strcpy(cfg->ple.layers_spec, "all");
        cfg->engram.max_ngram = 3;
        cfg->engram.heads = 4;
        cfg->engram.table_size = 4093;
        /* d/32: with tables of 4093 rows this matches MeKi's ROM weights (d_mem = d/8,
         * every layer) within 1% at the tiny and small presets (table2.ini) */
        cfg->engram.width = p->d_model / 32;
        strcpy(cfg->engram.layers_spec, "default");
        return OK;
    }
    return error_set(ERR_INPUT, "unknown preset '%s' (tiny, small, medium, large)", name);
}

static int check(int ok, const char *what) {
    return ok ? OK : error_set(ERR_INPUT, "model: %s", what);
}

/* "default" (Engram's): layer 1 and the middle layer, as the Engram paper places it. */
static int resolve_layers(unsigned char *flags, const char *spec, int n_layers, const char *key) {
    if (!strcmp(spec, "default")) {
        memset(flags, 0, MAX_LAYERS);
        flags[1 % n_layers] = 1;
        flags[n_layers / 2] = 1;
        return OK;
    }
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
    if ((rc = resolve_layers(c->meki.layers, c->meki.layers_spec, c->n_layers, "meki.layers")) ||
        (rc = resolve_layers(c->ple.layers, c->ple.layers_spec, c->n_layers, "ple.layers")) ||
        (rc = resolve_layers(c->engram.layers, c->engram.layers_spec, c->n_layers, "engram.layers")))
        return rc;
    if (c->memory == MEMORY_MEKI &&
        ((rc = check(c->meki.d_mem > 0, "meki d_mem must be positive")) ||
         (rc = check(c->meki.memory >= MEKI_STATIC && c->meki.memory <= MEKI_BOTH, "meki memory"))))
        return rc;
    if (c->memory == MEMORY_PLE && (rc = check(c->ple.width > 0, "ple width must be positive")))
        return rc;
    if (c->memory == MEMORY_ENGRAM &&
        ((rc = check(c->engram.max_ngram >= 2, "engram max_ngram must be >= 2")) ||
         (rc = check(c->engram.heads > 0, "engram heads must be positive")) ||
         (rc = check(c->engram.table_size > 1, "engram table_size must be > 1")) ||
         (rc = check(c->engram.width > 0, "engram width must be positive"))))
        return rc;
    return OK;
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

static const char *KIND_NAMES[] = {"none", "meki", "ple", "engram"};
static const char *MEMORY_NAMES[] = {"", "static", "dynamic", "both"};
static const char *POSITION_NAMES[] = {"parallel_ffn", "parallel_attn", "after_attn", "after_ffn"};
static const char *FUSION_NAMES[] = {"add_sigmoid", "mul_sigmoid", "add_silu", "mul_silu"};
static const char *PROJECTOR_NAMES[] = {"swiglu", "linear"};

static int find(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (names[i][0] && strcmp(names[i], s) == 0) return i;
    return -1;
}

const char *memory_kind_name(MemoryKind k) { return KIND_NAMES[k]; }
const char *meki_memory_name(MekiMemory m) { return MEMORY_NAMES[m]; }
const char *meki_position_name(MekiPosition p) { return POSITION_NAMES[p]; }
const char *meki_fusion_name(MekiFusion f) { return FUSION_NAMES[f]; }
const char *meki_projector_name(MekiProjector p) { return PROJECTOR_NAMES[p]; }
int memory_kind_parse(const char *s) { return find(KIND_NAMES, 4, s); }
int meki_memory_parse(const char *s) { return find(MEMORY_NAMES, 4, s); }
int meki_position_parse(const char *s) { return find(POSITION_NAMES, 4, s); }
int meki_fusion_parse(const char *s) { return find(FUSION_NAMES, 4, s); }
int meki_projector_parse(const char *s) { return find(PROJECTOR_NAMES, 2, s); }
