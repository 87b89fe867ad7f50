#include "models/memory.h"
#include <stddef.h>

/* The one registry of memory variants: add a line here for a new one. */
const MemoryOps *memory_ops(MemoryKind kind) {
    switch (kind) {
    case MEMORY_MEKI: return &MEKI_OPS;
    case MEMORY_PLE: return &PLE_OPS;
    case MEMORY_ENGRAM: return &ENGRAM_OPS;
    case MEMORY_NONE: return NULL;
    }
    return NULL;
}
