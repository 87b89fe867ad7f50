#include "models/params.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/rng.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* FNV-1a from a seed that is not FNV's offset (its last digits were dropped long ago); kept
 * as it is because every parameter's initial values follow from it. */
#define STRING_HASH_SEED 1469598103934665603ULL

uint64_t string_hash(const char *s) { return fnv1a64_string(STRING_HASH_SEED, s); }

void params_add(ParamSet *ps, const char *name, long d0, long d1, long d2, ParamInit init,
                float std, int decay, int rom, float **slot, float **grad_slot) {
    if (ps->count == ps->capacity) {
        ps->capacity = ps->capacity ? ps->capacity * 2 : 64;
        ps->tensors = realloc(ps->tensors, sizeof(ParamTensor) * ps->capacity);
    }
    ParamTensor *t = &ps->tensors[ps->count++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    long dims[3] = {d0, d1, d2};
    t->numel = 1;
    for (int i = 0; i < 3 && dims[i] > 0; i++) {
        t->shape[t->ndim++] = dims[i];
        t->numel *= dims[i];
    }
    /* Offsets rounded to 16 floats keep every tensor 64-byte aligned for SIMD. */
    t->offset = ps->total;
    ps->total += (t->numel + 15) / 16 * 16;
    t->init = init;
    t->init_std = std;
    t->decay = t->own_decay = decay;
    t->rom = rom;
    t->slot = slot;
    t->grad_slot = grad_slot;
}

void params_mark_output(ParamSet *ps) {
    if (ps->count) ps->tensors[ps->count - 1].output = 1;
}

void params_mark_folded_only(ParamSet *ps) {
    if (ps->count) ps->tensors[ps->count - 1].folded_only = 1;
}

void params_set_init_std(ParamSet *ps, float std, float output_std) {
    for (int i = 0; i < ps->count; i++)
        if (ps->tensors[i].init == INIT_NORMAL) ps->tensors[i].init_std = ps->tensors[i].output ? output_std : std;
}

void params_set_decay(ParamSet *ps, int all_matrices) {
    for (int i = 0; i < ps->count; i++) {
        ParamTensor *t = &ps->tensors[i];
        t->decay = all_matrices ? t->ndim >= 2 : t->own_decay;
    }
}

int params_allocate(ParamSet *ps, int with_training_state) {
    Allocs al = {0};
    ps->data = floats_zeroed(&al, (size_t)ps->total);
    if (with_training_state) {
        ps->grad = floats_zeroed(&al, (size_t)ps->total);
        ps->adam_m = floats_zeroed(&al, (size_t)ps->total);
        ps->adam_v = floats_zeroed(&al, (size_t)ps->total);
    }
    if (al.failed) return error_set(ERR_FAILURE, "out of memory for %ld parameters", ps->total);
    for (int i = 0; i < ps->count; i++) {
        ParamTensor *t = &ps->tensors[i];
        *t->slot = ps->data + t->offset;
        if (t->grad_slot) *t->grad_slot = ps->grad ? ps->grad + t->offset : NULL;
    }
    return OK;
}

void params_init(ParamSet *ps, uint64_t seed) {
    for (int i = 0; i < ps->count; i++) {
        ParamTensor *t = &ps->tensors[i];
        float *p = ps->data + t->offset;
        Rng rng;
        rng_seed(&rng, seed ^ string_hash(t->name));
        for (long j = 0; j < t->numel; j++)
            p[j] = t->init == INIT_ONES ? 1.0f
                 : t->init == INIT_ZEROS ? 0.0f
                 : t->init_std * rng_normal(&rng);
    }
}

const ParamTensor *params_find(const ParamSet *ps, const char *name) {
    for (int i = 0; i < ps->count; i++)
        if (!strcmp(ps->tensors[i].name, name)) return &ps->tensors[i];
    return NULL;
}

void params_zero_grad(ParamSet *ps) {
    if (ps->grad) memset(ps->grad, 0, sizeof(float) * (size_t)ps->total);
}

/* The whole pages inside [start, end), as an address range; empty when there are none. */
static size_t page_interior(const float *start, const float *end, char **first) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)start + page - 1) & ~(page - 1), b = (uintptr_t)end & ~(page - 1);
    *first = (char *)a;
    return b > a ? b - a : 0;
}

/* The data block comes from aligned_alloc, not mmap; its whole pages are still this block's
 * alone (malloc keeps its headers outside them), and params_free makes them readable again
 * before free() hands them back to malloc. */
int params_release(ParamSet *ps, float **slot) {
    int i = 0;
    while (i < ps->count && ps->tensors[i].slot != slot) i++;
    if (i == ps->count || !ps->data) return error_set(ERR_INPUT, "params_release: no such tensor");
    if (ps->grad || ps->adam_m) return error_set(ERR_INPUT, "params_release: %s has training state",
                                                 ps->tensors[i].name);
    ParamTensor *t = &ps->tensors[i];
    if (t->released) return OK;
    /* the run of released tensors around this one: offsets follow declaration order */
    long from = t->offset, to = t->offset + t->numel;
    for (int j = i - 1; j >= 0 && ps->tensors[j].released; j--) from = ps->tensors[j].offset;
    for (int j = i + 1; j < ps->count && ps->tensors[j].released; j++)
        to = ps->tensors[j].offset + ps->tensors[j].numel;
    char *first;
    size_t bytes = page_interior(ps->data + from, ps->data + to, &first);
    if (bytes && (madvise(first, bytes, MADV_DONTNEED) || mprotect(first, bytes, PROT_NONE)))
        return error_set(ERR_FAILURE, "params_release: %s: cannot release its pages", t->name);
    t->released = 1;
    ps->released = 1;
    *t->slot = NULL;
    return OK;
}

void params_free(ParamSet *ps) {
    char *first;
    size_t bytes = ps->released ? page_interior(ps->data, ps->data + ps->total, &first) : 0;
    if (bytes) mprotect(first, bytes, PROT_READ | PROT_WRITE);   /* before malloc reuses them */
    free(ps->tensors);
    free(ps->data);
    free(ps->grad);
    free(ps->adam_m);
    free(ps->adam_v);
    memset(ps, 0, sizeof *ps);
}

long params_count(const ParamSet *ps, int rom) {
    long n = 0;
    for (int i = 0; i < ps->count; i++)
        if (ps->tensors[i].rom == rom) n += ps->tensors[i].numel;
    return n;
}

void params_adamw_step(ParamSet *ps, const AdamWSettings *s, long step) {
    for (int i = 0; i < ps->count; i++) {
        const ParamTensor *p = &ps->tensors[i];
        adamw_update(ps->data + p->offset, ps->grad + p->offset, ps->adam_m + p->offset,
                     ps->adam_v + p->offset, p->numel, s, step, p->decay);
    }
}
