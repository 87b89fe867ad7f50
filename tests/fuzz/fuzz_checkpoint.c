/* A checkpoint file through model_load_file (config from metadata, model creation, every
 * tensor and the AdamW moments), then model_fold when the model has a foldable memory. */
#include "train/checkpoint.h"
#include "deploy/fold.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "checkpoint.safetensors", data, size);
    Model m;
    TrainState state;
    if (model_load_file(&m, path, 1, &state)) return 0;
    Model folded;   /* refused (ERR_INPUT) for dense and already folded models */
    if (model_fold(&m, &folded) == 0) model_free(&folded);
    model_free(&m);
    return 0;
}
