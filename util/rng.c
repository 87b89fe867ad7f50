#include "util/rng.h"
#include <math.h>

uint64_t hash64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void rng_seed(Rng *rng, uint64_t seed) { rng->state = hash64(seed); }

uint64_t rng_next(Rng *rng) {
    rng->state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = rng->state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

float rng_uniform(Rng *rng) { return (float)((rng_next(rng) >> 40) * (1.0 / 16777216.0)); }

float rng_normal(Rng *rng) {
    double u1 = ((rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t rng_below(Rng *rng, uint64_t n) { return n ? rng_next(rng) % n : 0; }
