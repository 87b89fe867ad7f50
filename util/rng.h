/* Deterministic random numbers: one explicit state, no globals, so a seed fixes a run. */
#ifndef UTIL_RNG_H
#define UTIL_RNG_H
#include <stdint.h>

typedef struct { uint64_t state; } Rng;

void rng_seed(Rng *rng, uint64_t seed);
uint64_t rng_next(Rng *rng);          /* uniform 64-bit */
float rng_uniform(Rng *rng);          /* [0, 1) */
float rng_normal(Rng *rng);           /* standard normal (Box-Muller) */
uint64_t rng_below(Rng *rng, uint64_t n); /* uniform in [0, n) */
uint64_t hash64(uint64_t x);          /* splitmix64 finaliser, for derived seeds */
#endif
