/* The one registry of memory variants: a variant is added by one line X(ITS_OPS) here
 * (the line declares the ops its file exports and lists them). The order gives each
 * variant its kind index, which only lives in memory (configs store the name). */
#include "models/memory.h"
#include <stdio.h>
#include <string.h>

#define MEMORY_VARIANTS(X) \
    X(MEKI_OPS)   /* models/meki.c */ \
    X(PLE_OPS)    /* models/ple.c */ \
    X(ENGRAM_OPS) /* models/engram.c */ \
    X(BIAS_OPS)   /* models/bias.c */ \
    /* new variants above this line */

#define DECLARE(ops) extern const MemoryOps ops;
#define ENTRY(ops) &ops,
MEMORY_VARIANTS(DECLARE)
static const MemoryOps *const VARIANTS[] = {MEMORY_VARIANTS(ENTRY)};
#undef DECLARE
#undef ENTRY
enum { VARIANT_COUNT = sizeof VARIANTS / sizeof VARIANTS[0] };
_Static_assert((int)VARIANT_COUNT <= (int)MEMORY_MAX_VARIANTS, "raise MEMORY_MAX_VARIANTS (models/config_types.h)");

int memory_variant_count(void) { return VARIANT_COUNT; }

const MemoryOps *memory_ops(MemoryKind kind) {
    return kind >= 1 && kind <= VARIANT_COUNT ? VARIANTS[kind - 1] : NULL;
}

MemoryKind memory_kind_of(const MemoryOps *ops) {
    for (int k = 0; k < VARIANT_COUNT; k++)
        if (VARIANTS[k] == ops) return k + 1;
    return MEMORY_NONE;
}

void *memory_config(const ModelConfig *c, const MemoryOps *ops) {
    MemoryKind k = memory_kind_of(ops);
    return k ? (void *)c->variant_config[k - 1].bytes : NULL;
}

const char *memory_kind_name(MemoryKind k) {
    const MemoryOps *ops = memory_ops(k);
    return ops ? ops->name : k == MEMORY_NONE ? "none" : "?";
}

void memory_kind_names(char *out, size_t size, const char *separator) {
    size_t used = (size_t)snprintf(out, size, "none");
    for (int k = 0; k < VARIANT_COUNT && used < size; k++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", separator, VARIANTS[k]->name);
}

int memory_kind_parse(const char *s) {
    if (!strcmp(s, "none")) return MEMORY_NONE;
    for (int k = 0; k < VARIANT_COUNT; k++)
        if (!strcmp(VARIANTS[k]->name, s)) return k + 1;
    return -1;
}

int memory_report_columns_sql(char *out, size_t size) {
    size_t used = 0;
    if (size) out[0] = 0;
    for (int k = 0; k < VARIANT_COUNT; k++) {
        const MemoryOps *ops = VARIANTS[k];
        for (int i = 0; i < ops->n_report_columns; i++) {
            const ReportColumn *r = &ops->report_columns[i];
            const char *sub = strchr(r->key, '.') + 1;
            char value[512];
            int n = snprintf(value, sizeof value, "coalesce(json_extract(j, '$.model.%s.%s'), "
                             "json_extract(j, '$.\"%s\"')%s%s)", ops->name, sub, r->key,
                             r->fallback ? ", " : "", r->fallback ? r->fallback : "");
            (void)n;
            int w = snprintf(used < size ? out + used : NULL, used < size ? size - used : 0,
                             "CASE WHEN kind = '%s' THEN %s%s%s%s%s END AS %s,\n", ops->name,
                             r->cast ? "CAST(" : "", value, r->cast ? " AS " : "",
                             r->cast ? r->cast : "", r->cast ? ")" : "", r->column);
            used += (size_t)w;
        }
    }
    return (int)used;
}
