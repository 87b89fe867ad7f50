#include "train/dist_train.h"
#include "kernels/activation.h"
#include "util/dist.h"
#include "util/error.h"
#include "util/timer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor whose gradient only has the rows of the tokens in the batch. */
static int is_table(const Model *m, const ParamTensor *p) {
    if (p->ndim != 2) return 0;
    if (p->rom == 1) return 1;   /* the memory variants' storage tables */
    return !strcmp(p->name, "embed_tokens.weight") && !m->cfg.tie_embeddings;
}

int dist_train_open(DistTrain *d, Model *m, const ModelConfig *cfg, TrainState *state, int B, int dense,
                    int rc) {
    memset(d, 0, sizeof *d);
    d->rank = dist_rank();
    d->size = dist_size();
    d->B = B;
    d->b0 = 0;
    d->b1 = B;
    d->dense = dense;
    if (!dist_active()) return rc;
    int shared = rc;
    if (dist_bcast(&shared, sizeof shared, 0)) return ERR_FAILURE;
    if (shared) {
        if (d->rank == 0) return rc;
        return error_set(shared, "rank 0 could not open the run (see its message)");
    }
    if (B < d->size) {
        if (d->rank == 0) model_free(m);
        return error_set(ERR_INPUT, "train: batch %d is smaller than the %d ranks", B, d->size);
    }
    /* contiguous slices, the first B % size ranks one sequence longer */
    int base = B / d->size, extra = B % d->size;
    d->b0 = d->rank * base + (d->rank < extra ? d->rank : extra);
    d->b1 = d->b0 + base + (d->rank < extra);
    int created = d->rank == 0 ? OK : model_create(m, cfg, 0, 1);
    if (dist_allreduce_max_int(&created)) return ERR_FAILURE;
    if (created) {
        if (d->rank == 0) model_free(m);
        return error_set(ERR_FAILURE, "a rank could not create the model");
    }
    ParamSet *ps = &m->params;
    if (dist_bcast(ps->data, ps->total * (long)sizeof(float), 0) ||
        dist_bcast(ps->adam_m, ps->total * (long)sizeof(float), 0) ||
        dist_bcast(ps->adam_v, ps->total * (long)sizeof(float), 0) || dist_bcast(state, sizeof *state, 0)) {
        model_free(m);
        return ERR_FAILURE;
    }
    d->sparse = calloc((size_t)ps->count + 1, sizeof *d->sparse);
    if (!d->sparse) { model_free(m); return error_set(ERR_FAILURE, "out of memory"); }
    for (int i = 0; i < ps->count; i++) d->sparse[i] = is_table(m, &ps->tensors[i]);
    return OK;
}

double dist_train_loss(const DistTrain *d, double local_loss) {
    if (!dist_active()) return local_loss;
    double x = local_loss * (d->b1 - d->b0) / d->B;
    dist_allreduce_sum_doubles(&x, 1);
    return x;
}

int dist_train_agree(int rc) {
    int shared = rc;
    if (dist_bcast(&shared, sizeof shared, 0)) return ERR_FAILURE;
    if (shared && !rc) return error_set(shared, "rank 0 failed (see its message)");
    return shared;
}

static int grow(void **buf, long *capacity, long need, size_t size) {
    if (need <= *capacity) return OK;
    void *p = realloc(*buf, (size_t)need * size);
    if (!p) return error_set(ERR_FAILURE, "out of memory for the gradient exchange");
    *buf = p;
    *capacity = need;
    return OK;
}

