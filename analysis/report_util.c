/* Helpers the report's sections share: findings, legend labels, file names. Kept out of
 * report.c, which only dispatches to the sections. */
#include "analysis/analysis.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

Finding *report_add_finding(Report *r, const char *section, const char *claim, const char *paper) {
    if (r->n_findings == r->capacity) {
        r->capacity = r->capacity ? 2 * r->capacity : 32;
        Finding *grown = realloc(r->findings, (size_t)r->capacity * sizeof *grown);
        if (!grown) abort();
        r->findings = grown;
    }
    Finding *f = &r->findings[r->n_findings++];
    memset(f, 0, sizeof *f);
    snprintf(f->section, sizeof f->section, "%s", section);
    snprintf(f->claim, sizeof f->claim, "%s", claim);
    snprintf(f->paper, sizeof f->paper, "%s", paper);
    f->verdict = -1, f->noise_exceeded = -1;
    return f;
}

void short_label(char *out, size_t size, const char *variant) {
    size_t used = 0;
    out[0] = 0;
    for (const char *p = variant; *p && used + 1 < size;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p + strcspn(p, " ,"), *equals = memchr(p, '=', (size_t)(end - p));
        const char *value = equals ? equals + 1 : p;
        if (end - value == 4 && !strncmp(value, "none", 4) && equals && !strncmp(p, "memory.kind=", 12))
            value = "dense", end = value + 5;   /* memory.kind=none is the dense baseline */
        if (end > value)
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? " " : "", (int)(end - value), value);
        p = end;
    }
    if (!out[0]) snprintf(out, size, "%s", variant);
}

void sanitize_name(char *out, size_t size, const char *text) {
    size_t i = 0;
    for (; text[i] && i + 1 < size; i++)
        out[i] = isalnum((unsigned char)text[i]) || text[i] == '-' || text[i] == '.' ? text[i] : '_';
    out[i] = 0;
}
