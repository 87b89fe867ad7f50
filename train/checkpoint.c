#include "train/checkpoint.h"
#include "train/record.h"
#include "formats/safetensors.h"
#include "util/error.h"
#include "util/fileio.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FORMAT "meki-checkpoint-1"
/* The "folded" key: 0 for a training form, else the folded form's layout version. 2: MeKi's
 * output product stored transposed (out_t.weight); bundles of 1 must be folded again. */
enum { FOLDED_FORMAT = 2 };

/* A folder too long to hold the file holds no checkpoint (saving or loading there says why). */
int checkpoint_exists(const char *dir) {
    char path[4096];
    if (path_join(path, sizeof path, dir, "checkpoint.safetensors")) {
        error_clear();
        return 0;
    }
    return file_exists(path);
}

char *checkpoint_record(const char *dir) {
    char path[4096];
    SafeTensors st;
    if (path_join(path, sizeof path, dir, "checkpoint.safetensors") || safetensors_open(&st, path)) {
        error_clear();
        return NULL;
    }
    const char *record = safetensors_meta(&st, RECORD_META_KEY);
    char *copy = record ? strdup(record) : NULL;
    safetensors_close(&st);
    return copy;
}

/* Metadata: format, every config field, the training position. */
static int build_meta(const Model *m, const TrainState *s, char keys[][64], char values[][128]) {
    int n = 0;
    snprintf(keys[n], 64, "format"); snprintf(values[n++], 128, FORMAT);
    snprintf(keys[n], 64, "folded"); snprintf(values[n++], 128, "%d", m->folded ? FOLDED_FORMAT : 0);
    for (int i = 0; i < model_config_field_count(); i++) {
        snprintf(keys[n], 64, "%s", model_config_field_key(i));
        model_config_field_value(&m->cfg, i, values[n++], 128);
    }
    snprintf(keys[n], 64, "train.step"); snprintf(values[n++], 128, "%ld", s->step);
    snprintf(keys[n], 64, "train.tokens"); snprintf(values[n++], 128, "%ld", s->tokens);
    snprintf(keys[n], 64, "train.finished"); snprintf(values[n++], 128, "%d", s->finished);
    snprintf(keys[n], 64, "train.loss"); snprintf(values[n++], 128, "%.9g", s->train_loss);
    return n;
}

/* The parameters, and with moments the AdamW moments as optim.m.* and optim.v.*, with the
 * config and training position as metadata, in one atomically written file. */
static int write_model(const char *path, const Model *m, const TrainState *s, int moments) {
    char keys[128][64], values[128][128];
    const char *key_ptrs[128], *value_ptrs[128];
    int n_meta = build_meta(m, s, keys, values);
    for (int i = 0; i < n_meta; i++) { key_ptrs[i] = keys[i]; value_ptrs[i] = values[i]; }
    if (m->record) {   /* longer than the fixed-size values: stored by pointer */
        key_ptrs[n_meta] = RECORD_META_KEY;
        value_ptrs[n_meta++] = m->record;
    }
    const ParamSet *ps = &m->params;
    const char *prefixes[3] = {"", "optim.m.", "optim.v."};
    const float *bases[3] = {ps->data, ps->adam_m, ps->adam_v};
    int sets = moments && ps->adam_m ? 3 : 1, n = ps->count * sets;
    SafeTensorEntry *entries = calloc((size_t)n, sizeof *entries);
    char (*names)[128] = calloc((size_t)n, 128);
    for (int k = 0; k < sets; k++)
        for (int i = 0; i < ps->count; i++) {
            const ParamTensor *t = &ps->tensors[i];
            SafeTensorEntry *e = &entries[k * ps->count + i];
            snprintf(names[k * ps->count + i], 128, "%s%s", prefixes[k], t->name);
            e->name = names[k * ps->count + i];
            e->dtype = "F32";
            e->ndim = t->ndim;
            for (int d = 0; d < t->ndim; d++) e->shape[d] = t->shape[d];
            e->data = bases[k] + t->offset;
        }
    int rc = safetensors_write(path, entries, n, key_ptrs, value_ptrs, n_meta);
    free(entries);
    free(names);
    return rc;
}

int model_save_file(const Model *m, const char *path, const TrainState *s) {
    return write_model(path, m, s, 0);
}

/* One file, so a checkpoint is whole or absent: never weights of one step with moments
 * of another. */
int checkpoint_save(const Model *m, const char *dir, const TrainState *s) {
    char path[4096];
    int rc = path_join(path, sizeof path, dir, "checkpoint.safetensors");
    if (!rc) rc = make_dirs(dir);
    if (rc) return rc;
    return write_model(path, m, s, 1);
}

