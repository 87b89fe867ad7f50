#include "models/memory.h"
#include <stddef.h>

/* The one registry of memory variants: add a line here for a new one. */
const MemoryOps *memory_ops(MemoryKind kind) {
    switch (kind) {
    case MEMORY_MEKI: return &MEKI_OPS;
    case MEMORY_PLE:
    case MEMORY_ENGRAM:
    case MEMORY_NONE: return NULL;
    }
    return NULL;
}
