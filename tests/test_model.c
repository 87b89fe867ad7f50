/* Whole-model gradients against finite differences, dense and every MeKi variant axis. */
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
#include "models/memory.h"
#include "models/meki.h"
#include "train/eval.h"
#include "util/error.h"
#include "util/sysmem.h"
#include "util/rng.h"

enum { B = 2, T = 6 };

static void tiny_config(ModelConfig *c) {
    model_preset(c, "tiny");
    c->vocab_size = 256;   /* the smallest vocabulary the config accepts */
    c->d_model = 16;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->ffn_hidden = 24;
    c->seq_len = T;
    c->rope_theta = 10000;
    meki_config(c)->d_mem = 6;
}

static void random_batch(int32_t *tokens, int32_t *targets, int V, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    /* few distinct tokens so the tables' rows receive several gradient contributions */
    for (int i = 0; i < B * T; i++) {
        tokens[i] = (int32_t)rng_below(&rng, 7);
        targets[i] = (int32_t)rng_below(&rng, (uint64_t)V);
    }
}

/* Perturb params so gains and scalars are not exactly 1 (a gradient bug could hide there). */
static void jitter(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (long i = 0; i < m->params.total; i++) m->params.data[i] += 0.3f * rng_normal(&rng);
}

static double loss_at(Model *m, const int32_t *tokens, const int32_t *targets) {
    return model_forward(m, tokens, targets, B, T);
}

/* Checks up to `samples` entries of every tensor; returns the worst relative error. */
static double check_gradients(const ModelConfig *cfg, int samples) {
    Model m;
    assert_int_equal(model_create(&m, cfg, 0, 1), 0);
    assert_int_equal(model_reserve(&m, B, T), 0);
    model_init_weights(&m, 7);
    jitter(&m, 11);
    int32_t tokens[B * T], targets[B * T];
    random_batch(tokens, targets, cfg->vocab_size, 3);
    params_zero_grad(&m.params);
    loss_at(&m, tokens, targets);
    model_backward(&m);
    double worst = 0;
    Rng rng;
    rng_seed(&rng, 5);
    for (int t = 0; t < m.params.count; t++) {
        const ParamTensor *pt = &m.params.tensors[t];
        for (int s = 0; s < samples && s < pt->numel; s++) {
            long i = pt->offset + (pt->numel <= samples ? s : (long)rng_below(&rng, (uint64_t)pt->numel));
            if (!strcmp(pt->name, "embed_tokens.weight") || strstr(pt->name, "table"))
                i = pt->offset + (long)(rng_below(&rng, 7) * pt->shape[1] + rng_below(&rng, (uint64_t)pt->shape[1]));
            float saved = m.params.data[i], h = 1e-2f;
            m.params.data[i] = saved + h;
            double up = loss_at(&m, tokens, targets);
            m.params.data[i] = saved - h;
            double down = loss_at(&m, tokens, targets);
            m.params.data[i] = saved;
            double numeric = (up - down) / (2 * h), analytic = m.params.grad[i];
            double err = fabs(numeric - analytic) / (fabs(numeric) + fabs(analytic) + 1e-3);
            if (err > worst) worst = err;
            if (err > 0.05)
                fprintf(stderr, "  %s[%ld]: analytic %.6g numeric %.6g\n", pt->name, i - pt->offset,
                        analytic, numeric);
        }
    }
    model_free(&m);
    return worst;
}

static void test_dense_gradients(void **state) {
    ModelConfig c;
    tiny_config(&c);
    double worst = check_gradients(&c, 12);
    fprintf(stderr, "dense: worst relative error %.3g\n", worst);
    assert_true(worst < 0.05);
    c.tie_embeddings = 0;
    c.qk_norm = 0;
    worst = check_gradients(&c, 12);
    fprintf(stderr, "dense untied, no qk-norm: worst relative error %.3g\n", worst);
    assert_true(worst < 0.05);
}

static void test_meki_gradients_every_axis(void **state) {
    ModelConfig base;
    tiny_config(&base);
    base.memory = memory_kind_parse("meki");
    ModelConfig variants[16];
    int n = 0;
    for (int k = MEKI_STATIC; k <= MEKI_BOTH; k++) { variants[n] = base; meki_config(&variants[n++])->memory = k; }
    for (int f = 1; f < 4; f++) { variants[n] = base; meki_config(&variants[n++])->fusion = f; }
    for (int p = 1; p < 4; p++) { variants[n] = base; meki_config(&variants[n++])->position = p; }
    variants[n] = base; meki_config(&variants[n++])->projector = PROJECTOR_LINEAR;
    variants[n] = base; meki_config(&variants[n])->d_mem = 20; strcpy(meki_config(&variants[n++])->layers_spec, "1");
    for (int v = 0; v < n; v++) {
        const MekiConfig *k = meki_config(&variants[v]);
        double worst = check_gradients(&variants[v], 8);
        fprintf(stderr, "meki %s %s %s %s d_mem %d: worst relative error %.3g\n",
                meki_memory_name(k->memory), meki_position_name(k->position),
                meki_fusion_name(k->fusion), meki_projector_name(k->projector), k->d_mem, worst);
        assert_true(worst < 0.05);
    }
}

/* Sizes that cannot work are refused before allocating, and a refused or failed request
 * leaves nothing counted as reserved: the next, small one gets real buffers. */
