#include "kernels/gate.h"
#include "kernels/activation.h"
#include <math.h>

float signed_sqrt(float s) {
    float magnitude = sqrtf(fabsf(s) + GATE_SQRT_EPS) - sqrtf(GATE_SQRT_EPS);
    return s < 0 ? -magnitude : magnitude;
}

float signed_sqrt_derivative(float s) { return 0.5f / sqrtf(fabsf(s) + GATE_SQRT_EPS); }

void dot_gate_forward(float *gate, float *score, const float *q, const float *k, int N, int C,
                      float scale) {
#pragma omp parallel for if (N > 256)
    for (int n = 0; n < N; n++) {
        const float *a = q + (long)n * C, *b = k + (long)n * C;
        double dot = 0;
        for (int c = 0; c < C; c++) dot += (double)a[c] * b[c];
        score[n] = (float)(dot * scale);
        gate[n] = sigmoidf(signed_sqrt(score[n]));
    }
}

void dot_gate_backward(float *dq, float *dk, const float *dgate, const float *score,
                       const float *q, const float *k, int N, int C, float scale) {
#pragma omp parallel for if (N > 256)
    for (int n = 0; n < N; n++) {
        float g = sigmoidf(signed_sqrt(score[n]));
        float dscore = dgate[n] * g * (1.0f - g) * signed_sqrt_derivative(score[n]) * scale;
        const float *a = q + (long)n * C, *b = k + (long)n * C;
        if (dq) for (int c = 0; c < C; c++) dq[(long)n * C + c] += dscore * b[c];
        if (dk) for (int c = 0; c < C; c++) dk[(long)n * C + c] += dscore * a[c];
    }
}
