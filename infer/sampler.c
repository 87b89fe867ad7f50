#include "infer/sampler.h"
#include "util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int sampler_create(Sampler *s, int vocab, float temperature, float top_p, unsigned long long seed) {
    memset(s, 0, sizeof *s);
    if (!(temperature >= 0) || !isfinite(temperature))
        return error_set(ERR_INPUT, "--temperature must be >= 0 (got %g)", temperature);
    if (!(top_p > 0 && top_p <= 1))
        return error_set(ERR_INPUT, "--top-p must be in (0, 1] (got %g)", top_p);
    if (vocab < 1) return error_set(ERR_INPUT, "sampler: empty vocabulary");
    s->vocab = vocab;
    s->temperature = temperature;
    s->top_p = top_p;
    rng_seed(&s->rng, seed);
    s->probs = malloc(sizeof(float) * vocab);
    s->order = malloc(sizeof(int) * vocab);
    if (!s->probs || !s->order) { sampler_free(s); return error_set(ERR_FAILURE, "sampler: out of memory"); }
    return OK;
}

void sampler_free(Sampler *s) {
    free(s->probs);
    free(s->order);
    memset(s, 0, sizeof *s);
}

int sample_argmax(const float *values, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (values[i] > values[best]) best = i;
    return best;
}

/* Insertion into a sorted list of k: one pass over the values, and k is small (the
 * candidates a prefetch can afford). A value enters only when strictly larger than the
 * last kept, and goes after the equal ones, so earlier indices win ties as in argmax. */
int sample_top_k(const float *values, int n, int k, int *out) {
    int kept = 0;
    if (k > n) k = n;
    for (int i = 0; k > 0 && i < n; i++) {
        if (kept == k && !(values[i] > values[out[k - 1]])) continue;
        int at = kept < k ? kept++ : k - 1;
        while (at > 0 && values[i] > values[out[at - 1]]) { out[at] = out[at - 1]; at--; }
        out[at] = i;
    }
    return kept;
}

/* probs = softmax(logits / temperature), in double for the sum. */
static void softmax(float *probs, const float *logits, int n, float temperature) {
    float max = logits[sample_argmax(logits, n)];
    double sum = 0;
    for (int i = 0; i < n; i++) sum += probs[i] = expf((logits[i] - max) / temperature);
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) probs[i] *= inv;
}

/* The first index whose cumulative probability passes u (the last one if rounding
 * leaves the total a little under u). */
static int pick(const float *probs, const int *order, int n, float u) {
    float cumulative = 0;
    for (int i = 0; i < n; i++) {
        int id = order ? order[i] : i;
        cumulative += probs[id];
        if (u < cumulative) return id;
    }
    return order ? order[n - 1] : n - 1;
}

/* Most likely first; equal probabilities by index, so the order is total and fixed. */
static int by_probability(const void *a, const void *b, void *context) {
    const float *probs = context;
    int i = *(const int *)a, j = *(const int *)b;
    if (probs[i] != probs[j]) return probs[i] > probs[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Tokens below (1 - top_p) / (vocab - 1) can never be in the nucleus (llama2.c's
 * observation), so only the others are sorted. */
static int sample_top_p(Sampler *s, float u) {
    int n = 0;
    float cutoff = (1.0f - s->top_p) / (float)(s->vocab > 1 ? s->vocab - 1 : 1);
    for (int i = 0; i < s->vocab; i++) if (s->probs[i] >= cutoff) s->order[n++] = i;
    qsort_r(s->order, (size_t)n, sizeof(int), by_probability, s->probs);
    float mass = 0;
    int kept = n;
    for (int i = 0; i < n; i++) {
        mass += s->probs[s->order[i]];
        if (mass >= s->top_p) { kept = i + 1; break; }
    }
    return pick(s->probs, s->order, kept, u * mass);
}

int sampler_next(Sampler *s, const float *logits) {
    if (s->temperature == 0) return sample_argmax(logits, s->vocab);
    softmax(s->probs, logits, s->vocab, s->temperature);
    float u = rng_uniform(&s->rng);
    if (s->top_p < 1) return sample_top_p(s, u);
    return pick(s->probs, NULL, s->vocab, u);
}
