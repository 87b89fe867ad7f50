/* A hostile checkpoint and tokenizer into the exports: input = one mode byte (bits 0-1:
 * --dtype f32 | f16 | q8_0 | q4_0, bit 2: HF folder instead of GGUF), 4 bytes little-endian
 * checkpoint length, the checkpoint, then tokenizer.bin (its checksum recomputed, so that
 * mutations reach the parser). Whatever loads goes through export_gguf or export_hf and
 * tokenizer_json_write; a GGUF written must start with its magic and hold its header. */
#include "deploy/export_gguf.h"
#include "deploy/export_hf.h"
#include "data/tokenizer_json.h"
#include "train/checkpoint.h"
#include "util/fileio.h"
#include "tests/fuzz/fuzz_common.h"

static const TableDtype DTYPES[4] = {TABLE_F32, TABLE_F16, TABLE_Q8, TABLE_Q4};

static void export_gguf_checked(const Model *m, const Tokenizer *tok, TableDtype dtype) {
    char path[700];
    snprintf(path, sizeof path, "%s/model.gguf", fuzz_dir());
    if (export_gguf(m, tok, path, dtype) == 0) {
        char *text;
        size_t bytes;
        if (read_file_max(path, 1LL << 30, &text, &bytes)) abort();
        if (bytes < 24 || memcmp(text, "GGUF", 4)) abort();
        fuzz_sink = (float)text[bytes - 1];
        free(text);
    }
    unlink(path);
}

static void export_hf_checked(const Model *m, const Tokenizer *tok) {
    char target[700], temp[800];
    snprintf(target, sizeof target, "%s/hf", fuzz_dir());
    if (temp_dir_create(temp, sizeof temp, target)) abort();
    if (export_hf(m, temp, tokenizer_eos_id(tok)) == 0 && tokenizer_json_write(tok, temp, m->cfg.seq_len) == 0) {
        char path[900];
        snprintf(path, sizeof path, "%s/config.json", temp);
        if (!file_exists(path)) abort();
    }
    remove_flat_dir(temp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    int mode = data[0];
    size_t checkpoint_bytes = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
    data += 5, size -= 5;
    if (checkpoint_bytes > size) checkpoint_bytes = size;
    char checkpoint[600], tokenizer[600];
    fuzz_write_file(checkpoint, sizeof checkpoint, "checkpoint.safetensors", data, checkpoint_bytes);
    size_t tok_bytes = size - checkpoint_bytes;
    uint8_t *copy = malloc(tok_bytes ? tok_bytes : 1);
    memcpy(copy, data + checkpoint_bytes, tok_bytes);
    if (tok_bytes >= 32) fuzz_fix_tokenizer_checksum(copy, tok_bytes);
    fuzz_write_file(tokenizer, sizeof tokenizer, "tokenizer.bin", copy, tok_bytes);
    free(copy);
    Model m;
    TrainState state;
    if (model_load_file(&m, checkpoint, 0, &state)) return 0;
    Tokenizer *tok;
    if (tokenizer_load(&tok, tokenizer) == 0) {
        if (mode & 4) export_hf_checked(&m, tok);
        else export_gguf_checked(&m, tok, DTYPES[mode & 3]);
        tokenizer_free(tok);
    }
    model_free(&m);
    return 0;
}
