/* The export writers read back: GGUF's tokenizer (every token's string, merges, the pre-tokenizer
 * llama.cpp needs, bos/eos) and tokenizer.json for a tokenizer holding tokens longer than 127
 * bytes; the HF config of a memory model (its own architecture, only its variant's settings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/checksum.h"
#include "data/tokenizer.h"
#include "data/tokenizer_json.h"
#include "deploy/export_gguf.h"
#include "deploy/export_hf.h"
#include "models/meki.h"
#include "models/model.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V = 300, LONG = 128 };

/* A tokenizer file of V tokens: 'a' doubled up to a run of 128 (token 262), then that run
 * followed by each of 37 other bytes (tokens 263..299, 129 bytes each). */
static Tokenizer *long_tokenizer(const char *path) {
    unsigned char file[32 + 4 * (V - 256)] = {0};
    memcpy(file, "MEKIBPE1", 8);
    uint32_t header[3] = {1, V, V - 256};
    memcpy(file + 8, header, sizeof header);
    for (int i = 0; i < V - 256; i++) {
        uint16_t pair[2] = {i == 0 ? 'a' : i < 7 ? (uint16_t)(255 + i) : 262, i == 0 ? 'a' : i < 7 ? (uint16_t)(255 + i) : (uint16_t)('b' + i - 7)};
        memcpy(file + 32 + 4 * i, pair, 4);
    }
    uint64_t sum = checksum_update(checksum_update(CHECKSUM_SEED, file, 24), file + 32, sizeof file - 32);
    memcpy(file + 24, &sum, 8);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(file, 1, sizeof file, f), sizeof file);
    fclose(f);
    Tokenizer *tok;
    assert_int_equal(tokenizer_load(&tok, path), OK);
    int length;
    tokenizer_token_bytes(tok, 263, &length);
    assert_int_equal(length, LONG + 1);
    return tok;
}

static char *slurp(const char *path, size_t *size) {
    char *text;
    assert_int_equal(read_file(path, &text, size), OK);
    return text;
}

/* The GGUF string at *at (u64 length, bytes), as a malloc'd C string. */
static char *gguf_string(const unsigned char *p, size_t *at) {
    uint64_t n;
    memcpy(&n, p + *at, 8);
    char *s = malloc(n + 1);
    memcpy(s, p + *at + 8, n);
    s[n] = 0;
    *at += 8 + n;
    return s;
}

/* Offset of the value of key in a GGUF header (after its type), or 0. */
static size_t gguf_find(const unsigned char *p, size_t size, const char *key) {
    size_t klen = strlen(key);
    for (size_t at = 24; at + 8 + klen + 4 <= size; at++) {
        uint64_t n;
        memcpy(&n, p + at, 8);
        if (n == klen && !memcmp(p + at + 8, key, klen)) return at + 8 + klen + 4;
    }
    return 0;
}

static void a_run(char *out, int n, const char *tail) {
    memset(out, 'a', (size_t)n);
    strcpy(out + n, tail);
}