static void test_reserve_refuses_bad_sizes(void **state) {
    ModelConfig cfg;
    tiny_config(&cfg);
    Model m;
    assert_int_equal(model_create(&m, &cfg, 0, 1), 0);
    model_init_weights(&m, 7);
    assert_int_equal(model_reserve(&m, 0, T), ERR_INPUT);
    assert_int_equal(model_reserve(&m, -1, T), ERR_INPUT);
    assert_int_equal(model_reserve(&m, 1 << 20, 1 << 12), ERR_INPUT);   /* 2^32 rows overflow an int */
    assert_non_null(strstr(error_message(), "batch"));
    /* 2^30 rows of even this small model need terabytes: beyond any test machine's RAM */
    size_t bytes;
    assert_int_equal(model_activation_bytes(&m.cfg, 1 << 24, 64, &bytes), 0);
    assert_true(bytes > system_memory_bytes());
    assert_int_equal(model_reserve(&m, 1 << 24, 64), ERR_INPUT);
    assert_int_equal(model_reserve(&m, B, T), 0);
    int32_t tokens[B * T], targets[B * T];
    random_batch(tokens, targets, cfg.vocab_size, 3);
    assert_true(isfinite(model_forward(&m, tokens, targets, B, T)));
    /* evaluation refuses a batch below 1 instead of looping or writing through NULL */
    uint16_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (uint16_t)(i % 7);
    assert_true(isnan(evaluate_loss(&m, ids, 40, -1, T, 0, NULL)));
    assert_true(isfinite(evaluate_loss(&m, ids, 40, B, T, 0, NULL)));
    model_free(&m);
}

/* The capped final evaluation: whole windows spread over the split from a fixed seed, the
 * same each time; uncapped, the plain evaluation of the whole split. */
static void test_spread_evaluation(void **state) {
    ModelConfig cfg;
    tiny_config(&cfg);
    Model m;
    assert_int_equal(model_create(&m, &cfg, 0, 1), 0);
    model_init_weights(&m, 7);
    enum { N = 600 };
    uint16_t ids[N];
    /* a constant first half: a prefix cap would see nothing else */
    for (int i = 0; i < N; i++) ids[i] = (uint16_t)(i < N / 2 ? 1 : (i * 7919) % cfg.vocab_size);
    long count, whole_count;
    double whole = evaluate_loss(&m, ids, N, B, T, 0, &whole_count);
    assert_true(evaluate_loss_spread(&m, ids, N, B, T, 0, &count) == whole && count == whole_count);
    assert_true(evaluate_loss_spread(&m, ids, N, B, T, N, &count) == whole && count == N - 1);
    double a = evaluate_loss_spread(&m, ids, N, B, T, 10 * T + 3, &count);
    assert_int_equal(count, 10 * T);   /* rounded down to whole windows */
    assert_true(evaluate_loss_spread(&m, ids, N, B, T, 10 * T + 3, &count) == a);
    double prefix = evaluate_loss(&m, ids, N, B, T, 10 * T, NULL);
    assert_true(isfinite(a) && a != prefix);   /* the spread reaches the varied half */
    assert_true(isfinite(evaluate_loss_spread(&m, ids, N, B, T, 1, &count)) && count == T);
    model_free(&m);
}

/* Bits per byte: the scored targets' bytes are the bytes of the text they decode to, for the
 * whole split, a prefix and the spread subset; ln 2 nats per token over tokens of one byte
 * each is one bit per byte. */
static void test_bits_per_byte(void **state) {
    static const char text[] = "the cat sat on the mat and the dog sat on the log, the end. ";
    char corpus[4096] = "";
    for (int i = 0; i < 40; i++) strcat(corpus, text);
    Tokenizer *tok;
    assert_int_equal(tokenizer_train(&tok, (const unsigned char *)corpus, strlen(corpus), 300), 0);
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, (const unsigned char *)corpus, strlen(corpus), &ids, &n), 0);
    assert_true(n > 40);
    /* the whole split: every id but the first is a target */
    int first;
    tokenizer_token_bytes(tok, ids[0], &first);
    assert_int_equal(evaluate_target_bytes(ids, n, 8, 0, 0, tok), (long)strlen(corpus) - first);
    /* a prefix of 3 windows of 8: the bytes of targets 1..24 */
    long want = 0;
    for (int i = 1; i <= 24; i++) {
        int len;
        tokenizer_token_bytes(tok, ids[i], &len);
        want += len;
    }
    assert_int_equal(evaluate_target_bytes(ids, n, 8, 24, 0, tok), want);
    /* the spread subset: as many bytes as its windows' targets, fewer than the whole */
    long spread = evaluate_target_bytes(ids, n, 8, 24, 1, tok);
    assert_true(spread > 0 && spread < (long)strlen(corpus) - first);
    assert_true(fabs(bits_per_byte(log(2.0), 10, 10) - 1) < 1e-12);
    assert_true(fabs(bits_per_byte(log(2.0), 10, 40) - 0.25) < 1e-12);
    assert_true(isnan(bits_per_byte(1.0, 10, 0)));
    free(ids);
    tokenizer_free(tok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bits_per_byte),
        cmocka_unit_test(test_dense_gradients),
        cmocka_unit_test(test_meki_gradients_every_axis),
        cmocka_unit_test(test_reserve_refuses_bad_sizes),
        cmocka_unit_test(test_spread_evaluation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
