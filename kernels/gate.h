/* A scalar gate per row from the similarity of two vectors (Engram's context gate):
 *   score[n] = scale * dot(q[n], k[n]),   gate[n] = sigmoid(signed_sqrt(score[n]))
 * signed_sqrt(s) = sign(s) * (sqrt(|s| + eps) - sqrt(eps)), eps = GATE_SQRT_EPS: odd and
 * continuous like sign(s) sqrt(|s|), but its slope at 0 is 1 / (2 sqrt(eps)), not infinite. */
#ifndef KERNELS_GATE_H
#define KERNELS_GATE_H

#define GATE_SQRT_EPS 1e-3f

float signed_sqrt(float s);
float signed_sqrt_derivative(float s);

/* gate[N], score[N] (saved for backward); q[N, C], k[N, C] */
void dot_gate_forward(float *gate, float *score, const float *q, const float *k, int N, int C,
                      float scale);
/* dq[N, C] += ..., dk[N, C] += ... from dgate[N] (either may be NULL) */
void dot_gate_backward(float *dq, float *dk, const float *dgate, const float *score,
                       const float *q, const float *k, int N, int C, float scale);
#endif
