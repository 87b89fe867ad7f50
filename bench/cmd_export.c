/* ./meki export: a checkpoint or bundle in formats other tools read (models/export_hf.h,
 * models/export_gguf.h, data/tokenizer_json.h). */
#include "bench/args.h"
#include "bench/commands.h"
#include "data/dataset.h"
#include "data/tokenizer_json.h"
#include "train/checkpoint.h"
#include "deploy/export_gguf.h"
#include "deploy/export_hf.h"
#include "deploy/fold.h"
#include "util/error.h"
#include <stdio.h>
#include <string.h>

static int load(Model *m, const char *checkpoint, const char *bundle, const char *dtype_text) {
    TrainState state;
    if (checkpoint) return checkpoint_load(m, checkpoint, 0, &state);
    int dtype = table_dtype_parse(dtype_text);
    if (dtype < 0) return error_set(ERR_INPUT, "--table-dtype: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)", dtype_text);
    return bundle_load(m, bundle, (TableDtype)dtype);
}

static int run(Model *m, const char *format, const char *out, const char *data_dir, const char *dtype_text) {
    char default_data[4096], path[4096];
    if (!data_dir) {
        DataOptions options = {.vocab_size = m->cfg.vocab_size};
        data_default_dir(default_data, sizeof default_data, &options);
        data_dir = default_data;
    }
    snprintf(path, sizeof path, "%s/tokenizer.bin", data_dir);
    Tokenizer *tok = NULL;
    int rc = tokenizer_load(&tok, path);
    if (!rc && tokenizer_vocab_size(tok) != m->cfg.vocab_size)
        rc = error_set(ERR_INPUT, "%s has %d tokens but the model %d: wrong --data", path,
                       tokenizer_vocab_size(tok), m->cfg.vocab_size);
    if (!rc && !strcmp(format, "hf")) {
        rc = export_hf(m, out);
        if (!rc) rc = tokenizer_json_write(tok, out, m->cfg.seq_len);
    } else if (!rc) {
        int dtype = table_dtype_parse(dtype_text);
        rc = dtype < 0 ? error_set(ERR_INPUT, "--dtype: unknown dtype '%s' (f32, f16, q8_0, q4_0)", dtype_text)
                       : export_gguf(m, tok, out, (TableDtype)dtype);
    }
    tokenizer_free(tok);
    return rc;
}

int cmd_export(int argc, char **argv) {
    const char *checkpoint = NULL, *bundle = NULL, *format = NULL, *out = NULL, *data_dir = NULL;
    const char *table_dtype = "f32", *dtype = "f32";
    ArgSpec specs[] = {
        {"--checkpoint", ARG_STRING, &checkpoint, "training run folder", 0, 0},
        {"--bundle", ARG_STRING, &bundle, "deploy bundle folder (hf only)", 0, 0},
        {"--table-dtype", ARG_STRING, &table_dtype, "which ROM table of the bundle (default f32)", 0, 0},
        {"--format", ARG_STRING, &format, "hf (folder: model.safetensors, config.json, tokenizer.json) | gguf (file)", 0, 0},
        {"--out", ARG_STRING, &out, "output folder (hf) or file (gguf)", 0, 0},
        {"--dtype", ARG_STRING, &dtype, "gguf matrices: f32 | f16 | q8_0 | q4_0 (default f32)", 0, 0},
        {"--data", ARG_STRING, &data_dir, "prepared corpus folder with the tokenizer (default: ./meki data's)", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "(--checkpoint DIR | --bundle DIR) --format hf|gguf --out PATH [options]");
    if (rc) return rc == 1 ? 0 : rc;
    if (!checkpoint == !bundle) {
        fprintf(stderr, "meki export: give exactly one of --checkpoint or --bundle\n");
        return 2;
    }
    if (!format || (strcmp(format, "hf") && strcmp(format, "gguf"))) {
        fprintf(stderr, "meki export: --format must be hf or gguf\n");
        return 2;
    }
    if (!out) {
        fprintf(stderr, "meki export: --out is required\n");
        return 2;
    }
    Model m;
    if ((rc = load(&m, checkpoint, bundle, table_dtype))) {
        fprintf(stderr, "meki export: %s\n", error_message());
        return rc;
    }
    rc = run(&m, format, out, data_dir, dtype);
    if (rc) fprintf(stderr, "meki export: %s\n", error_message());
    else printf("exported %s -> %s (%s)\n", checkpoint ? checkpoint : bundle, out, format);
    model_free(&m);
    return rc;
}
