#include "util/alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

float *floats_zeroed(Allocs *a, size_t n) {
    float *p = NULL;
    size_t count = n ? n : 1;
    /* rounded up to whole cache lines: aligned_alloc wants a multiple of the alignment */
    if (count <= (SIZE_MAX - 63) / sizeof(float)) {
        size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
        if ((p = aligned_alloc(64, bytes))) memset(p, 0, bytes);
    }
    if (!p && a) a->failed = 1;
    return p;
}
