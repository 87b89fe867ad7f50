/* Checksums and hashes shared by the data files: 64-bit FNV-1a, byte order independent
 * and simple enough to reimplement in any language that reads our files. */
#ifndef DATA_CHECKSUM_H
#define DATA_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

#define CHECKSUM_SEED 0xcbf29ce484222325ULL

/* Continue a checksum over more bytes; start with CHECKSUM_SEED. */
uint64_t checksum_update(uint64_t state, const void *data, size_t bytes);
static inline uint64_t checksum_bytes(const void *data, size_t bytes) {
    return checksum_update(CHECKSUM_SEED, data, bytes);
}

/* Little-endian field access for file headers, independent of the host's byte order. */
static inline void store_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void store_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t load_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static inline uint64_t load_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
#endif
