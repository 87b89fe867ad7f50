/* ./meki export: a checkpoint or bundle in formats other tools read (deploy/export_hf.h,
 * deploy/export_gguf.h, data/tokenizer_json.h). */
#include "bench/args.h"
#include "bench/commands.h"
#include "data/dataset.h"
#include "data/tokenizer_json.h"
#include "train/checkpoint.h"
#include "train/record.h"
#include "deploy/export_gguf.h"
#include "deploy/export_hf.h"
#include "deploy/fold.h"
#include "util/error.h"
#include "util/fileio.h"
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What an HF export folder holds: an existing --out with only these (and config.json) is an
 * earlier export and may be replaced; anything else there is the user's and is kept. */
static const char *const HF_FILES[] = {"model.safetensors", "config.json", "tokenizer.json",
                                       "tokenizer_config.json", "memory_table.safetensors"};

static int is_hf_file(const char *name) {
    for (size_t i = 0; i < sizeof HF_FILES / sizeof HF_FILES[0]; i++)
        if (!strcmp(name, HF_FILES[i])) return 1;
    return 0;
}

/* 1 when dir holds config.json and nothing but HF_FILES (and is thus an earlier export);
 * 0 for an empty folder too, which is simply taken. -1: something else is there. */
static int earlier_export(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int config = 0, other = 0, any = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        any = 1;
        if (!strcmp(e->d_name, "config.json")) config = 1;
        else if (!is_hf_file(e->d_name)) other = 1;
    }
    closedir(d);
    return !any ? 0 : config && !other ? 1 : -1;
}

/* Removes the export files in dir, then dir (a failed or replaced export). */
static void remove_export_dir(const char *dir) {
    char path[4200];
    for (size_t i = 0; i < sizeof HF_FILES / sizeof HF_FILES[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, HF_FILES[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Refusals of --out before anything is loaded or written, naming the flag. */
static int check_out(const char *format, const char *out) {
    struct stat st;
    if (stat(out, &st) != 0) return OK;
    int hf = !strcmp(format, "hf");
    if (hf && !S_ISDIR(st.st_mode))
        return error_set(ERR_INPUT, "--out %s is a file: the hf format writes a folder", out);
    if (!hf && S_ISDIR(st.st_mode))
        return error_set(ERR_INPUT, "--out %s is a folder: the gguf format writes one file", out);
    if (hf && earlier_export(out) < 0)
        return error_set(ERR_INPUT, "--out %s holds files other than an earlier export: "
                         "choose an empty or new folder", out);
    return OK;
}

static int load(Model *m, const char *checkpoint, const char *bundle, const char *dtype_text) {
    TrainState state;
    if (checkpoint) return checkpoint_load(m, checkpoint, 0, &state);
    int dtype = table_dtype_parse(dtype_text);
    if (dtype < 0) return error_set(ERR_INPUT, "--table-dtype: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)", dtype_text);
    /* loads skip the table's checksum; an export reads the whole table anyway, so it checks */
    int rc = bundle_load(m, bundle, (TableDtype)dtype);
    if (!rc && (rc = bundle_verify(bundle, (TableDtype)dtype))) model_free(m);
    return rc;
}

static int run(Model *m, const char *format, const char *out, const char *data_dir, const char *dtype_text) {
    char default_data[4096], chosen[4096];
    DataOptions options = {.vocab_size = m->cfg.vocab_size};
    data_default_dir(default_data, sizeof default_data, &options);
    /* the tokenizer the model was trained with, as eval and decode use (--data hash-checked) */
    int rc = record_data_dir(m->record, data_dir, default_data, chosen, sizeof chosen);
    if (rc) return rc;
    Tokenizer *tok = NULL;
    rc = dataset_tokenizer_load(chosen, m->cfg.vocab_size, &tok);
    if (!rc && !strcmp(format, "hf")) {
        /* the folder appears whole or not at all: written in a fresh temporary folder beside
         * --out (util/fileio.h), then swapped into place (an earlier export there is replaced) */
        char temp[4300];
        if (!(rc = temp_dir_create(temp, sizeof temp, out))) {
            rc = export_hf(m, temp, tokenizer_eos_id(tok));
            if (!rc) rc = tokenizer_json_write(tok, temp, m->cfg.seq_len);
            if (!rc) rc = dir_install(temp, out);
            if (rc) remove_export_dir(temp);
        }
    } else if (!rc) {
        int dtype = table_dtype_parse(dtype_text);
        rc = dtype < 0 ? error_set(ERR_INPUT, "--dtype: unknown dtype '%s' (f32, f16, q8_0, q4_0)", dtype_text)
                       : make_parent_dirs(out);
        if (!rc) rc = export_gguf(m, tok, out, (TableDtype)dtype);
        const char *differs = rc ? NULL : tokenizer_gpt2_split_differs(tok);
        if (differs)   /* llama.cpp has no pre-tokenizer that is the harness's: say when it matters */
            fprintf(stderr, "note: llama.cpp's gpt-2 pre-tokenizer may split some text unlike the harness: %s; "
                            "tokenizer.json (--format hf) gives the harness's ids\n", differs);
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
        {"--data", ARG_STRING, &data_dir, "prepared corpus folder with the tokenizer (default: the one the model was trained on)", 0, 0},
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
    if (check_out(format, out)) {
        fprintf(stderr, "meki export: %s\n", error_message());
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
