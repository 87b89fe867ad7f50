/* Checksums of the data files: 64-bit FNV-1a (util/hash.h), byte order independent and
 * simple enough to reimplement in any language that reads our files. */
#ifndef DATA_CHECKSUM_H
#define DATA_CHECKSUM_H
#include "util/byteorder.h"   /* the header fields beside the checksums */
#include "util/hash.h"
#include <stddef.h>
#include <stdint.h>

#define CHECKSUM_SEED FNV1A64_OFFSET

/* Continue a checksum over more bytes; start with CHECKSUM_SEED. */
static inline uint64_t checksum_update(uint64_t state, const void *data, size_t bytes) {
    return fnv1a64(state, data, bytes);
}
static inline uint64_t checksum_bytes(const void *data, size_t bytes) {
    return fnv1a64(CHECKSUM_SEED, data, bytes);
}
#endif
