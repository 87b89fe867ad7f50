#include "util/hash.h"

#define FNV1A64_PRIME 0x100000001b3ULL

uint64_t fnv1a64(uint64_t hash, const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) hash = (hash ^ p[i]) * FNV1A64_PRIME;
    return hash;
}

uint64_t fnv1a64_string(uint64_t hash, const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) hash = (hash ^ *c) * FNV1A64_PRIME;
    return hash;
}
