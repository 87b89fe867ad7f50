/* MeKi: the folded model equals the training form for every variant; accounting matches
 * closed forms; a MeKi model's dense part is the dense model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/adamw.h"
#include "deploy/fold.h"
#include "models/meki.h"
#include "models/model.h"
#include "util/rng.h"

enum { B = 2, T = 8 };

static void small_config(ModelConfig *c) {
    model_preset(c, "tiny");
    c->vocab_size = 300;
    c->d_model = 32;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->ffn_hidden = 48;
    c->seq_len = T;
    c->memory = memory_kind_parse("meki");
    meki_config(c)->d_mem = 8;
}

static void batch(int32_t *tokens, int32_t *targets, int V, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < B * T; i++) {
        tokens[i] = (int32_t)rng_below(&rng, (uint64_t)V);
        targets[i] = (int32_t)rng_below(&rng, (uint64_t)V);
    }
}

static void jitter(Model *m, uint64_t seed, float amount) {
    Rng rng;
    rng_seed(&rng, seed);
    for (long i = 0; i < m->params.total; i++) m->params.data[i] += amount * rng_normal(&rng);
}

/* A few AdamW steps so the fold is also checked on trained (not just random) weights. */
static void train_steps(Model *m, int steps) {
    int32_t tokens[B * T], targets[B * T];
    AdamWSettings s = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int step = 0; step < steps; step++) {
        batch(tokens, targets, m->cfg.vocab_size, 100 + step);
        params_zero_grad(&m->params);
        model_forward(m, tokens, targets, B, T);
        model_backward(m);
        params_adamw_step(&m->params, &s, step + 1);
    }
}

/* Largest |a - b| relative to the largest |b|, over the logits of one batch. */
static double fold_error(Model *trained, double *loss_gap) {
    Model folded;
    assert_int_equal(model_fold(trained, &folded), 0);
    assert_int_equal(model_reserve(&folded, B, T), 0);
    int32_t tokens[B * T], targets[B * T];
    batch(tokens, targets, trained->cfg.vocab_size, 42);
    double loss_a = model_forward(trained, tokens, targets, B, T);
    double loss_b = model_forward(&folded, tokens, targets, B, T);
    long n = (long)B * T * trained->cfg.vocab_size;
    double diff = 0, scale = 0;
    for (long i = 0; i < n; i++) {
        diff = fmax(diff, fabs(trained->logits[i] - folded.logits[i]));
        scale = fmax(scale, fabs(trained->logits[i]));
    }
    *loss_gap = fabs(loss_a - loss_b) / fabs(loss_a);
    model_free(&folded);
    return diff / scale;
}

static void test_fold_equals_training_form_for_every_variant(void **state) {
    int combos = 0;
    for (int memory = MEKI_STATIC; memory <= MEKI_BOTH; memory++)
        for (int fusion = 0; fusion < 4; fusion++)
            for (int position = 0; position < 4; position++)
                for (int projector = 0; projector < 2; projector++) {
                    if (!(memory & MEKI_DYNAMIC) && projector) continue;   /* no projector to vary */
                    ModelConfig c;
                    small_config(&c);
                    meki_config(&c)->memory = memory;
                    meki_config(&c)->fusion = fusion;
                    meki_config(&c)->position = position;
                    meki_config(&c)->projector = projector;
                    Model m;
                    assert_int_equal(model_create(&m, &c, 0, 1), 0);
                    assert_int_equal(model_reserve(&m, B, T), 0);
                    model_init_weights(&m, 1);
                    jitter(&m, 2, 0.2f);
                    double gap, err = fold_error(&m, &gap);
                    train_steps(&m, 3);
                    double gap_trained, err_trained = fold_error(&m, &gap_trained);
                    if (err > 1e-5 || err_trained > 1e-5 || gap > 1e-5 || gap_trained > 1e-5)
                        fprintf(stderr, "%s %s %s %s: logits %.2e / %.2e, loss %.2e / %.2e\n",
                                meki_memory_name(memory), meki_fusion_name(fusion),
                                meki_position_name(position), meki_projector_name(projector), err,
                                err_trained, gap, gap_trained);
                    assert_true(err < 1e-5 && err_trained < 1e-5);
                    assert_true(gap < 1e-5 && gap_trained < 1e-5);
                    model_free(&m);
                    combos++;
                }
    fprintf(stderr, "fold equivalence held for %d variants\n", combos);
    assert_int_equal(combos, 4 * 4 + 2 * 4 * 4 * 2);   /* 80: the projector varies only with G */
}

