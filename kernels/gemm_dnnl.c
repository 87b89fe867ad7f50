#include "kernels/gemm_dnnl.h"
#include "util/error.h"
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A primitive is bound to its shape, strides, types, the sum post-op and the thread count
 * (oneDNN splits the work when the primitive is made), so all of these are the key. */
typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, accumulate, bf16, threads;
} Key;

typedef struct {
    Key key;
    dnnl_primitive_t primitive;
    dnnl_memory_t a, b, c;   /* handles set to the caller's buffers on each call */
    char impl[48];           /* the implementation oneDNN chose, e.g. brg:avx512_core */
    unsigned long used;
} Entry;

/* A model has about a dozen GEMM shapes per step (x2 for the trained precision, the tests a
 * few more); past this the least recently used entry makes room. */
enum { CACHE_SIZE = 96 };
static Entry cache[CACHE_SIZE];
static unsigned long clock_tick;
static dnnl_engine_t engine;
static dnnl_stream_t stream;

static int ready(void) {
    if (stream) return 1;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return 0;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(engine);
        engine = NULL;
        return 0;
    }
    return 1;
}

/* A rows x cols matrix, stored transposed (as [cols, rows]) when t. */
static void describe(dnnl_memory_desc_t *md, int rows, int cols, int ld, int t, dnnl_data_type_t type) {
    dnnl_dims_t dims = {rows, cols}, strides = {t ? 1 : ld, t ? ld : 1};
    dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

static void entry_free(Entry *e) {
    if (e->primitive) dnnl_primitive_destroy(e->primitive);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    memset(e, 0, sizeof *e);
}

static int entry_make(Entry *e, const Key *k) {
    dnnl_data_type_t in_type = k->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a_md, b_md, c_md;
    describe(&a_md, k->M, k->K, k->lda, k->ta, in_type);
    describe(&b_md, k->K, k->N, k->ldb, k->tb, in_type);
    describe(&c_md, k->M, k->N, k->ldc, 0, dnnl_f32);
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success;
    /* += as a sum post-op of scale 1: C + A@B in f32, rounded once, as sgemm's beta = 1 */
    if (ok && k->accumulate)
        ok = dnnl_post_ops_create(&ops) == dnnl_success && dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    const char *impl = NULL;
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success &&
         dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
         snprintf(e->impl, sizeof e->impl, "%s", impl) > 0 &&
         dnnl_primitive_create(&e->primitive, pd) == dnnl_success &&
         dnnl_memory_create(&e->a, &a_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->b, &b_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->c, &c_md, engine, DNNL_MEMORY_NONE) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        entry_free(e);
        return error_set(ERR_FAILURE, "oneDNN has no %s matmul for %d x %d x %d (transposes %d%d)",
                         k->bf16 ? "bf16" : "f32", k->M, k->K, k->N, k->ta, k->tb);
    }
    e->key = *k;
    return OK;
}

static Entry *lookup(const Key *k) {
    Entry *victim = &cache[0];
    for (int i = 0; i < CACHE_SIZE; i++) {
        Entry *e = &cache[i];
        if (e->primitive && !memcmp(&e->key, k, sizeof *k)) return e;
        if (!e->primitive || (victim->primitive && e->used < victim->used)) victim = e;
    }
    entry_free(victim);
    return entry_make(victim, k) ? NULL : victim;
}

int onednn_gemm(int ta, int tb, int M, int N, int K, const void *A, int lda, const void *B, int ldb,
              float *C, int ldc, int accumulate, int bf16) {
    if (!ready()) return error_set(ERR_FAILURE, "oneDNN: no CPU engine");
    Key k = {ta, tb, M, N, K, lda, ldb, ldc, accumulate != 0, bf16 != 0, omp_get_max_threads()};
    Entry *e = lookup(&k);
    if (!e) return -1;
    e->used = ++clock_tick;
    dnnl_memory_set_data_handle(e->a, (void *)A);
    dnnl_memory_set_data_handle(e->b, (void *)B);
    dnnl_memory_set_data_handle(e->c, C);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if (dnnl_primitive_execute(e->primitive, stream, 3, args) != dnnl_success || dnnl_stream_wait(stream) != dnnl_success)
        return error_set(ERR_FAILURE, "oneDNN: matmul %d x %d x %d failed", M, K, N);
    return OK;
}

/* What oneDNN picks, asked of a primitive of a model-like shape: its effective-ISA query
 * reports the ISA allowed (all), not the one this CPU has. */
const char *onednn_impl(int bf16) {
    static char names[2][48];
    char *name = names[bf16 != 0];
    if (!*name) {
        Entry *e = ready() ? lookup(&(Key){0, 1, 64, 64, 64, 64, 64, 64, 0, bf16 != 0, omp_get_max_threads()}) : NULL;
        snprintf(name, 48, "%s", e ? e->impl : "none");
    }
    return name;
}

int onednn_has_avx512(void) {
    static int known = -1;   /* asked on every f32 GEMM */
    if (known < 0) known = strstr(onednn_impl(0), "avx512") != NULL;
    return known;
}

int onednn_has_bf16(void) {
    const char *impl = onednn_impl(1);
    return strstr(impl, "bf16") != NULL || strstr(impl, "amx") != NULL;
}

void onednn_gemm_release(void) {
    for (int i = 0; i < CACHE_SIZE; i++) entry_free(&cache[i]);
}
