/* AdamW with decoupled weight decay (Loshchilov & Hutter), bias-corrected moments. */
#ifndef KERNELS_ADAMW_H
#define KERNELS_ADAMW_H

typedef struct { float lr, beta1, beta2, eps, weight_decay; } AdamWSettings;

/* step counts from 1. weight_decay applies only when decay is non-zero. */
void adamw_update(float *param, const float *grad, float *m, float *v, long n,
                  const AdamWSettings *s, long step, int decay);
#endif
