/* PLE: gradients of the module and of a whole model against finite differences, the
 * folded model against the training form (in memory and through a bundle), accounting
 * against closed forms, and a few training steps that lower the loss. */
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
#include "deploy/fold.h"
#include "models/ple.h"
#include "tests/memory_check.h"

enum { B = 2, T = 6 };

static void test_config(ModelConfig *c) {
    tiny_memory_config(c, memory_kind_parse("ple"), T);
    ple_config(c)->width = 6;
}

static void create(Model *m, const ModelConfig *c, uint64_t seed) {
    assert_int_equal(model_create(m, c, 0, 1), 0);
    assert_int_equal(model_reserve(m, B, T), 0);
    model_init_weights(m, seed);
    jitter_params(m, 0.3f, NULL, seed + 1);
}

static void test_module_gradients(void **state) {
    ModelConfig c;
    test_config(&c);
    Model m;
    create(&m, &c, 1);
    random_tokens(m.tokens, B * T, 5, 3);
    Rng rng;
    rng_seed(&rng, 4);
    for (long i = 0; i < (long)B * T * c.d_model; i++) m.embedded[i] = rng_normal(&rng);
    for (int l = 0; l < c.n_layers; l++)
        assert_int_equal(check_module_gradients(&m, l, "ple.", 24, 1e-3f, GRADIENT_TOLERANCE, 10 + l), 0);
    model_free(&m);
}

static void check_whole_model(const ModelConfig *c) {
    Model m;
    create(&m, c, 5);
    int32_t tokens[B * T], targets[B * T];
    random_tokens(tokens, B * T, 7, 6);
    random_tokens(targets, B * T, c->vocab_size, 7);
    assert_int_equal(check_model_gradients(&m, tokens, targets, B, T, 10, NULL, 1e-3f,
                                           (Tolerance){2e-2, 5e-3}, 8), 0);
    model_free(&m);
}

static void test_model_gradients(void **state) {
    ModelConfig c;
    test_config(&c);
    check_whole_model(&c);
    c.tie_embeddings = 0;            /* E reaches the loss only through the input and PLE */
    strcpy(ple_config(&c)->layers_spec, "1");  /* and a layer without PLE */
    ple_config(&c)->width = 20;                /* wider than d */
    check_whole_model(&c);
}

static void assert_fold_equivalent(Model *trained, const char *when) {
    Model folded;
    assert_int_equal(model_fold(trained, &folded), 0);
    assert_int_equal(model_reserve(&folded, B, T), 0);
    int32_t tokens[B * T], targets[B * T];
    random_tokens(tokens, B * T, trained->cfg.vocab_size, 42);
    random_tokens(targets, B * T, trained->cfg.vocab_size, 43);
    double gap, err = fold_error(trained, &folded, tokens, targets, B, T, &gap);
    fprintf(stderr, "ple fold %s: logits %.2e, loss %.2e\n", when, err, gap);
    assert_true(err < 1e-5 && gap < 1e-5);
    model_free(&folded);
}

static void test_fold_equals_training_form(void **state) {
    ModelConfig c;
    test_config(&c);
    c.d_model = 32;
    c.vocab_size = 300;   /* not a multiple of the fold's chunk */
    Model m;
    create(&m, &c, 11);
    assert_fold_equivalent(&m, "random weights");
    int32_t tokens[3 * B * T], targets[3 * B * T];
    random_tokens(tokens, 3 * B * T, c.vocab_size, 12);
    random_tokens(targets, 3 * B * T, c.vocab_size, 13);
    double losses[5];
    train_fixed_batches(&m, tokens, targets, 3, B, T, 5, 1e-2f, losses);
    assert_fold_equivalent(&m, "after training steps");
    model_free(&m);
}

/* A bundle (weights + f32 ROM table) gives the folded model's logits exactly, and the
 * table file holds one V x p table per PLE layer. */
