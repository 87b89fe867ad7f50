/* A vectorisable exp for the hot softmax loops: glibc's expf is scalar, and the
 * cross-entropy over a 4096-word vocabulary spent a fifth of a training step in it.
 * Range reduction x = n ln2 + r, a degree-6 polynomial for e^r on |r| <= ln2/2, and 2^n
 * built in the exponent bits; relative error about 2e-7 over the float range. */
#ifndef KERNELS_FASTMATH_H
#define KERNELS_FASTMATH_H
#include <stdint.h>
#include <string.h>

/* NaN in, NaN out, with no float-to-int conversion (undefined for NaN): n is rounded by
 * adding 1.5 * 2^23, which leaves it as an integer in the low mantissa bits, and 2^n is
 * built from those bits in unsigned arithmetic. A NaN gives some scale and a NaN p. */
static inline float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float shifter = 12582912.0f;         /* 1.5 * 2^23 */
    float shifted = x * 1.44269504088896341f + shifter;
    float n = shifted - shifter;               /* x / ln2 rounded to nearest, as rintf */
    float r = x - n * 0.693359375f;            /* ln2 split in two for precision */
    r = r + n * 2.12194440e-4f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666418f +
              r * (0.00833345205f + r * 0.00138888916f)))));
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;  /* (n + 127) << 23, n from the mantissa */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
#endif
