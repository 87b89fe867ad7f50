/* The C model against the PyTorch reference (tests/reference/make_fixture.py).
 *
 * Each fixture holds a tiny model's weights, one batch, and what PyTorch computed in
 * float64 for it: the logits, the mean loss and the gradient of every parameter. The
 * test builds the C model from the fixture's metadata, copies the weights in, and asks
 * for every tensor to agree within REFERENCE_TOLERANCE relative to its largest value.
 * A parameter the C model declares and the fixture lacks fails, and so does the reverse,
 * so a naming or shape drift cannot pass silently. Forward and backward run twice: the
 * second pass catches buffers that keep state from the first.
 *
 * A gradient is measured against the larger of its own scale and FLAT_FLOOR times the
 * fixture's largest gradient. Some variants have directions in which the loss is flat up
 * to the norms' eps, so the exact gradient is ~1e-6 of its neighbours' and both sides
 * hold only rounding: alpha under multiplicative fusion (the output RMSNorm undoes any
 * scale of v = alpha r g) and beta with dynamic memory only (RMSNorm_m(beta q)). */
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
#include "formats/safetensors.h"
#include "util/error.h"

static const double REFERENCE_TOLERANCE = 1e-4;
static const double FLAT_FLOOR = 1e-2;

typedef struct {
    const char *name;       /* tensor with the worst error so far */
    double error;
} Worst;

/* max |actual - expected| / (max(max |expected|, floor) + 1e-8) */
static double relative_error(const float *actual, const float *expected, long n, double floor) {
    double diff = 0, scale = floor;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)actual[i] - expected[i]);
        if (!(d <= diff)) diff = d;   /* a NaN wins */
        if (fabs(expected[i]) > scale) scale = fabs(expected[i]);
    }
    return diff / (scale + 1e-8);
}

/* Records the error of one tensor; returns 1 if it is out of tolerance. */
static int compare(Worst *worst, const char *fixture, const char *name, const float *actual,
                   const float *expected, long n, double floor) {
    double error = relative_error(actual, expected, n, floor);
    if (!(error <= worst->error)) { worst->error = error; worst->name = name; }
    if (error <= REFERENCE_TOLERANCE) return 0;
    fprintf(stderr, "%s: %s: relative error %.3g (tolerance %.0e)\n", fixture, name, error,
            REFERENCE_TOLERANCE);
    return 1;
}

static const char *meta(const SafeTensors *st, const char *key) {
    const char *value = safetensors_meta(st, key);
    if (!value) fail_msg("%s: metadata %s is missing", st->path, key);
    return value;
}

static int meta_int(const SafeTensors *st, const char *key) { return atoi(meta(st, key)); }

/* Every metadata entry but "reference.*" is a config field under its own key, so a field
 * the C config renames or drops fails here rather than being silently left at a default. */
static void config_from_fixture(ModelConfig *c, const SafeTensors *st) {
    assert_int_equal(model_preset(c, "tiny"), 0);
    for (int i = 0; i < st->meta_count; i++) {
        if (!strncmp(st->meta_keys[i], "reference.", 10)) continue;
        if (model_config_set(c, st->meta_keys[i], st->meta_values[i]))
            fail_msg("%s: %s", st->path, error_message());
    }
}

static const int32_t *int32_tensor(const SafeTensors *st, const char *name, long numel) {
    const SafeTensorInfo *t = safetensors_find(st, name);
    if (!t || strcmp(t->dtype, "I32") || (long)(t->end - t->begin) != numel * 4)
        fail_msg("%s: %s is missing or not I32 x %ld", st->path, name, numel);
    return (const int32_t *)(st->data + t->begin);
}

static const float *float_tensor(const SafeTensors *st, const char *name, long numel) {
    const float *p = safetensors_f32(st, name, numel);
    if (!p) fail_msg("%s", error_message());
    if ((uintptr_t)p % sizeof(float)) fail_msg("%s: %s is not 4-byte aligned in the file", st->path, name);
    return p;
}

/* Weights into the model; the fixture's shapes must be the model's, and it must hold no
 * parameter the model lacks. */
