/* Bias (models/bias.c), a variant added through the registry alone: gradients of the
 * module and of a whole model against finite differences, the folded model against the
 * training form, the decode engine against the training forward (both forms, and from a
 * bundle's ROM table), and its key through the config field table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "train/checkpoint.h"
#include "infer/engine.h"
#include "deploy/fold.h"
#include "tests/memory_check.h"
#include "util/error.h"

enum { B = 2, T = 6 };

static void test_config(ModelConfig *c, const char *layers) {
    tiny_memory_config(c, memory_kind_parse("bias"), T);
    assert_true(c->memory > 0);
    assert_int_equal(model_config_set(c, "bias.layers", layers), 0);
    assert_int_equal(model_config_validate(c), 0);
}

static void create(Model *m, const ModelConfig *c, uint64_t seed) {
    assert_int_equal(model_create(m, c, 0, 1), 0);
    assert_int_equal(model_reserve(m, B, T), 0);
    model_init_weights(m, seed);
    jitter_params(m, 0.3f, NULL, seed + 1);   /* the tables start at zero */
}

static void test_module_gradients(void **state) {
    ModelConfig c;
    test_config(&c, "all");
    Model m;
    create(&m, &c, 1);
    random_tokens(m.tokens, B * T, 5, 3);   /* repeated tokens: their rows' gradients add */
    for (int l = 0; l < c.n_layers; l++)
        assert_int_equal(check_module_gradients(&m, l, "bias.", 24, 1e-3f, GRADIENT_TOLERANCE, 10 + l), 0);
    model_free(&m);
}

static void test_model_gradients(void **state) {
    ModelConfig c;
    test_config(&c, "1");   /* and a layer without the bias */
    c.tie_embeddings = 0;
    Model m;
    create(&m, &c, 5);
    int32_t tokens[B * T], targets[B * T];
    random_tokens(tokens, B * T, 7, 6);
    random_tokens(targets, B * T, c.vocab_size, 7);
    assert_int_equal(check_model_gradients(&m, tokens, targets, B, T, 10, NULL, 1e-3f,
                                           (Tolerance){2e-2, 5e-3}, 8), 0);
    model_free(&m);
}

static void test_fold_equals_training_form(void **state) {
    ModelConfig c;
    test_config(&c, "all");
    Model m, folded;
    create(&m, &c, 11);
    int32_t tokens[3 * B * T], targets[3 * B * T];
    random_tokens(tokens, 3 * B * T, c.vocab_size, 12);
    random_tokens(targets, 3 * B * T, c.vocab_size, 13);
    double losses[5];
    train_fixed_batches(&m, tokens, targets, 3, B, T, 5, 1e-2f, losses);
    assert_true(losses[4] < losses[0]);
    assert_int_equal(model_fold(&m, &folded), 0);
    assert_int_equal(model_reserve(&folded, B, T), 0);
    double gap, err = fold_error(&m, &folded, tokens, targets, B, T, &gap);
    fprintf(stderr, "bias fold: logits %.2e, loss %.2e\n", err, gap);
    assert_true(err < 1e-5 && gap < 1e-5);
    Accounting a;
    model_accounting(&folded, &a);
    assert_int_equal(a.rom_weights, (long)c.n_layers * c.vocab_size * c.d_model);
    model_free(&folded);
    model_free(&m);
}

/* Largest |engine logit - training logit| over positions, relative to the largest logit:
 * token by token, then as one prefill (logits of the last position). */
static double engine_error(Model *m, const int32_t *tokens, int n) {
    int V = m->cfg.vocab_size;
    assert_int_equal(model_reserve(m, 1, n), 0);
    model_forward(m, tokens, NULL, 1, n);
    float *reference = copy_array(m->logits, (long)n * V);
    Engine e;
    assert_int_equal(engine_create(&e, m, n, 4), 0);
    double diff = 0, scale = 0;
    for (int p = 0; p < n; p++) {
        const float *logits = engine_forward(&e, tokens[p], p);
        assert_non_null(logits);
        for (int v = 0; v < V; v++) {
            diff = fmax(diff, fabs(logits[v] - reference[(long)p * V + v]));
            scale = fmax(scale, fabs(reference[(long)p * V + v]));
        }
    }
    const float *last = engine_prefill(&e, tokens, n, 0);
    for (int v = 0; v < V; v++) diff = fmax(diff, fabs(last[v] - reference[(long)(n - 1) * V + v]));
    engine_free(&e);
    free(reference);
    return diff / scale;
}

