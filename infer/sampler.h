/* Choosing the next token from logits: greedy (temperature 0), or sampling from the
 * softmax at a temperature, optionally restricted to the smallest set of most likely
 * tokens whose probability reaches top_p (nucleus sampling). A seed fixes the choices. */
#ifndef INFER_SAMPLER_H
#define INFER_SAMPLER_H
#include "util/rng.h"

typedef struct {
    int vocab;
    float temperature;   /* 0: greedy */
    float top_p;         /* in (0, 1]; 1: the whole distribution */
    Rng rng;
    float *probs;        /* [vocab] */
    int *order;          /* [vocab] candidates for top-p */
} Sampler;

/* ERR_INPUT naming the setting if temperature < 0 or top_p is outside (0, 1]. */
int sampler_create(Sampler *s, int vocab, float temperature, float top_p, unsigned long long seed);
void sampler_free(Sampler *s);
int sampler_next(Sampler *s, const float *logits);
/* Index of the largest value (the first one on ties). */
int sample_argmax(const float *values, int n);
/* The min(k, n) indices of the largest values, largest first, the first one on ties:
 * out[0] is sample_argmax's. Returns how many were written. */
int sample_top_k(const float *values, int n, int k, int *out);
#endif
