/* experiment_load on an arbitrary INI file: parsing, key validation, grid expansion and
 * the canonical JSON of every resolved run. */
#include "runner/experiment.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "input.ini", data, size);
    ExperimentConfig *exp = calloc(1, sizeof *exp);   /* large: not on the stack */
    if (experiment_load(exp, path) == 0) {
        for (int i = 0; i < exp->n_runs; i++)
            if (!exp->runs[i].config_json || strlen(exp->runs[i].hash) != 16) abort();
        experiment_free(exp);
    }
    free(exp);
    return 0;
}
