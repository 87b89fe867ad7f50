#include "data/checksum.h"

uint64_t checksum_update(uint64_t state, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) {
        state ^= p[i];
        state *= 0x100000001b3ULL;
    }
    return state;
}
