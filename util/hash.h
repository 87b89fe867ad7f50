/* The one 64-bit FNV-1a of the harness. Data-file checksums, ROM-table checksums, parameter
 * initialisation seeds and run hashes are all built on it, so its values must never change
 * (tests/test_util.c pins them). */
#ifndef UTIL_HASH_H
#define UTIL_HASH_H
#include <stddef.h>
#include <stdint.h>

#define FNV1A64_OFFSET 0xcbf29ce484222325ULL

/* Continues the hash over n more bytes; start with FNV1A64_OFFSET (or any seed). */
uint64_t fnv1a64(uint64_t hash, const void *bytes, size_t n);
/* Continues the hash over the bytes of a NUL-terminated string. */
uint64_t fnv1a64_string(uint64_t hash, const char *text);
#endif