static void test_gguf_long_tokens(void **state) {
    char dir[] = "/tmp/meki-export-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tokenizer.bin", dir);
    Tokenizer *tok = long_tokenizer(path);
    ModelConfig c;
    model_preset(&c, "tiny");
    c.vocab_size = V, c.d_model = 32, c.n_layers = 1, c.n_heads = 4, c.n_kv_heads = 2, c.ffn_hidden = 32, c.seq_len = 8;
    Model m;
    assert_int_equal(model_create(&m, &c, 0, 0), OK);
    model_init_weights(&m, 1);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    assert_int_equal(export_gguf(&m, tok, path, TABLE_F32), OK);
    size_t size;
    unsigned char *p = (unsigned char *)slurp(path, &size);

    size_t at = gguf_find(p, size, "tokenizer.ggml.pre");
    assert_true(at > 0);
    char *pre = gguf_string(p, &at);
    assert_string_equal(pre, "gpt-2");                       /* llama.cpp's nearest to data/bpe.c */
    free(pre);
    at = gguf_find(p, size, "tokenizer.ggml.tokens") + 12;   /* element type, count */
    char *tokens[V], want[LONG + 8];
    for (int id = 0; id < V; id++) tokens[id] = gguf_string(p, &at);
    a_run(want, LONG, "");
    assert_string_equal(tokens[262], want);
    a_run(want, LONG, "b");
    assert_string_equal(tokens[263], want);
    assert_string_equal(tokens[255], TOKENIZER_EOS_TEXT);
    for (int id = 1; id < V; id++)
        for (int other = 0; other < id; other++) assert_string_not_equal(tokens[id], tokens[other]);
    at = gguf_find(p, size, "tokenizer.ggml.token_type") + 12;
    int32_t type;
    memcpy(&type, p + at + 4 * 255, 4);
    assert_int_equal(type, 3);                               /* control: llama.cpp's eog */
    at = gguf_find(p, size, "tokenizer.ggml.merges") + 12;
    for (int i = 0; i < 8; i++) {
        char *merge = gguf_string(p, &at);
        if (i == 7) {
            a_run(want, LONG, " b");
            assert_string_equal(merge, want);
        }
        free(merge);
    }
    at = gguf_find(p, size, "tokenizer.ggml.eos_token_id");
    uint32_t eos;
    memcpy(&eos, p + at, 4);
    assert_int_equal(eos, 255);
    for (int id = 0; id < V; id++) free(tokens[id]);
    free(p);

    /* tokenizer.json: the long tokens under their own keys, none twice */
    assert_int_equal(tokenizer_json_write(tok, dir, 8), OK);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    char *json = slurp(path, &size), key[LONG + 16];
    a_run(want, LONG, "");
    snprintf(key, sizeof key, "\"%s\":262", want);
    assert_non_null(strstr(json, key));
    snprintf(key, sizeof key, "\"%s\",\"b\"]", want);            /* merge 7 */
    assert_non_null(strstr(json, key));
    a_run(want, LONG, "b");
    snprintf(key, sizeof key, "\"%s\":263", want);
    assert_non_null(strstr(json, key));
    assert_non_null(strstr(json, "\"" TOKENIZER_EOS_TEXT "\":255"));
    assert_non_null(strstr(json, "\"special\":true"));
    free(json);
    model_free(&m);
    tokenizer_free(tok);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

static void test_hf_memory_model_config(void **state) {
    ModelConfig c;
    model_preset(&c, "tiny");
    c.vocab_size = V, c.d_model = 32, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.ffn_hidden = 32, c.seq_len = 8;
    c.memory = memory_kind_parse("meki");
    meki_config(&c)->d_mem = 8;
    Model m;
    assert_int_equal(model_create(&m, &c, 0, 0), OK);
    model_init_weights(&m, 1);
    char dir[] = "/tmp/meki-export-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(export_hf(&m, dir, 255), OK);
    snprintf(path, sizeof path, "%s/config.json", dir);
    size_t size;
    char *json = slurp(path, &size);
    assert_non_null(strstr(json, "\"architectures\":[\"MekiForCausalLM\"]"));
    assert_non_null(strstr(json, "\"model_type\":\"meki\""));
    assert_null(strstr(json, "qwen3"));
    assert_null(strstr(json, "Qwen3"));
    assert_null(strstr(json, "ple."));                       /* only the active variant's settings */
    assert_null(strstr(json, "engram."));
    assert_non_null(strstr(json, "\"meki.d_mem\":8"));       /* typed: numbers, lists, booleans */
    assert_non_null(strstr(json, "\"meki.layers\":[0,1]"));
    assert_non_null(strstr(json, "\"folded\":false"));
    assert_non_null(strstr(json, "\"eos_token_id\":255"));
    free(json);
    model_free(&m);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_long_tokens),
        cmocka_unit_test(test_hf_memory_model_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
