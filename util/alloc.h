/* The one allocator for float buffers. Every allocation is checked: a group of buffers made
 * for one purpose shares an Allocs whose flag any failure sets, so the caller checks once
 * and never misses one (model_reserve once checked 2 of its 35). */
#ifndef UTIL_ALLOC_H
#define UTIL_ALLOC_H
#include <stddef.h>

typedef struct {
    int failed;                 /* set by any allocation of the group that failed */
} Allocs;

/* n zeroed floats, 64-byte aligned (whole cache lines, for the vector loops); n = 0 gives a
 * valid one-float buffer. NULL when n floats overflow size_t or memory runs out, and then
 * a->failed is set (a may be NULL). Free with free(). */
float *floats_zeroed(Allocs *a, size_t n);
#endif
