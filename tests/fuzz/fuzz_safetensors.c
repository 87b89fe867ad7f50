/* safetensors_open on arbitrary bytes, then every lookup a loader makes: each tensor by
 * name, its F32 view when the dtype says so, and each metadata key. */
#include "formats/safetensors.h"
#include "tests/fuzz/fuzz_common.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "input.safetensors", data, size);
    SafeTensors st;
    if (safetensors_open(&st, path)) return 0;
    for (int i = 0; i < st.count; i++) {
        const SafeTensorInfo *t = safetensors_find(&st, st.tensors[i].name);
        if (!t) abort();   /* every listed tensor must be found by its name */
        long numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= t->shape[d];
        if (strcmp(t->dtype, "F32")) continue;
        const unsigned char *v = safetensors_f32(&st, t->name, numel);
        if (v && numel > 0) {   /* unaligned bytes: copied out, as the loaders do */
            float first, last;
            memcpy(&first, v, sizeof first);
            memcpy(&last, v + 4 * (numel - 1), sizeof last);
            fuzz_sink += first + last;
        }
    }
    for (int i = 0; i < st.meta_count; i++)
        if (!safetensors_meta(&st, st.meta_keys[i])) abort();
    safetensors_close(&st);
    return 0;
}