static void test_engine_equals_training_forward(void **state) {
    ModelConfig c;
    test_config(&c, "last:1");
    Model m, folded, loaded;
    create(&m, &c, 31);
    int32_t tokens[T];
    random_tokens(tokens, T, c.vocab_size, 32);
    double unfolded_err = engine_error(&m, tokens, T);
    assert_int_equal(model_fold(&m, &folded), 0);
    double folded_err = engine_error(&folded, tokens, T);
    char dir[] = "/tmp/meki-test-bias-XXXXXX";
    assert_non_null(mkdtemp(dir));
    TableDtype f32 = TABLE_F32;
    assert_int_equal(bundle_write(&folded, dir, &f32, 1), 0);
    assert_int_equal(bundle_load(&loaded, dir, TABLE_F32), 0);
    assert_int_equal(loaded.rom->n_tables, 1);
    assert_int_equal(loaded.rom->layer[0], c.n_layers - 1);
    assert_int_equal(loaded.rom->width, c.d_model);
    double bundle_err = engine_error(&loaded, tokens, T);
    fprintf(stderr, "bias engine vs training forward: unfolded %.2e, folded %.2e, bundle %.2e\n",
            unfolded_err, folded_err, bundle_err);
    assert_true(unfolded_err < 1e-5 && folded_err < 1e-5 && bundle_err < 1e-5);
    model_free(&loaded);
    model_free(&folded);
    model_free(&m);
    char command[256];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

/* bias.layers goes through the generic field table: set, resolved, written back. */
static void test_config_field(void **state) {
    ModelConfig c;
    test_config(&c, "every:2");
    int found = 0;
    for (int i = 0; i < model_config_field_count(); i++) {
        if (strcmp(model_config_field_key(i), "bias.layers")) continue;
        char value[64];
        model_config_field_value(&c, i, value, sizeof value);
        assert_string_equal(value, "0");
        found = 1;
    }
    assert_true(found);
    assert_int_equal(model_config_set(&c, "bias.layers", "first:x"), ERR_INPUT);
    assert_string_equal(memory_kind_name(memory_kind_parse("bias")), "bias");
}

/* A file written before this variant existed lacks its keys: a model of another kind
 * loads with the variant's defaults, while a file of this kind must carry them. */
static void save_without_bias_keys(const ModelConfig *c, const char *path) {
    Model m;
    TrainState none = {0};
    assert_int_equal(model_create(&m, c, 0, 0), 0);
    model_init_weights(&m, 1);
    assert_int_equal(model_save_file(&m, path, &none), 0);
    model_free(&m);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char header[8192];
    size_t n = fread(header, 1, sizeof header, f);
    char *key = memmem(header, n, "\"bias.layers\"", 13);
    assert_non_null(key);
    key[1] = 'x';   /* same length: the header stays valid, the key is gone */
    fseek(f, key + 1 - header, SEEK_SET);
    fputc('x', f);
    fclose(f);
}

static void test_older_files_without_the_keys(void **state) {
    char dir[] = "/tmp/meki-test-bias-old-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    ModelConfig c;
    test_config(&c, "0");
    c.memory = memory_kind_parse("meki");
    assert_int_equal(model_config_validate(&c), 0);
    save_without_bias_keys(&c, path);
    Model loaded;
    TrainState s;
    assert_int_equal(model_load_file(&loaded, path, 0, &s), 0);
    assert_int_equal(loaded.cfg.memory, memory_kind_parse("meki"));
    model_free(&loaded);
    test_config(&c, "0");
    save_without_bias_keys(&c, path);
    assert_int_equal(model_load_file(&loaded, path, 0, &s), ERR_INPUT);
    assert_non_null(strstr(error_message(), "lacks bias.layers"));
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_gradients),
        cmocka_unit_test(test_model_gradients),
        cmocka_unit_test(test_fold_equals_training_form),
        cmocka_unit_test(test_engine_equals_training_forward),
        cmocka_unit_test(test_config_field),
        cmocka_unit_test(test_older_files_without_the_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