static void load_weights(Model *m, const SafeTensors *st) {
    int in_fixture = 0;
    for (int i = 0; i < st->count; i++) {
        const char *name = st->tensors[i].name;
        if (strncmp(name, "input.", 6) && strncmp(name, "output.", 7) && strncmp(name, "grad.", 5)) {
            in_fixture++;
            if (!params_find(&m->params, name))
                fail_msg("%s: parameter %s is not in the C model", st->path, name);
        }
    }
    assert_int_equal(in_fixture, m->params.count);
    for (int i = 0; i < m->params.count; i++) {
        const ParamTensor *t = &m->params.tensors[i];
        const SafeTensorInfo *info = safetensors_find(st, t->name);
        if (!info) fail_msg("%s: the C model's parameter %s is not in the fixture", st->path, t->name);
        assert_int_equal(info->ndim, t->ndim);
        for (int k = 0; k < t->ndim; k++) assert_int_equal(info->shape[k], t->shape[k]);
        memcpy(m->params.data + t->offset, float_tensor(st, t->name, t->numel),
               sizeof(float) * (size_t)t->numel);
    }
}

/* One forward and backward; returns the number of tensors out of tolerance. */
static int check_pass(Model *m, const SafeTensors *st, const char *fixture, int B, int T,
                      Worst *worst) {
    int N = B * T, V = m->cfg.vocab_size, failures = 0;
    const int32_t *tokens = int32_tensor(st, "input.tokens", N);
    const int32_t *targets = int32_tensor(st, "input.targets", N);
    float loss = (float)model_forward(m, tokens, targets, B, T);
    failures += compare(worst, fixture, "output.loss", &loss, float_tensor(st, "output.loss", 1), 1, 0);
    /* before the backward, which turns the logits into their gradient in place */
    failures += compare(worst, fixture, "output.logits", m->logits,
                        float_tensor(st, "output.logits", (long)N * V), (long)N * V, 0);
    params_zero_grad(&m->params);
    model_backward(m);
    double largest = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < m->params.count; i++) {
            const ParamTensor *t = &m->params.tensors[i];
            char name[128];
            snprintf(name, sizeof name, "grad.%s", t->name);
            const float *expected = float_tensor(st, name, t->numel);
            if (pass == 0) {
                for (long j = 0; j < t->numel; j++)
                    if (fabs(expected[j]) > largest) largest = fabs(expected[j]);
                continue;
            }
            failures += compare(worst, fixture, t->name, m->params.grad + t->offset, expected,
                                t->numel, FLAT_FLOOR * largest);
        }
    return failures;
}

static void check_fixture(void **state) {
    const char *fixture = *state;
    char path[256];
    snprintf(path, sizeof path, "tests/reference/%s.safetensors", fixture);
    SafeTensors st;
    if (safetensors_open(&st, path)) fail_msg("%s", error_message());
    ModelConfig cfg;
    config_from_fixture(&cfg, &st);
    int B = meta_int(&st, "reference.batch"), T = meta_int(&st, "reference.seq");
    Model m;
    if (model_create(&m, &cfg, 0, 1)) fail_msg("%s: %s", path, error_message());
    assert_int_equal(model_reserve(&m, B, T), 0);
    load_weights(&m, &st);
    int failures = 0;
    Worst worst = {"", 0};
    for (int pass = 0; pass < 2; pass++) failures += check_pass(&m, &st, fixture, B, T, &worst);
    printf("%-20s worst relative error %.2e (%s)\n", fixture, worst.error, worst.name);
    model_free(&m);
    safetensors_close(&st);
    if (failures) fail_msg("%s: %d tensors differ from the PyTorch reference", fixture, failures);
}

#define FIXTURE(fixture) {.name = fixture, .test_func = check_fixture, .initial_state = (void *)fixture}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE("dense"),
        FIXTURE("dense_tied"),
        FIXTURE("meki"),
        FIXTURE("meki_wide"),
        FIXTURE("meki_after_attn"),
        FIXTURE("meki_parallel_attn"),
        FIXTURE("meki_after_ffn"),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
