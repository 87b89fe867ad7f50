/* The training recipe (issue 15): the init std and scaled output projections measured on a
 * freshly initialised model, and which tensors weight decay reaches under each setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models/model.h"
#include "models/meki.h"
#include "util/error.h"

/* The small preset's shape with MeKi (the paper's default variant, SwiGLU projector). */
static void small_meki(Model *m, const char *kind) {
    ModelConfig c;
    assert_int_equal(model_preset(&c, "small"), OK);
    assert_int_equal(model_config_set(&c, "memory.kind", kind), OK);
    assert_int_equal(model_create(m, &c, 0, 0), OK);
}

static double sample_std(const Model *m, const char *name) {
    const ParamTensor *t = params_find(&m->params, name);
    if (!t) fail_msg("no tensor %s", name);
    const float *p = m->params.data + t->offset;
    double sum = 0, squares = 0;
    for (long i = 0; i < t->numel; i++) sum += p[i];
    double mean = sum / t->numel;
    for (long i = 0; i < t->numel; i++) squares += (p[i] - mean) * (p[i] - mean);
    return sqrt(squares / (t->numel - 1));
}

static void assert_std(const Model *m, const char *name, double want) {
    double got = sample_std(m, name);
    /* the smallest matrix checked has 16k values: its sample std is within 1% at 2 sigma */
    if (fabs(got / want - 1) > 0.03) fail_msg("%s: sample std %.5f, expected %.5f", name, got, want);
}

static void test_init_std_and_scaled_outputs(void **state) {
    Model m;
    small_meki(&m, "meki");
    int L = m.cfg.n_layers;
    assert_true(L >= 2);
    model_init_weights_recipe(&m, 3, 0.014f, 0);
    static const char *const plain[] = {"embed_tokens.weight", "layers.0.self_attn.q_proj.weight",
                                        "layers.1.self_attn.o_proj.weight", "layers.1.mlp.down_proj.weight",
                                        "layers.0.mlp.gate_proj.weight", "layers.0.meki.table",
                                        "layers.0.meki.proj.down_proj.weight"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) assert_std(&m, plain[i], 0.014);
    model_init_weights_recipe(&m, 3, 0.014f, 1);
    double scaled = 0.014 / sqrt(2.0 * L);
    static const char *const outputs[] = {"layers.0.self_attn.o_proj.weight", "layers.1.mlp.down_proj.weight",
                                          "layers.0.meki.proj.down_proj.weight"};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) assert_std(&m, outputs[i], scaled);
    static const char *const others[] = {"embed_tokens.weight", "layers.0.self_attn.q_proj.weight",
                                         "layers.0.mlp.up_proj.weight", "layers.0.meki.table",
                                         "layers.0.meki.proj.up_proj.weight", "layers.0.meki.out.weight"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) assert_std(&m, others[i], 0.014);
    /* norms and gates stay ones whatever the recipe */
    const ParamTensor *norm = params_find(&m.params, "layers.0.input_layernorm.weight");
    assert_true(m.params.data[norm->offset] == 1.0f);
    model_free(&m);
}

/* The default recipe is the harness's init, value for value: runs made before it are
 * reproduced by the same seed. */
static void test_default_recipe_is_the_old_init(void **state) {
    Model a, b;
    small_meki(&a, "meki");
    small_meki(&b, "meki");
    model_init_weights(&a, 5);
    model_init_weights_recipe(&b, 5, 0.02f, 0);
    assert_int_equal(a.params.total, b.params.total);
    assert_memory_equal(a.params.data, b.params.data, sizeof(float) * (size_t)a.params.total);
    model_free(&a);
    model_free(&b);
}

static int decays(const Model *m, const char *name) {
    const ParamTensor *t = params_find(&m->params, name);
    if (!t) fail_msg("no tensor %s", name);
    return t->decay;
}

/* Which tensors AdamW decays: the harness's choice (no embedding, tables, scalars or
 * norms), or the reference's (every tensor of two or more dimensions), and back. */
static void test_decay_membership(void **state) {
    static const struct { const char *kind, *name; int own, all; } CASES[] = {
        {"meki", "embed_tokens.weight", 0, 1},
        {"meki", "layers.0.self_attn.q_proj.weight", 1, 1},
        {"meki", "layers.0.mlp.down_proj.weight", 1, 1},
        {"meki", "layers.0.meki.table", 0, 1},
        {"meki", "layers.0.meki.proj.down_proj.weight", 1, 1},
        {"meki", "layers.0.meki.alpha", 0, 0},
        {"meki", "layers.0.meki.beta", 0, 0},
        {"meki", "layers.0.meki.mix_norm.weight", 0, 0},
        {"meki", "layers.0.input_layernorm.weight", 0, 0},
        {"meki", "layers.0.self_attn.q_norm.weight", 0, 0},
        {"meki", "norm.weight", 0, 0},
        {"ple", "layers.0.ple.table", 0, 1},
        {"engram", "layers.1.engram.table", 0, 1},
        {"engram", "layers.1.engram.conv.weight", 0, 1},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        Model m;
        small_meki(&m, CASES[i].kind);
        if (decays(&m, CASES[i].name) != CASES[i].own) fail_msg("%s: declared decay wrong", CASES[i].name);
        params_set_decay(&m.params, 1);
        if (decays(&m, CASES[i].name) != CASES[i].all) fail_msg("%s: decay %d with all matrices", CASES[i].name,
                                                                 !CASES[i].all);
        params_set_decay(&m.params, 0);
        if (decays(&m, CASES[i].name) != CASES[i].own) fail_msg("%s: not restored", CASES[i].name);
        /* the reference's rule as stated: every >= 2-D tensor, no 1-D one */
        params_set_decay(&m.params, 1);
        for (int t = 0; t < m.params.count; t++)
            assert_int_equal(m.params.tensors[t].decay, m.params.tensors[t].ndim >= 2);
        model_free(&m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_std_and_scaled_outputs),
        cmocka_unit_test(test_default_recipe_is_the_old_init),
        cmocka_unit_test(test_decay_membership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