static int config_from_file(ModelConfig *cfg, const SafeTensors *st, int *folded) {
    const char *format = safetensors_meta(st, "format");
    if (!format || strcmp(format, FORMAT))
        return error_set(ERR_INPUT, "%s: not a meki checkpoint (format '%s')", st->path,
                         format ? format : "missing");
    model_preset(cfg, "tiny");
    for (int i = 0; i < model_config_field_count(); i++) {
        const char *key = model_config_field_key(i), *value = safetensors_meta(st, key);
        /* a variant added after the file was written: its keys keep their defaults */
        MemoryKind owner = model_config_field_kind(i);
        if (!value && owner != MEMORY_NONE && owner != cfg->memory) continue;
        if (!value) return error_set(ERR_INPUT, "%s: metadata lacks %s", st->path, key);
        if (model_config_set(cfg, key, value))
            return error_set(ERR_INPUT, "%s: %s", st->path, error_message());
    }
    const char *f = safetensors_meta(st, "folded");
    *folded = f && strcmp(f, "0");
    if (*folded && atoi(f) != FOLDED_FORMAT)
        return error_set(ERR_INPUT, "%s: a bundle in folded format %s, and this build reads format %d "
                         "(MeKi's output product is stored transposed since 2): fold the checkpoint again",
                         st->path, f, FOLDED_FORMAT);
    return OK;
}

static long meta_long(const SafeTensors *st, const char *key) {
    const char *v = safetensors_meta(st, key);
    return v ? atol(v) : 0;
}

/* The file's pages of a tensor once copied leave the process (the mapping is read-only and
 * never read again): otherwise a load peaks at twice the weights, file pages and copy. */
static void release_pages(const void *p, size_t bytes) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(page - 1);
    if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}

/* A NaN or Inf weight is refused here, the one door every model comes in by: it would
 * spread through every later product (and a fold would bake it into the ROM tables). */
static int load_tensors(ParamSet *ps, float *base, const char *prefix, const SafeTensors *st) {
    for (int i = 0; i < ps->count; i++) {
        const ParamTensor *t = &ps->tensors[i];
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        const void *src = safetensors_f32(st, name, t->numel);
        if (!src) return ERR_INPUT;
        float *dst = base + t->offset;
        memcpy(dst, src, sizeof(float) * (size_t)t->numel);
        release_pages(src, sizeof(float) * (size_t)t->numel);
        for (long k = 0; k < t->numel; k++)
            if (!isfinite(dst[k]))
                return error_set(ERR_INPUT, "%s: tensor %s holds a non-finite value (%g at index %ld)",
                                 st->path, name, dst[k], k);
    }
    return OK;
}

int checkpoint_load(Model *m, const char *dir, int training, TrainState *s) {
    char path[4096];
    int rc = path_join(path, sizeof path, dir, "checkpoint.safetensors");
    if (rc) return rc;
    rc = model_load_file(m, path, training, s);
    /* a bundle's weights.safetensors copied in: its memory lives in the ROM tables beside
     * it, so the checkpoint paths would read tables that are not there */
    if (!rc && m->folded) {
        model_free(m);
        return error_set(ERR_INPUT, "%s is a folded model (a bundle's weights.safetensors), not a training "
                         "checkpoint: give its bundle folder with --bundle", path);
    }
    return rc;
}

int model_load_file(Model *m, const char *path, int training, TrainState *s) {
    SafeTensors st;
    ModelConfig cfg;
    int folded = 0, rc;
    if ((rc = safetensors_open(&st, path))) return rc;
    if ((rc = config_from_file(&cfg, &st, &folded)) ||
        (rc = model_create_within(m, &cfg, folded, training, (long)(st.data_bytes / sizeof(float))))) {
        if (rc == ERR_INPUT && !strstr(error_message(), path)) {
            char message[1024];
            snprintf(message, sizeof message, "%s", error_message());
            error_set(ERR_INPUT, "%s: %s", path, message);
        }
        safetensors_close(&st);
        return rc;
    }
    rc = load_tensors(&m->params, m->params.data, "", &st);
    /* a training run resumes with its moments; a file without them starts them at zero */
    if (!rc && training && safetensors_find(&st, "optim.m.embed_tokens.weight")) {
        rc = load_tensors(&m->params, m->params.adam_m, "optim.m.", &st);
        if (!rc) rc = load_tensors(&m->params, m->params.adam_v, "optim.v.", &st);
    }
    memset(s, 0, sizeof *s);
    s->step = meta_long(&st, "train.step");
    s->tokens = meta_long(&st, "train.tokens");
    s->finished = (int)meta_long(&st, "train.finished");
    const char *loss = safetensors_meta(&st, "train.loss");
    s->train_loss = loss ? atof(loss) : 0;
    const char *record = safetensors_meta(&st, RECORD_META_KEY);
    if (!rc && record) m->record = strdup(record);
    safetensors_close(&st);
    if (rc) model_free(m);
    return rc;
}

