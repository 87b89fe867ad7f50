#include "util/sysmem.h"
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

size_t system_memory_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t bytes;
    if (pages <= 0 || page <= 0 || size_mul(&bytes, (size_t)pages, (size_t)page)) return SIZE_MAX;
    return bytes;
}

void memory_text(char *out, size_t size, double bytes) {
    static const char *UNITS[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) { bytes /= 1024; u++; }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", bytes, UNITS[u]);
}
