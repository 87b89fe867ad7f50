#include "kernels/activation.h"

void swiglu_forward(float *out, const float *gate, const float *up, long n) {
#pragma omp parallel for simd if (n > 65536)
    for (long i = 0; i < n; i++) out[i] = siluf(gate[i]) * up[i];
}

void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, long n) {
#pragma omp parallel for simd if (n > 65536)
    for (long i = 0; i < n; i++) {
        dgate[i] += dout[i] * up[i] * silu_derivative(gate[i]);
        dup[i] += dout[i] * siluf(gate[i]);
    }
}

void swiglu_backward_set(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, long n) {
#pragma omp parallel for simd if (n > 65536)
    for (long i = 0; i < n; i++) {
        dgate[i] = dout[i] * up[i] * silu_derivative(gate[i]);
        dup[i] = dout[i] * siluf(gate[i]);
    }
}

/* GELU, tanh approximation (as Gemma's PLE uses) */
static const float GELU_C = 0.7978845608028654f; /* sqrt(2/pi) */

static inline float gelu(float x) {
    return 0.5f * x * (1.0f + tanhf(GELU_C * (x + 0.044715f * x * x * x)));
}

static inline float gelu_derivative(float x) {
    float u = GELU_C * (x + 0.044715f * x * x * x), t = tanhf(u);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3 * 0.044715f * x * x);
}

void activation_forward(Activation act, float *out, const float *in, long n) {
    for (long i = 0; i < n; i++) {
        float x = in[i];
        out[i] = act == ACT_SIGMOID ? sigmoidf(x) : act == ACT_SILU ? siluf(x) : gelu(x);
    }
}

void activation_backward(Activation act, float *din, const float *dout, const float *in, long n) {
    for (long i = 0; i < n; i++) {
        float x = in[i], d;
        if (act == ACT_SIGMOID) { float s = sigmoidf(x); d = s * (1.0f - s); }
        else if (act == ACT_SILU) d = silu_derivative(x);
        else d = gelu_derivative(x);
        din[i] += dout[i] * d;
    }
}

void vector_add(float *y, const float *x, long n) {
#pragma omp parallel for simd if (n > 65536)
    for (long i = 0; i < n; i++) y[i] += x[i];
}

void vector_scale(float *y, float s, long n) {
    for (long i = 0; i < n; i++) y[i] *= s;
}

double vector_sum_squares(const float *x, long n) {
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) if (n > 65536)
    for (long i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return sum;
}
