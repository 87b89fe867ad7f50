#include "deploy/fold.h"
#include "train/checkpoint.h"
#include "models/memory.h"
#include "train/record.h"
#include "util/error.h"
#include "util/fileio.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int model_fold(const Model *trained, Model *folded) {
    if (!trained->ops || !trained->ops->fold)
        return error_set(ERR_INPUT, "nothing to fold: %s", trained->ops ? "its memory has no folded form"
                                                                         : "it is a dense model");
    if (trained->folded) return error_set(ERR_INPUT, "the model is folded already");
    int rc = model_create(folded, &trained->cfg, 1, 0);
    if (rc) return rc;
    for (int i = 0; i < folded->params.count; i++) {
        const ParamTensor *t = &folded->params.tensors[i];
        const ParamTensor *src = params_find(&trained->params, t->name);
        if (!src && t->folded_only) continue;   /* the memory's fold below writes it */
        if (!src || src->numel != t->numel) {
            model_free(folded);
            return error_set(ERR_FAILURE, "fold: tensor %s missing from the trained model", t->name);
        }
        memcpy(folded->params.data + t->offset, trained->params.data + src->offset,
               sizeof(float) * (size_t)t->numel);
    }
    if ((rc = trained->ops->fold((Model *)trained, folded))) model_free(folded);
    else if (trained->record) folded->record = strdup(trained->record);   /* a bundle says what made it */
    return rc;
}

int bundle_table_path(char *out, int size, const char *dir, TableDtype dtype) {
    return snprintf(out, (size_t)size, "%s/table.%s.rom", dir, table_dtype_name(dtype));
}

double bundle_f32_table_bytes(const Model *folded) {
    RomTableList list;
    if (!folded->ops || !folded->ops->rom_tables) return 0;
    folded->ops->rom_tables(folded, &list);
    double table = (double)list.rows * list.width * 4;
    return list.count * (double)((long long)(table + ROM_PAGE - 1) / ROM_PAGE * ROM_PAGE);
}

/* A target may be replaced only when absent, or a folder of bundle files: never a folder
 * that holds anything else (the user's other files would go with it). */
static int check_target(const char *dir) {
    struct stat st;
    if (lstat(dir, &st) != 0) return errno == ENOENT ? OK : error_set(ERR_INPUT, "cannot use %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return error_set(ERR_INPUT, "%s exists and is not a bundle folder", dir);
    DIR *d = opendir(dir);
    if (!d) return error_set(ERR_INPUT, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = OK;
    while (!rc && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int ours = !strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "weights.safetensors") ||
                   !strcmp(n, "record.json") ||
                   (!strncmp(n, "table.", 6) && len > 10 && !strcmp(n + len - 4, ".rom")) ||
                   strstr(n, ".tmp.");
        if (!ours)
            rc = error_set(ERR_INPUT, "%s holds %s, which is not part of a bundle: not replacing it",
                           dir, n);
    }
    closedir(d);
    return rc;
}

static int write_files(const Model *folded, const char *dir, const TableDtype *dtypes, int n,
                       const RomTableList *list) {
    char path[4200];
    int rc = OK;
    for (int i = 0; i < n && !rc; i++) {
        bundle_table_path(path, sizeof path, dir, dtypes[i]);
        rc = rom_table_write(path, dtypes[i], list->count, list->rows, list->width, list->layers,
                             list->tables);
        if (!rc) rc = bundle_verify(dir, dtypes[i]);   /* the one full read: loads skip it */
    }
    if (rc) return rc;
    if (folded->record) {   /* the checkpoint's record, readable beside the bundle */
        snprintf(path, sizeof path, "%s/record.json", dir);
        if ((rc = record_write(path, folded->record))) return rc;
    }
    TrainState state = {0};
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    return model_save_file(folded, path, &state);
}

/* The bundle is written into <dir>.tmp.<pid>.<random> beside its target and renamed into
 * place when whole: a full disk or a kill never leaves tables without weights. */
int bundle_write(const Model *folded, const char *dir, const TableDtype *dtypes, int n) {
    RomTableList list;
    int rc;
    if (!folded->folded || !folded->ops || !folded->ops->rom_tables)
        return error_set(ERR_FAILURE, "bundle: the model holds no folded tables");
    folded->ops->rom_tables(folded, &list);
    for (int i = 0; i < list.count; i++)
        if (!list.tables[i]) return error_set(ERR_FAILURE, "bundle: the model holds no folded tables");
    char target[4096], temp[4200];
    snprintf(target, sizeof target, "%s", dir);
    for (size_t len = strlen(target); len > 1 && target[len - 1] == '/'; len--) target[len - 1] = 0;
    if ((rc = check_target(target))) return rc;
    if ((rc = temp_dir_create(temp, sizeof temp, target))) return rc;
    rc = write_files(folded, temp, dtypes, n, &list);
    if (!rc) rc = dir_install(temp, target);
    if (rc) remove_flat_dir(temp);
    return rc;
}

int bundle_verify(const char *dir, TableDtype dtype) {
    char path[4096];
    RomTable t;
    bundle_table_path(path, sizeof path, dir, dtype);
    int rc = rom_table_open(&t, path, 1);
    if (!rc) rom_table_close(&t);   /* unmapped: the pages it read leave this process */
    return rc;
}

int bundle_load(Model *m, const char *dir, TableDtype dtype) {
    char path[4096];
    TrainState state;
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    int rc = model_load_file(m, path, 0, &state);
    if (rc) return rc;
    if (!m->folded || !m->ops) {
        model_free(m);
        return error_set(ERR_INPUT, "%s is not a folded model: use --checkpoint", path);
    }
    bundle_table_path(path, sizeof path, dir, dtype);
    if (access(path, F_OK) != 0) {   /* name what the bundle has instead */
        char have[64] = "";
        int used = 0;
        for (int d = TABLE_F32; d <= TABLE_Q4; d++) {
            char other[4096];
            bundle_table_path(other, sizeof other, dir, (TableDtype)d);
            if (access(other, F_OK) == 0)
                used += snprintf(have + used, sizeof have - (size_t)used, "%s%s", used ? ", " : "",
                                 table_dtype_name((TableDtype)d));
        }
        model_free(m);
        return error_set(ERR_INPUT, "%s: the bundle has no %s table; it has %s", path,
                         table_dtype_name(dtype), used ? have : "none (fold it again)");
    }
    m->rom = calloc(1, sizeof *m->rom);
    if ((rc = rom_table_open(m->rom, path, 0))) {   /* lazily: see fold.h */
        free(m->rom);
        m->rom = NULL;
        model_free(m);
        return rc;
    }
    const RomTable *t = m->rom;
    RomTableList list;
    m->ops->rom_tables(m, &list);
    if (t->rows != list.rows || t->width != list.width || t->n_tables != list.count) {
        rc = error_set(ERR_INPUT, "%s: table shape %d tables x %d x %d does not match the weights (%d x %d x %d)",
                       path, t->n_tables, t->rows, t->width, list.count, list.rows, list.width);
        model_free(m);
        return rc;
    }
    for (int i = 0; i < list.count; i++)
        if (t->slot_of_layer[list.layers[i]] < 0) {
            rc = error_set(ERR_INPUT, "%s: no table for layer %d", path, list.layers[i]);
            model_free(m);
            return rc;
        }
    m->ops->attach_rom(m, m->rom);
    return OK;
}
