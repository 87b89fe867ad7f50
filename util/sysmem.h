/* Size arithmetic that cannot wrap, and the machine's memory, for refusing requests that
 * could never fit before anything is allocated. */
#ifndef UTIL_SYSMEM_H
#define UTIL_SYSMEM_H
#include <stddef.h>

/* *out = a * b; returns 0, or -1 (out untouched) when the product does not fit a size_t. */
static inline int size_mul(size_t *out, size_t a, size_t b) {
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) return -1;
    *out = r;
    return 0;
}
/* *out = a + b; returns 0, or -1 on overflow. */
static inline int size_add(size_t *out, size_t a, size_t b) {
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) return -1;
    *out = r;
    return 0;
}

/* Physical memory of the machine in bytes (RAM, without swap); SIZE_MAX if unknown. */
size_t system_memory_bytes(void);
/* The kernel's accounting of this process: a "Name:   123 kB" line of /proc/self/status in
 * bytes (VmRSS, VmHWM, RssAnon: private, RssFile: file-backed); 0 if absent. */
size_t process_status_bytes(const char *name);
/* Resident bytes of the mapping that starts at `start` (its Rss in /proc/self/smaps): the
 * file pages this process has mapped of one file; 0 if not found. */
size_t mapping_resident_bytes(const void *start);
/* "12.3 GiB" style text of bytes into out. */
void memory_text(char *out, size_t size, double bytes);
/* The process's peak RSS (VmHWM) in bytes since it started or since peak_rss_reset; 0 if
 * unknown. getrusage's ru_maxrss cannot be reset: in a sweep it was the lifetime peak. */
size_t peak_rss_bytes(void);
/* Restarts the peak at the current RSS, after handing freed heap back to the kernel, so a
 * measurement's peak is its own, not an earlier training's. 0, or -1 if the kernel cannot. */
int peak_rss_reset(void);
#endif
