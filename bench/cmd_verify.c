/* ./meki verify: read a bundle's ROM tables in full against their checksums. Loads
 * (decode, eval, bench) check only the header and sizes, so that a deploy never has to
 * make the whole table resident; fold verifies what it wrote, this checks it later. */
#include "bench/args.h"
#include "bench/commands.h"
#include "deploy/fold.h"
#include "util/error.h"
#include <stdio.h>
#include <unistd.h>

int cmd_verify(int argc, char **argv) {
    const char *bundle = NULL, *dtype_text = NULL;
    ArgSpec specs[] = {
        {"--bundle", ARG_STRING, &bundle, "deploy bundle folder", 0, 0},
        {"--table-dtype", ARG_STRING, &dtype_text, "one table: f32|f16|bf16|q8_0|q4_0 (default: every table present)", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL, "--bundle DIR [--table-dtype D]");
    if (rc) return rc == 1 ? 0 : rc;
    if (!bundle) { fprintf(stderr, "meki verify: --bundle is required\n"); return 2; }
    int only = -1, checked = 0;
    if (dtype_text && (only = table_dtype_parse(dtype_text)) < 0) {
        fprintf(stderr, "meki verify: --table-dtype: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)\n", dtype_text);
        return 2;
    }
    for (int d = TABLE_F32; d <= TABLE_Q4; d++) {
        char path[4096];
        bundle_table_path(path, sizeof path, bundle, (TableDtype)d);
        if ((only >= 0 && d != only) || (only < 0 && access(path, F_OK) != 0)) continue;
        if ((rc = bundle_verify(bundle, (TableDtype)d))) {
            fprintf(stderr, "meki verify: %s\n", error_message());
            return rc;
        }
        printf("ok %s\n", path);
        checked++;
    }
    if (!checked) { fprintf(stderr, "meki verify: %s: no ROM table in the bundle\n", bundle); return 2; }
    return 0;
}