static void test_bundle_round_trip(void **state) {
    ModelConfig c;
    test_config(&c);
    strcpy(ple_config(&c)->layers_spec, "0");
    Model m, folded, loaded;
    create(&m, &c, 21);
    assert_int_equal(model_fold(&m, &folded), 0);
    char dir[] = "/tmp/test_ple_XXXXXX";
    assert_non_null(mkdtemp(dir));
    TableDtype dtype = TABLE_F32;
    assert_int_equal(bundle_write(&folded, dir, &dtype, 1), 0);
    assert_int_equal(bundle_load(&loaded, dir, TABLE_F32), 0);
    assert_int_equal(loaded.rom->n_tables, 1);
    assert_int_equal(loaded.rom->rows, c.vocab_size);
    assert_int_equal(loaded.rom->width, ple_config(&c)->width);
    assert_int_equal(loaded.rom->layer[0], 0);
    model_reserve(&folded, B, T);
    model_reserve(&loaded, B, T);
    int32_t tokens[B * T], targets[B * T];
    random_tokens(tokens, B * T, c.vocab_size, 22);
    random_tokens(targets, B * T, c.vocab_size, 23);
    double a = model_forward(&folded, tokens, targets, B, T);
    double b = model_forward(&loaded, tokens, targets, B, T);
    assert_true(a == b);
    assert_memory_equal(folded.logits, loaded.logits, sizeof(float) * B * T * c.vocab_size);
    model_free(&loaded);
    model_free(&folded);
    model_free(&m);
    char command[256];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

/* The rows forward a decoder calls, one row at a time, gives the module's training forward
 * over the batch, in both forms. */
static void check_rows_forward(Model *m) {
    int d = m->cfg.d_model;
    long n = (long)B * T * d;
    random_tokens(m->tokens, B * T, m->cfg.vocab_size, 71);
    for (int i = 0; i < B * T; i++)
        memcpy(m->embedded + (long)i * d, m->embed + (long)m->tokens[i] * d, sizeof(float) * d);
    Rng rng;
    rng_seed(&rng, 72);
    float *expected = random_array(&rng, n, -1, 1), *got = copy_array(expected, n), *y = zero_array(d);
    PleActs a = {0};
    assert_int_equal(ple_acts_create(&a, &m->cfg, 1), 0);
    m->ops->forward(m, 1, expected, expected, B, T);
    for (int i = 0; i < B * T; i++)
        ple_rows_forward(m, 1, m->tokens + i, NULL, m->embedded + (long)i * d, got + (long)i * d,
                         got + (long)i * d, 1, &a, y);
    for (long i = 0; i < n; i++) assert_true(fabs(got[i] - expected[i]) < 1e-5);
    ple_acts_free(&a);
    free(expected); free(got); free(y);
}

static void test_rows_forward_equals_training_forward(void **state) {
    ModelConfig c;
    test_config(&c);
    Model m, folded;
    create(&m, &c, 70);
    check_rows_forward(&m);
    assert_int_equal(model_fold(&m, &folded), 0);
    assert_int_equal(model_reserve(&folded, B, T), 0);
    check_rows_forward(&folded);
    model_free(&folded);
    model_free(&m);
}

/* RAM params, ROM weights and FLOPs against closed forms written out by hand. */
static void test_accounting_closed_forms(void **state) {
    ModelConfig c, cd;
    test_config(&c);
    cd = c;
    cd.memory = MEMORY_NONE;
    Model dense, ple, folded;
    assert_int_equal(model_create(&dense, &cd, 0, 0), 0);
    assert_int_equal(model_create(&ple, &c, 0, 0), 0);
    assert_int_equal(model_create(&folded, &c, 1, 0), 0);
    Accounting a_dense, a_ple, a_folded;
    model_accounting(&dense, &a_dense);
    model_accounting(&ple, &a_ple);
    model_accounting(&folded, &a_folded);
    long V = 256, d = 16, L = 2, p = 6;
    assert_int_equal(a_ple.ram_params, a_dense.ram_params + L * (p * d + d * p + d));
    assert_int_equal(a_folded.ram_params, a_ple.ram_params);
    assert_int_equal(a_ple.rom_weights, L * V * p);
    assert_int_equal(a_folded.rom_weights, L * V * p);
    assert_int_equal(a_ple.training_params, a_ple.ram_params + L * (V * p + p * d + p));
    assert_int_equal(a_folded.training_params, a_folded.ram_params);
    double inference_extra = 2.0 * L * 2 * d * p, train_extra = 3 * 2.0 * L * 3 * d * p;
    assert_true(fabs(a_ple.inference_flops_per_token - a_dense.inference_flops_per_token - inference_extra) < 1e-6);
    assert_true(fabs(a_ple.train_flops_per_token - a_dense.train_flops_per_token - train_extra) < 1e-6);
    for (int l = 0; l < c.n_layers; l++) assert_int_equal(ple.ops->site(&ple, l), SITE_AFTER_FFN);
    model_free(&dense);
    model_free(&ple);
    model_free(&folded);
}

/* The dense part starts as the dense model, and with PLE's output gains at zero both give
 * the same logits bit for bit: PLE adds exactly its output to the residual stream. */
static void test_dense_is_ple_without_output(void **state) {
    ModelConfig c, cd;
    test_config(&c);
    cd = c;
    cd.memory = MEMORY_NONE;
    Model dense, ple;
    assert_int_equal(model_create(&dense, &cd, 0, 0), 0);
    assert_int_equal(model_create(&ple, &c, 0, 0), 0);
    model_init_weights(&dense, 9);
    model_init_weights(&ple, 9);
    PleState *st = ple.memory;
    for (int l = 0; l < c.n_layers; l++) memset(st->w[l].out_norm, 0, sizeof(float) * c.d_model);
    model_reserve(&dense, B, T);
    model_reserve(&ple, B, T);
    int32_t tokens[B * T], targets[B * T];
    random_tokens(tokens, B * T, c.vocab_size, 5);
    random_tokens(targets, B * T, c.vocab_size, 6);
    assert_true(model_forward(&dense, tokens, targets, B, T) == model_forward(&ple, tokens, targets, B, T));
    assert_memory_equal(dense.logits, ple.logits, sizeof(float) * B * T * c.vocab_size);
    model_free(&dense);
    model_free(&ple);
}

static void test_training_lowers_the_loss(void **state) {
    ModelConfig c;
    test_config(&c);
    Model m;
    assert_int_equal(model_create(&m, &c, 0, 1), 0);
    assert_int_equal(model_reserve(&m, B, T), 0);
    model_init_weights(&m, 31);
    enum { BATCHES = 4, STEPS = 40 };
    int32_t tokens[BATCHES * B * T], targets[BATCHES * B * T];
    random_tokens(tokens, BATCHES * B * T, c.vocab_size, 32);
    for (int i = 0; i < BATCHES * B * T; i++) targets[i] = (tokens[i] * 7 + 3) % c.vocab_size;
    double losses[STEPS];
    train_fixed_batches(&m, tokens, targets, BATCHES, B, T, STEPS, 1e-2f, losses);
    double first = (losses[0] + losses[1] + losses[2] + losses[3]) / 4;
    double last = (losses[STEPS - 4] + losses[STEPS - 3] + losses[STEPS - 2] + losses[STEPS - 1]) / 4;
    fprintf(stderr, "ple training: loss %.3f -> %.3f over %d steps\n", first, last, STEPS);
    assert_true(last < first - 1.0);
    model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_gradients),
        cmocka_unit_test(test_model_gradients),
        cmocka_unit_test(test_fold_equals_training_form),
        cmocka_unit_test(test_bundle_round_trip),
        cmocka_unit_test(test_rows_forward_equals_training_forward),
        cmocka_unit_test(test_accounting_closed_forms),
        cmocka_unit_test(test_dense_is_ple_without_output),
        cmocka_unit_test(test_training_lowers_the_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
