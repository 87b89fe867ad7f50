/* A results database file from arbitrary bytes: opened read-only, its runs listed and
 * exported as CSV, then merged into a fresh database that is exported too. */
#include "runner/export.h"
#include "runner/store.h"
#include "tests/fuzz/fuzz_common.h"

static void count_row(void *user, const RunRow *row) { (*(int *)user)++; }

static void remove_db(const char *path) {
    char side[700];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-journal", path);
    unlink(side);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *sink;
    if (!sink) sink = fopen("/dev/null", "w");
    char path[600], fresh[600];
    snprintf(path, sizeof path, "%s/input.db", fuzz_dir());
    snprintf(fresh, sizeof fresh, "%s/fresh.db", fuzz_dir());
    remove_db(path);
    remove_db(fresh);
    fuzz_write_file(path, sizeof path, "input.db", data, size);
    Store *store;
    if (store_open_readonly(&store, path) == 0) {
        int rows = 0;
        store_list_runs(store, NULL, NULL, count_row, &rows);
        store_list_runs(store, "smoke", "done", count_row, &rows);
        export_runs_csv(store, sink);
        export_curves_csv(store, sink);
        store_close(store);
    }
    if (store_open(&store, fresh) == 0) {
        int taken = 0;
        if (store_merge(store, path, &taken) == 0) export_runs_csv(store, sink);
        store_close(store);
    }
    return 0;
}
