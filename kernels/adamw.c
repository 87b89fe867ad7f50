#include "kernels/adamw.h"
#include <math.h>

void adamw_update(float *param, const float *grad, float *m, float *v, long n,
                  const AdamWSettings *s, long step, int decay) {
    float correction1 = 1.0f - powf(s->beta1, (float)step);
    float correction2 = 1.0f - powf(s->beta2, (float)step);
    float wd = decay ? s->weight_decay : 0.0f;
    float beta1 = s->beta1, beta2 = s->beta2, lr = s->lr, eps = s->eps;
#pragma omp parallel for simd if (n > 65536)
    for (long i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * grad[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * grad[i] * grad[i];
        float mhat = m[i] / correction1, vhat = v[i] / correction2;
        param[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * param[i]);
    }
}
