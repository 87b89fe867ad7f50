/* Checks shared by the tests of the memory variants (PLE, Engram): finite-difference
 * gradients of one module called through its MemoryOps, and of a whole tiny model; the
 * folded model against the training form; a few training steps.
 *
 * The module check calls forward(in = out = x) and backward(dout = din = dx) in place, as
 * the blocks do, so the aliasing the framework allows is exercised too. With
 * L = sum(out * R) and out = in + module(in): dL/din = R + module'(in)^T R, and the
 * module adds to m->d_embedded the gradient into E[x]. */
#ifndef TESTS_MEMORY_CHECK_H
#define TESTS_MEMORY_CHECK_H
#include "kernels/adamw.h"
#include "deploy/fold.h"
#include "models/memory.h"
#include "models/model.h"
#include "tests/gradcheck.h"
#include <string.h>

/* The smallest model the config accepts, with memory of the given kind. */
static inline void tiny_memory_config(ModelConfig *c, MemoryKind kind, int T) {
    model_preset(c, "tiny");
    c->vocab_size = 256;
    c->d_model = 16;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->ffn_hidden = 24;
    c->seq_len = T;
    c->rope_theta = 10000;
    c->memory = kind;
}

static inline void random_tokens(int32_t *tokens, int n, int distinct, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) tokens[i] = (int32_t)rng_below(&rng, (uint64_t)distinct);
}

/* Gains are ones and some weights zeros at init: move every trainable value off them so a
 * gradient bug cannot hide there. skip: a tensor name to leave alone (NULL: none). */
static inline void jitter_params(Model *m, float amount, const char *skip, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int t = 0; t < m->params.count; t++) {
        const ParamTensor *p = &m->params.tensors[t];
        if (skip && strstr(p->name, skip)) continue;
        for (long i = 0; i < p->numel; i++) m->params.data[p->offset + i] += amount * rng_normal(&rng);
    }
}

/* Like gradient_check_with, with the step h, and half of the samples drawn among the
 * entries whose analytic gradient is non-zero: in a table most rows are not read by a
 * small batch, and uniform samples would mostly compare zero with zero. */
static inline int check_entries(const char *name, LossFunction loss, void *context, float *x,
                                const float *analytic, long n, int samples, float h, Rng *rng,
                                Tolerance tolerance) {
    long *nonzero = malloc(sizeof(long) * (size_t)n), count = 0;
    for (long i = 0; i < n; i++)
        if (analytic[i] != 0.0f) nonzero[count++] = i;
    int failures = 0;
    for (int s = 0; s < samples && s < n; s++) {
        long i = n <= samples ? s
               : s % 2 == 0 && count ? nonzero[rng_below(rng, (uint64_t)count)]
               : (long)rng_below(rng, (uint64_t)n);
        double numeric = numeric_gradient(loss, context, x, i, h);
        if (values_close(analytic[i], numeric, tolerance)) continue;
        if (failures++ < 5)
            fprintf(stderr, "%s[%ld]: analytic %.7g, numeric %.7g\n", name, i, (double)analytic[i], numeric);
    }
    free(nonzero);
    return failures;
}

typedef struct {
    Model *m;
    int layer, B, T;
    const float *x0;   /* module input */
    float *x, *R;      /* working copy, loss weights */
} ModuleCase;

static inline double module_loss(void *context) {
    ModuleCase *c = context;
    long n = (long)c->B * c->T * c->m->cfg.d_model;
    memcpy(c->x, c->x0, sizeof(float) * n);
    c->m->ops->forward(c->m, c->layer, c->x, c->x, c->B, c->T);
    return weighted_sum(c->x, c->R, n);
}

/* m reserved for B x T, tokens in m->tokens, embeddings in m->embedded, gradients on.
 * Checks d in, d E[x] and `samples` entries of each parameter tensor of `layer` whose
 * name contains `prefix`. Returns the number of mismatches. */
