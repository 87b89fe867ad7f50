/* A vectorisable exp for the hot softmax loops: glibc's expf is scalar, and the
 * cross-entropy over a 4096-word vocabulary spent a fifth of a training step in it.
 * Range reduction x = n ln2 + r, a degree-6 polynomial for e^r on |r| <= ln2/2, and 2^n
 * built in the exponent bits; relative error about 2e-7 over the float range. */
#ifndef KERNELS_FASTMATH_H
#define KERNELS_FASTMATH_H
#include <stdint.h>
#include <string.h>

static inline float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;            /* ln2 split in two for precision */
    r = r + n * 2.12194440e-4f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666418f +
              r * (0.00833345205f + r * 0.00138888916f)))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
#endif
