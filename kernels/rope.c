#include "kernels/rope.h"
#include <math.h>

void rope_table(float *cos_table, float *sin_table, int T, int head_dim, float theta) {
    int half = head_dim / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double freq = pow((double)theta, -2.0 * i / head_dim);
            cos_table[t * half + i] = (float)cos(t * freq);
            sin_table[t * half + i] = (float)sin(t * freq);
        }
}

static void rotate(float *x, const float *c, const float *s, int H, int head_dim, float sign) {
    int half = head_dim / 2;
    for (int h = 0; h < H; h++) {
        float *v = x + h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * c[i] - sign * b * s[i];
            v[i + half] = b * c[i] + sign * a * s[i];
        }
    }
}

void rope_forward(float *x, const float *cos_table, const float *sin_table, int B, int T, int H,
                  int head_dim) {
    int half = head_dim / 2;
#pragma omp parallel for collapse(2) if (B * T > 64)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            rotate(x + ((long)b * T + t) * H * head_dim, cos_table + t * half, sin_table + t * half,
                   H, head_dim, 1.0f);
}

void rope_backward(float *dx, const float *cos_table, const float *sin_table, int B, int T, int H,
                   int head_dim) {
    int half = head_dim / 2;
#pragma omp parallel for collapse(2) if (B * T > 64)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            rotate(dx + ((long)b * T + t) * H * head_dim, cos_table + t * half,
                   sin_table + t * half, H, head_dim, -1.0f);
}

void rope_apply_one(float *x, const float *cos_row, const float *sin_row, int H, int head_dim) {
    rotate(x, cos_row, sin_row, H, head_dim, 1.0f);
}
