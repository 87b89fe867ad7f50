#include "util/sysmem.h"
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t system_memory_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t bytes;
    if (pages <= 0 || page <= 0 || size_mul(&bytes, (size_t)pages, (size_t)page)) return SIZE_MAX;
    return bytes;
}

size_t process_status_bytes(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(name), kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, len) && line[len] == ':') { kb = strtoul(line + len + 1, NULL, 10); break; }
    if (f) fclose(f);
    return kb * 1024;
}

size_t mapping_resident_bytes(const void *start) {
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0;
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long from, to;
        if (sscanf(line, "%lx-%lx ", &from, &to) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            if (inside) break;   /* the next mapping: ours had no Rss line */
            inside = from == (unsigned long)(uintptr_t)start;
        } else if (inside && !strncmp(line, "Rss:", 4)) {
            kb = strtoul(line + 4, NULL, 10);
            break;
        }
    }
    if (f) fclose(f);
    return kb * 1024;
}

void memory_text(char *out, size_t size, double bytes) {
    static const char *UNITS[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) { bytes /= 1024; u++; }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", bytes, UNITS[u]);
}

size_t peak_rss_bytes(void) { return process_status_bytes("VmHWM"); }

int peak_rss_reset(void) {
    malloc_trim(0);   /* freed heap still counts as resident until handed back */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;   /* 5: reset the peak RSS (proc(5)) */
    return fclose(f) == 0 && ok ? 0 : -1;
}