static inline int check_module_gradients(Model *m, int layer, const char *prefix, int samples,
                                         float h, Tolerance tolerance, uint64_t seed) {
    int B = m->B, T = m->T, d = m->cfg.d_model;
    long n = (long)B * T * d;
    Rng rng;
    rng_seed(&rng, seed);
    float *x0 = random_array(&rng, n, -1, 1), *x = zero_array(n), *R = random_array(&rng, n, -1, 1);
    ModuleCase c = {m, layer, B, T, x0, x, R};
    params_zero_grad(&m->params);
    memset(m->d_embedded, 0, sizeof(float) * n);
    module_loss(&c);
    float *dx = copy_array(R, n), *d_embedded = zero_array(n);
    m->ops->backward(m, layer, dx, dx, B, T);
    memcpy(d_embedded, m->d_embedded, sizeof(float) * n);
    int failures = check_entries("d in", module_loss, &c, (float *)x0, dx, n, samples, h, &rng, tolerance);
    failures += check_entries("d E[x]", module_loss, &c, m->embedded, d_embedded, n, samples, h,
                              &rng, tolerance);
    char name[96];
    snprintf(name, sizeof name, "layers.%d.%s", layer, prefix);
    for (int t = 0; t < m->params.count; t++) {
        const ParamTensor *p = &m->params.tensors[t];
        if (strncmp(p->name, name, strlen(name))) continue;
        failures += check_entries(p->name, module_loss, &c, m->params.data + p->offset,
                                  m->params.grad + p->offset, p->numel, samples, h, &rng, tolerance);
    }
    free(x0); free(x); free(R); free(dx); free(d_embedded);
    return failures;
}

typedef struct {
    Model *m;
    const int32_t *tokens, *targets;
    int B, T;
} ModelCase;

static inline double model_loss(void *context) {
    ModelCase *c = context;
    return model_forward(c->m, c->tokens, c->targets, c->B, c->T) * c->B * c->T;
}

/* Every trainable tensor of a whole model (loss summed over tokens); tensors named with
 * `skip` are left out. */
static inline int check_model_gradients(Model *m, const int32_t *tokens, const int32_t *targets,
                                        int B, int T, int samples, const char *skip, float h,
                                        Tolerance tolerance, uint64_t seed) {
    ModelCase c = {m, tokens, targets, B, T};
    params_zero_grad(&m->params);
    model_forward(m, tokens, targets, B, T);
    model_backward(m);
    long total = m->params.total;
    float *grad = copy_array(m->params.grad, total);
    for (long i = 0; i < total; i++) grad[i] *= (float)(B * T);
    Rng rng;
    rng_seed(&rng, seed);
    int failures = 0;
    for (int t = 0; t < m->params.count; t++) {
        const ParamTensor *p = &m->params.tensors[t];
        if (skip && strstr(p->name, skip)) continue;
        failures += check_entries(p->name, model_loss, &c, m->params.data + p->offset,
                                  grad + p->offset, p->numel, samples, h, &rng, tolerance);
    }
    free(grad);
    return failures;
}

/* Largest |logit difference| relative to the largest |logit|, folded against trained,
 * on one batch; *loss_gap the relative difference of the losses. */
static inline double fold_error(Model *trained, Model *folded, const int32_t *tokens,
                                const int32_t *targets, int B, int T, double *loss_gap) {
    double loss_a = model_forward(trained, tokens, targets, B, T);
    double loss_b = model_forward(folded, tokens, targets, B, T);
    long n = (long)B * T * trained->cfg.vocab_size;
    double diff = 0, scale = 0;
    for (long i = 0; i < n; i++) {
        diff = fmax(diff, fabs(trained->logits[i] - folded->logits[i]));
        scale = fmax(scale, fabs(trained->logits[i]));
    }
    *loss_gap = fabs(loss_a - loss_b) / fabs(loss_a);
    return diff / scale;
}

/* AdamW steps over `batches` fixed batches in turn; returns the loss of each step. */
static inline void train_fixed_batches(Model *m, const int32_t *tokens, const int32_t *targets,
                                       int batches, int B, int T, int steps, float lr,
                                       double *losses) {
    AdamWSettings s = {lr, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int step = 0; step < steps; step++) {
        long at = (long)(step % batches) * B * T;
        params_zero_grad(&m->params);
        losses[step] = model_forward(m, tokens + at, targets + at, B, T);
        model_backward(m);
        for (int i = 0; i < m->params.count; i++) {
            const ParamTensor *p = &m->params.tensors[i];
            adamw_update(m->params.data + p->offset, m->params.grad + p->offset,
                         m->params.adam_m + p->offset, m->params.adam_v + p->offset, p->numel,
                         &s, step + 1, p->decay);
        }
    }
}
#endif
