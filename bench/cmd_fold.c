/* ./meki fold: re-parameterise a trained MeKi checkpoint into a deploy bundle. */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/report.h"
#include "train/checkpoint.h"
#include "deploy/fold.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/timer.h"
#include <stdio.h>
#include <string.h>

/* "f32,q8" -> dtypes; returns the count or -1 naming the bad one */
static int parse_dtypes(const char *text, TableDtype *out) {
    char buf[256];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        int d = table_dtype_parse(tok);
        if (d < 0 || n >= 8) {
            fprintf(stderr, "meki fold: --table-dtype: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)\n", tok);
            return -1;
        }
        out[n++] = (TableDtype)d;
    }
    return n;
}

int cmd_fold(int argc, char **argv) {
    const char *checkpoint = NULL, *out = NULL, *dtype_text = "f32";
    int json = 0;
    ArgSpec specs[] = {
        {"--checkpoint", ARG_STRING, &checkpoint, "training run folder (checkpoint.safetensors)", 0, 0},
        {"--out", ARG_STRING, &out, "bundle folder to write", 0, 0},
        {"--table-dtype", ARG_STRING, &dtype_text, "ROM table dtypes, comma-separated: f32,f16,bf16,q8_0,q4_0 (q8, q4: aliases; default f32). "
         "q8_0/q4_0 rows narrower than 32 (or not a multiple of it) are not ggml blocks: one block per row in the harness's own layout (docs/DESIGN.md, Files)", 0, 0},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "--checkpoint DIR --out DIR [--table-dtype f32|f16|bf16|q8_0|q4_0]");
    if (rc) return rc == 1 ? 0 : rc;
    if (!checkpoint || !out) { fprintf(stderr, "meki fold: --checkpoint and --out are required\n"); return 2; }
    TableDtype dtypes[8];
    int n = parse_dtypes(dtype_text, dtypes);
    if (n == 0) fprintf(stderr, "meki fold: --table-dtype '%s' names no dtype (f32, f16, bf16, q8, q4)\n", dtype_text);
    if (n <= 0) return 2;
    if (args_check_out_dir("fold", "--out", out)) return 2;
    double start = now_seconds();
    Model trained, folded;
    TrainState state;
    if ((rc = checkpoint_load(&trained, checkpoint, 0, &state))) {
        fprintf(stderr, "meki fold: %s\n", error_message());
        return rc;
    }
    if ((rc = model_fold(&trained, &folded))) {
        fprintf(stderr, "meki fold: %s: %s\n", checkpoint, error_message());
        model_free(&trained);
        return rc;
    }
    rc = bundle_write(&folded, out, dtypes, n);
    if (rc) fprintf(stderr, "meki fold: %s\n", error_message());
    Accounting acc;
    model_accounting(&folded, &acc);
    if (!rc) {
        printf("folded %s -> %s in %.2f s\n", checkpoint, out, now_seconds() - start);
        report_accounting(&acc, stdout);
        Json j;
        json_begin(&j);
        json_string(&j, "bundle", out);
        json_int(&j, "ram_params", acc.ram_params);
        json_int(&j, "rom_weights", acc.rom_weights);
        json_number(&j, "inference_flops_per_token", acc.inference_flops_per_token);
        double f32_bytes = bundle_f32_table_bytes(&folded);
        for (int i = 0; i < n; i++) {
            char key[64], path[4096];
            bundle_table_path(path, sizeof path, out, dtypes[i]);
            long long bytes = file_size(path);
            snprintf(key, sizeof key, "rom_bytes_%s", table_dtype_name(dtypes[i]));
            json_int(&j, key, bytes);
            /* against an f32 table of the same shape, both without the header page */
            snprintf(key, sizeof key, "rom_ratio_%s", table_dtype_name(dtypes[i]));
            json_number(&j, key, (double)(bytes - ROM_PAGE) / f32_bytes);
            printf("table %s: %lld bytes (%s)\n", table_dtype_name(dtypes[i]), bytes, path);
        }
        if (json) printf("%s\n", json_end(&j));
        json_free(&j);
    }
    model_free(&folded);
    model_free(&trained);
    return rc;
}
