/* The machine's memory read bandwidth, measured: the limit a memory-bound kernel (decode's
 * matrix-vector products) is held against. */
#ifndef KERNELS_MEMBW_H
#define KERNELS_MEMBW_H
#include <stddef.h>

/* Best of `trials` streaming reads of a `bytes` buffer (far past the last-level cache:
 * 256 MiB by default when bytes is 0) by `threads` threads, in GB/s (1e9 bytes/s); 0 if
 * the buffer cannot be allocated. */
double memory_read_gbps(size_t bytes, int threads, int trials);
#endif
