/* rom_table_open on arbitrary bytes: as given (checksum verified), then with the header's
 * checksum recomputed so that mutations reach the layout checks and the row decoding. */
#include "formats/romtable.h"
#include "tests/fuzz/fuzz_common.h"
#include "util/hash.h"
#include <math.h>

static void open_and_read(const char *path, int verify) {
    RomTable t;
    if (rom_table_open(&t, path, verify)) return;
    float *row = malloc(sizeof(float) * (size_t)t.width);
    for (int layer = 0; layer < ROM_MAX_TABLES; layer++) {
        if (t.slot_of_layer[layer] < 0) continue;
        for (int r = 0; r < t.rows; r += 1 + t.rows / 64) {   /* at most ~64 rows per table */
            rom_table_read_row(&t, layer, r, row);
            fuzz_sink += row[0] + row[t.width - 1];
        }
        rom_table_read_row(&t, layer, t.rows - 1, row);
    }
    free(row);
    rom_table_close(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "table.rom", data, size);
    open_and_read(path, 1);
    if (size < ROM_PAGE) return 0;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    uint64_t sum = fnv1a64(FNV1A64_OFFSET, copy + ROM_PAGE, size - ROM_PAGE);
    for (int i = 0; i < 8; i++) copy[64 + i] = (uint8_t)(sum >> 8 * i);
    fuzz_write_file(path, sizeof path, "table.rom", copy, size);
    free(copy);
    open_and_read(path, 1);
    return 0;
}
