/* Helpers the report's sections share: findings, legend labels, file names. Kept out of
 * report.c, which only dispatches to the sections. */
#include "analysis/analysis.h"
#include <ctype.h>
#include <math.h>
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
    f->verdict = f->verdict_adjusted = VERDICT_NOT_MEASURED;
    f->p = f->p_adjusted = NAN;
    snprintf(f->difference, sizeof f->difference, "–");
    snprintf(f->interval, sizeof f->interval, "–");
    snprintf(f->effect, sizeof f->effect, "–");
    snprintf(f->test, sizeof f->test, "–");
    return f;
}

void short_label(char *out, size_t size, const char *variant) {
    size_t used = 0;
    out[0] = 0;
    for (const char *p = variant; *p && used + 1 < size;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p + strcspn(p, " ,"), *equals = memchr(p, '=', (size_t)(end - p));
        const char *value = equals ? equals + 1 : p;
        int len = (int)(end - value);
        /* the memory kind and the preset read alone ("dense", "meki", "small"); every other
         * axis keeps its key's last part, so that "lr=0.003" is not a bare number */
        int alone = !equals || !strncmp(p, "memory.kind=", 12) || !strncmp(p, "model.preset=", 13);
        const char *key = p;
        for (const char *c = p; equals && c < equals; c++)
            if (*c == '.') key = c + 1;
        const char *sep = used ? " " : "";
        if (equals && !strncmp(p, "memory.kind=none", 16) && len == 4)
            used += (size_t)snprintf(out + used, size - used, "%sdense", sep);
        else if (len > 0 && alone)
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", sep, len, value);
        else if (len > 0)
            used += (size_t)snprintf(out + used, size - used, "%s%.*s=%.*s", sep, (int)(equals - key), key, len, value);
        if (used >= size) used = size - 1;
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

/* The swept axes of an experiment: the keys of its variant labels ("a.b=v c.d=w"), in
 * order of first appearance. */
void label_axes(const TextList *variants, TextList *axes) {
    for (int v = 0; v < variants->count; v++)
        for (const char *p = variants->items[v]; *p;) {
            while (*p == ' ' || *p == ',') p++;
            const char *end = p + strcspn(p, " ,"), *equals = memchr(p, '=', (size_t)(end - p));
            if (equals && axes->count < MAX_AXES) {
                char key[128];
                snprintf(key, sizeof key, "%.*s", (int)(equals - p), p);
                int seen = 0;
                for (int i = 0; i < axes->count && !seen; i++) seen = !strcmp(axes->items[i], key);
                if (!seen) text_list_add(axes, key);
            }
            p = end;
        }
}

/* The value of axis key in a label, or "" (the label does not name it). */
void label_value(char *out, size_t size, const char *variant, const char *key) {
    size_t n = strlen(key);
    out[0] = 0;
    for (const char *p = variant; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p + strcspn(p, " ,");
        if ((size_t)(end - p) > n && !strncmp(p, key, n) && p[n] == '=') {
            snprintf(out, size, "%.*s", (int)(end - p - n - 1), p + n + 1);
            return;
        }
        p = end;
    }
}