static void test_folding_a_dense_model_is_refused(void **state) {
    ModelConfig c;
    small_config(&c);
    c.memory = MEMORY_NONE;
    Model m, folded;
    assert_int_equal(model_create(&m, &c, 0, 0), 0);
    assert_int_equal(model_fold(&m, &folded), 2);
    model_free(&m);
}

/* RAM params, ROM weights and FLOPs against closed forms written out by hand. */
static void test_accounting_closed_forms(void **state) {
    ModelConfig c;
    small_config(&c);
    c.tie_embeddings = 1;
    Model dense, meki, folded;
    ModelConfig cd = c;
    cd.memory = MEMORY_NONE;
    assert_int_equal(model_create(&dense, &cd, 0, 0), 0);
    assert_int_equal(model_create(&meki, &c, 0, 0), 0);
    assert_int_equal(model_create(&folded, &c, 1, 0), 0);
    Accounting a_dense, a_meki, a_folded;
    model_accounting(&dense, &a_dense);
    model_accounting(&meki, &a_meki);
    model_accounting(&folded, &a_folded);
    long V = 300, d = 32, L = 2, F = 48, hd = 8, H = 4, KV = 2, m = 8;
    long layer = d + d * H * hd + 2 * d * KV * hd + H * hd * d + 2 * hd + d + 3 * d * F;
    assert_int_equal(a_dense.ram_params, V * d + L * layer + d);
    long meki_ram = L * (m * d + d * m + d);
    assert_int_equal(a_meki.ram_params, a_dense.ram_params + meki_ram);
    assert_int_equal(a_folded.ram_params, a_meki.ram_params);
    assert_int_equal(a_meki.rom_weights, L * V * m);
    assert_int_equal(a_folded.rom_weights, L * V * m);
    long training_only = L * (V * m + 2 * (d / 2) * d + m * (d / 2) + 2 + m);
    assert_int_equal(a_meki.training_params, a_meki.ram_params + training_only);
    double inference_extra = 2.0 * L * 2 * d * m;
    double train_extra = 3 * 2.0 * L * (2 * d * m + 2 * d * (d / 2) + (d / 2) * m);
    assert_true(fabs(a_meki.inference_flops_per_token - a_dense.inference_flops_per_token - inference_extra) < 1e-6);
    assert_true(fabs(a_meki.train_flops_per_token - a_dense.train_flops_per_token - train_extra) < 1e-6);
    model_free(&dense);
    model_free(&meki);
    model_free(&folded);
}

/* Per-tensor seeding: the dense part of a MeKi model starts as the dense model, and with
 * the MeKi outputs zeroed (output-norm gains 0) both give the same logits bit for bit. */
static void test_dense_is_meki_without_memory(void **state) {
    ModelConfig c, cd;
    small_config(&c);
    cd = c;
    cd.memory = MEMORY_NONE;
    Model dense, meki;
    assert_int_equal(model_create(&dense, &cd, 0, 0), 0);
    assert_int_equal(model_create(&meki, &c, 0, 0), 0);
    model_init_weights(&dense, 9);
    model_init_weights(&meki, 9);
    for (int i = 0; i < dense.params.count; i++) {
        const ParamTensor *t = &dense.params.tensors[i], *u = params_find(&meki.params, t->name);
        assert_non_null(u);
        assert_memory_equal(dense.params.data + t->offset, meki.params.data + u->offset,
                            sizeof(float) * (size_t)t->numel);
    }
    MekiState *st = meki.memory;
    for (int l = 0; l < c.n_layers; l++) memset(st->w[l].out_norm, 0, sizeof(float) * c.d_model);
    model_reserve(&dense, B, T);
    model_reserve(&meki, B, T);
    int32_t tokens[B * T], targets[B * T];
    batch(tokens, targets, c.vocab_size, 5);
    double a = model_forward(&dense, tokens, targets, B, T);
    double b = model_forward(&meki, tokens, targets, B, T);
    assert_true(a == b);
    assert_memory_equal(dense.logits, meki.logits, sizeof(float) * B * T * c.vocab_size);
    model_free(&dense);
    model_free(&meki);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_equals_training_form_for_every_variant),
        cmocka_unit_test(test_folding_a_dense_model_is_refused),
        cmocka_unit_test(test_accounting_closed_forms),
        cmocka_unit_test(test_dense_is_meki_without_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
