#include "models/fold.h"
#include "models/checkpoint.h"
#include "models/meki.h"
#include "models/memory.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_fold(const Model *trained, Model *folded) {
    if (!trained->ops || !trained->ops->fold)
        return error_set(ERR_INPUT, "nothing to fold: the model has no %s memory",
                         trained->ops ? "foldable" : "(it is dense)");
    if (trained->folded) return error_set(ERR_INPUT, "the model is folded already");
    int rc = model_create(folded, &trained->cfg, 1, 0);
    if (rc) return rc;
    for (int i = 0; i < folded->params.count; i++) {
        const ParamTensor *t = &folded->params.tensors[i];
        const ParamTensor *src = params_find(&trained->params, t->name);
        if (!src || src->numel != t->numel) {
            model_free(folded);
            return error_set(ERR_FAILURE, "fold: tensor %s missing from the trained model", t->name);
        }
        memcpy(folded->params.data + t->offset, trained->params.data + src->offset,
               sizeof(float) * (size_t)t->numel);
    }
    if ((rc = trained->ops->fold((Model *)trained, folded))) model_free(folded);
    return rc;
}

int bundle_table_path(char *out, int size, const char *dir, TableDtype dtype) {
    return snprintf(out, (size_t)size, "%s/table.%s.rom", dir, table_dtype_name(dtype));
}

/* The folded tables of the memory layers, in layer order. */
static int collect_tables(const Model *m, int *layers, const float **tables, int *width) {
    const MekiState *st = m->memory;
    int n = 0;
    if (m->cfg.memory != MEMORY_MEKI || !st || !st->folded)
        return error_set(ERR_FAILURE, "bundle: the model holds no folded tables");
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (st->folded[l]) { layers[n] = l; tables[n++] = st->folded[l]; }
    *width = st->folded_width;
    return n;
}

int bundle_write(const Model *folded, const char *dir, const TableDtype *dtypes, int n) {
    char path[4096];
    int layers[64], width = 0, rc;
    const float *tables[64];
    int count = collect_tables(folded, layers, tables, &width);
    if (count <= 0) return count < 0 ? count : ERR_FAILURE;
    if ((rc = make_dirs(dir))) return rc;
    for (int i = 0; i < n; i++) {
        bundle_table_path(path, sizeof path, dir, dtypes[i]);
        if ((rc = rom_table_write(path, dtypes[i], count, folded->cfg.vocab_size, width, layers, tables)))
            return rc;
    }
    TrainState state = {0};
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    return model_save_file(folded, path, &state);
}

int bundle_load(Model *m, const char *dir, TableDtype dtype) {
    char path[4096];
    TrainState state;
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    int rc = model_load_file(m, path, 0, &state);
    if (rc) return rc;
    if (!m->folded) {
        model_free(m);
        return error_set(ERR_INPUT, "%s is not a folded model: use --checkpoint", path);
    }
    bundle_table_path(path, sizeof path, dir, dtype);
    m->rom = calloc(1, sizeof *m->rom);
    if ((rc = rom_table_open(m->rom, path, 1))) {
        free(m->rom);
        m->rom = NULL;
        model_free(m);
        return rc;
    }
    const RomTable *t = m->rom;
    MekiState *st = m->memory;
    int expected = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) expected += m->cfg.meki.layers[l] != 0;
    if (t->rows != m->cfg.vocab_size || t->width != m->cfg.meki.d_mem || t->n_tables != expected) {
        rc = error_set(ERR_INPUT, "%s: table shape %d tables x %d x %d does not match the weights (%d x %d x %d)",
                       path, t->n_tables, t->rows, t->width, expected, m->cfg.vocab_size, m->cfg.meki.d_mem);
        model_free(m);
        return rc;
    }
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (m->cfg.meki.layers[l] && t->slot_of_layer[l] < 0) {
            rc = error_set(ERR_INPUT, "%s: no table for layer %d", path, l);
            model_free(m);
            return rc;
        }
    st->rom = m->rom;
    st->folded_width = t->width;
    return OK;
}
