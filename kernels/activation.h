/* Elementwise activations over flat arrays of n values; backwards accumulate (+=). */
#ifndef KERNELS_ACTIVATION_H
#define KERNELS_ACTIVATION_H
#include "kernels/fastmath.h"
#include <math.h>

/* fast_expf keeps the SwiGLU and gate loops vectorised (glibc's expf is scalar) */
static inline float sigmoidf(float x) { return 1.0f / (1.0f + fast_expf(-x)); }
static inline float siluf(float x) { return x * sigmoidf(x); }
static inline float silu_derivative(float x) {
    float s = sigmoidf(x);
    return s * (1.0f + x * (1.0f - s));
}

/* SwiGLU: out = SiLU(gate) * up */
void swiglu_forward(float *out, const float *gate, const float *up, long n);
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, long n);
/* The same with = instead of +=: for gradient buffers with no other writer (no zeroing) */
void swiglu_backward_set(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, long n);

typedef enum { ACT_SIGMOID, ACT_SILU, ACT_GELU } Activation;
/* out = act(in); din += act'(in) * dout */
void activation_forward(Activation act, float *out, const float *in, long n);
void activation_backward(Activation act, float *din, const float *dout, const float *in, long n);

/* y += x; y *= s; the small vector helpers the models share */
void vector_add(float *y, const float *x, long n);
void vector_scale(float *y, float s, long n);
double vector_sum_squares(const float *x, long n);
#endif
