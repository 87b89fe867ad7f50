#include "deploy/export_hf.h"
#include "models/memory.h"
#include "formats/safetensors.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Harness name -> HF name: everything lives under model. but the LM head. */
static void hf_name(char *out, size_t size, const char *name) {
    if (!strcmp(name, "lm_head.weight")) snprintf(out, size, "%s", name);
    else snprintf(out, size, "model.%s", name);
}

static int write_weights(const Model *m, const char *dir) {
    const ParamSet *ps = &m->params;
    SafeTensorEntry *entries = calloc((size_t)ps->count, sizeof *entries);
    char (*names)[160] = calloc((size_t)ps->count, 160);
    if (!entries || !names) {
        free(entries), free(names);
        return error_set(ERR_FAILURE, "out of memory exporting %s", dir);
    }
    for (int i = 0; i < ps->count; i++) {
        const ParamTensor *t = &ps->tensors[i];
        hf_name(names[i], 160, t->name);
        entries[i] = (SafeTensorEntry){.name = names[i], .dtype = "F32", .ndim = t->ndim,
                                       .data = ps->data + t->offset};
        for (int d = 0; d < t->ndim; d++) entries[i].shape[d] = t->shape[d];
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const char *keys[] = {"format"}, *values[] = {"pt"};
    int rc = safetensors_write(path, entries, ps->count, keys, values, 1);
    free(entries), free(names);
    return rc;
}

/* The folded tables, decoded from the bundle's ROM table to f32. */
static int write_memory_table(const Model *m, const char *dir) {
    const RomTable *rom = m->rom;
    SafeTensorEntry entries[ROM_MAX_TABLES];
    char names[ROM_MAX_TABLES][64];
    float *data = malloc(sizeof(float) * (size_t)rom->rows * (size_t)rom->width * (size_t)rom->n_tables);
    if (!data) return error_set(ERR_FAILURE, "out of memory exporting %s", dir);
    for (int s = 0; s < rom->n_tables; s++) {
        float *table = data + (size_t)s * rom->rows * rom->width;
        for (int r = 0; r < rom->rows; r++)
            rom_table_read_row(rom, rom->layer[s], r, table + (size_t)r * rom->width);
        snprintf(names[s], sizeof names[s], "model.layers.%d.memory_table", rom->layer[s]);
        entries[s] = (SafeTensorEntry){.name = names[s], .dtype = "F32", .ndim = 2,
                                       .shape = {rom->rows, rom->width}, .data = table};
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/memory_table.safetensors", dir);
    const char *keys[] = {"format", "table_dtype"}, *values[] = {"pt", table_dtype_name(rom->dtype)};
    int rc = safetensors_write(path, entries, rom->n_tables, keys, values, 2);
    free(data);
    return rc;
}

static int write_text(const char *path, const char *text) {
    AtomicFile af;
    if (atomic_open(&af, path)) return ERR_FAILURE;
    if (atomic_write(&af, text, strlen(text)) || atomic_write(&af, "\n", 1)) {
        atomic_abort(&af);
        return ERR_FAILURE;
    }
    return atomic_commit(&af);
}

/* The memory settings as config.json's "meki" object: memory.kind, folded and the active
 * variant's fields, typed (numbers, booleans, layer lists as arrays, names as strings). */
static void memory_object(const Model *m, Json *j) {
    json_begin(j);
    json_string(j, "memory.kind", memory_kind_name(m->cfg.memory));
    json_raw(j, "folded", m->folded ? "true" : "false");
    for (int i = 0; i < model_config_field_count(); i++) {
        if (model_config_field_kind(i) != m->cfg.memory) continue;
        const char *key = model_config_field_key(i);
        char value[512], list[600];
        model_config_field_value(&m->cfg, i, value, sizeof value);
        switch (model_config_field_type(i)) {
        case F_INT: case F_FLOAT: json_raw(j, key, value); break;
        case F_BOOL: json_raw(j, key, !strcmp(value, "on") ? "true" : "false"); break;
        case F_ENUM: json_string(j, key, value); break;
        case F_LAYERS:
            if (!strcmp(value, "all")) {
                int at = snprintf(list, sizeof list, "[");
                for (int l = 0; l < m->cfg.n_layers; l++) at += snprintf(list + at, sizeof list - (size_t)at, "%s%d", l ? "," : "", l);
                snprintf(list + at, sizeof list - (size_t)at, "]");
            } else {
                snprintf(list, sizeof list, "[%s]", value);
            }
            json_raw(j, key, list);
            break;
        }
    }
}

/* A memory model computes something Qwen3 does not: its own architecture name and
 * model_type make a Qwen3 loader refuse it rather than drop the memory tensors. */
static void architecture(const Model *m, char *arch, size_t arch_size, char *type, size_t type_size) {
    if (!m->ops) {
        snprintf(arch, arch_size, "Qwen3ForCausalLM");
        snprintf(type, type_size, "qwen3");
        return;
    }
    const char *kind = memory_kind_name(m->cfg.memory);
    char title[32];
    snprintf(title, sizeof title, "%s", kind);
    title[0] = (char)(title[0] - 'a' + 'A');
    int meki = !strcmp(kind, "meki");               /* MekiForCausalLM, not MekiMeki... */
    snprintf(arch, arch_size, "Meki%sForCausalLM", meki ? "" : title);
    snprintf(type, type_size, meki ? "meki" : "meki_%s", kind);
}

static int write_config(const Model *m, const char *dir, int eos) {
    const ModelConfig *c = &m->cfg;
    Json j, mem;
    char arch[64], type[64], raw[80], eos_text[16];
    architecture(m, arch, sizeof arch, type, sizeof type);
    snprintf(raw, sizeof raw, "[\"%s\"]", arch);
    snprintf(eos_text, sizeof eos_text, eos >= 0 ? "%d" : "null", eos);
    json_begin(&j);
    json_raw(&j, "architectures", raw);
    json_string(&j, "model_type", type);
    json_int(&j, "hidden_size", c->d_model);
    json_int(&j, "intermediate_size", c->ffn_hidden);
    json_int(&j, "num_hidden_layers", c->n_layers);
    json_int(&j, "num_attention_heads", c->n_heads);
    json_int(&j, "num_key_value_heads", c->n_kv_heads);
    json_int(&j, "head_dim", c->head_dim);
    json_number(&j, "rms_norm_eps", c->norm_eps);
    json_number(&j, "rope_theta", c->rope_theta);
    json_int(&j, "vocab_size", c->vocab_size);
    json_raw(&j, "tie_word_embeddings", c->tie_embeddings ? "true" : "false");
    json_int(&j, "max_position_embeddings", c->seq_len);
    json_string(&j, "hidden_act", "silu");
    json_string(&j, "torch_dtype", "float32");
    json_raw(&j, "attention_bias", "false");
    json_raw(&j, "use_sliding_window", "false");
    json_raw(&j, "bos_token_id", eos_text);
    json_raw(&j, "eos_token_id", eos_text);
    if (m->ops) {
        memory_object(m, &mem);
        json_raw(&j, "meki", json_end(&mem));
        json_free(&mem);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = write_text(path, json_end(&j));
    json_free(&j);
    return rc;
}

int export_hf(const Model *m, const char *dir, int eos) {
    if (!m->cfg.qk_norm)
        return error_set(ERR_INPUT, "model.qk_norm is off, but Qwen3 always normalizes q and k: "
                         "no Hugging Face Qwen3 form");
    if (m->folded && !m->rom) return error_set(ERR_INPUT, "a folded model needs its ROM table to export");
    int rc = make_dirs(dir);
    if (!rc) rc = write_weights(m, dir);
    if (!rc) rc = write_config(m, dir, eos);
    if (!rc && m->folded) rc = write_memory_table(m, dir);
    return rc;
}