static int cmp_id(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Rows of a table that any rank touched, ascending, into d->ids (returns the count). */
static long touched_union(DistTrain *d, const float *g, long rows, long width) {
    long n = 0;
    if (grow((void **)&d->ids, &d->ids_capacity, rows, sizeof *d->ids)) return -1;
    for (long r = 0; r < rows; r++) {
        const float *row = g + r * width;
        for (long j = 0; j < width; j++)
            if (row[j] != 0.0f) { d->ids[n++] = (int32_t)r; break; }
    }
    int32_t *all;
    long total;
    if (dist_allgatherv_ints(d->ids, (int)n, &all, &total)) return -1;
    d->bytes_sparse += (double)total * sizeof(int32_t);
    qsort(all, (size_t)total, sizeof *all, cmp_id);
    long u = 0;
    for (long i = 0; i < total; i++)
        if (u == 0 || all[i] != d->ids[u - 1]) d->ids[u++] = all[i];
    free(all);
    return u;
}

int dist_train_exchange(DistTrain *d, ParamSet *ps) {
    if (!dist_active()) return OK;
    double start = now_seconds();
    float share = (float)(d->b1 - d->b0) / (float)d->B;
    d->steps++;
    d->bytes_dense += (double)ps->total * sizeof(float);
    if (d->dense) {
        vector_scale(ps->grad, share, ps->total);
        d->bytes_sparse += (double)ps->total * sizeof(float);
        int rc = dist_allreduce_sum_floats(ps->grad, ps->total);
        d->seconds += now_seconds() - start;
        return rc;
    }
    /* Pack every tensor (tables: the union's rows only) into one buffer, sum it in one
     * all-reduce (chunked inside), unpack. The union is the same on every rank, so the
     * packing lines up; untouched rows are zero everywhere, so the sums equal the dense
     * path's element for element. */
    long packed = 0;
    long *unions = calloc((size_t)ps->count + 1, sizeof *unions);
    int32_t **union_ids = calloc((size_t)ps->count + 1, sizeof *union_ids);
    int rc = unions && union_ids ? OK : error_set(ERR_FAILURE, "out of memory");
    for (int i = 0; rc == OK && i < ps->count; i++) {
        const ParamTensor *p = &ps->tensors[i];
        if (!d->sparse[i]) { packed += p->numel; continue; }
        long width = p->shape[1], u = touched_union(d, ps->grad + p->offset, p->shape[0], width);
        if (u < 0) { rc = ERR_FAILURE; break; }
        unions[i] = u;
        union_ids[i] = malloc(sizeof(int32_t) * (size_t)(u > 0 ? u : 1));
        if (!union_ids[i]) { rc = error_set(ERR_FAILURE, "out of memory"); break; }
        memcpy(union_ids[i], d->ids, sizeof(int32_t) * (size_t)u);
        packed += u * width;
    }
    if (rc == OK) rc = grow((void **)&d->stage, &d->stage_capacity, packed > 0 ? packed : 1, sizeof(float));
    if (rc == OK) {
        float *out = d->stage;
        for (int i = 0; i < ps->count; i++) {
            const ParamTensor *p = &ps->tensors[i];
            const float *g = ps->grad + p->offset;
            if (!d->sparse[i]) {
                for (long j = 0; j < p->numel; j++) out[j] = g[j] * share;
                out += p->numel;
                continue;
            }
            long width = p->shape[1];
            for (long k = 0; k < unions[i]; k++, out += width)
                for (long j = 0; j < width; j++) out[j] = g[(long)union_ids[i][k] * width + j] * share;
        }
        d->bytes_sparse += (double)packed * sizeof(float);
        rc = dist_allreduce_sum_floats(d->stage, packed);
    }
    if (rc == OK) {
        const float *in = d->stage;
        for (int i = 0; i < ps->count; i++) {
            const ParamTensor *p = &ps->tensors[i];
            float *g = ps->grad + p->offset;
            if (!d->sparse[i]) {
                memcpy(g, in, sizeof(float) * (size_t)p->numel);
                in += p->numel;
                continue;
            }
            long width = p->shape[1];
            for (long k = 0; k < unions[i]; k++, in += width)
                memcpy(g + (long)union_ids[i][k] * width, in, sizeof(float) * (size_t)width);
        }
    }
    for (int i = 0; union_ids && i < ps->count; i++) free(union_ids[i]);
    free(union_ids);
    free(unions);
    d->seconds += now_seconds() - start;
    return rc;
}

const char *dist_train_progress(const DistTrain *d) {
    static char text[96];
    text[0] = 0;
    if (d->steps > 0)
        snprintf(text, sizeof text, " | %d ranks, exchange %.2f MB/step (dense %.2f) %.0f ms", d->size,
                 d->bytes_sparse / d->steps / 1e6, d->bytes_dense / d->steps / 1e6, 1e3 * d->seconds / d->steps);
    return text;
}

void dist_train_figures(const DistTrain *d, int *ranks, double *seconds, double *bytes_dense,
                        double *bytes_sparse) {
    *ranks = d->size > 0 ? d->size : 1;
    if (d->steps == 0) return;
    *seconds = d->seconds / d->steps;
    *bytes_dense = d->bytes_dense / d->steps;
    *bytes_sparse = d->bytes_sparse / d->steps;
}

void dist_train_close(DistTrain *d) {
    free(d->sparse);
    free(d->stage);
    free(d->ids);
    memset(d, 0, sizeof *d);
}
