#include "kernels/attention.h"
#include "kernels/fastmath.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each (batch, head) pair is one small sgemm problem; inside the OpenMP loop the OpenMP
 * build of OpenBLAS runs single-threaded, so the pairs are what spreads over cores. */
void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int H, int KV, int hd) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV;
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *qb = q + (long)b * T * H * hd + h * hd;
            const float *kb = k + (long)b * T * KV * hd + (h / group) * hd;
            const float *vb = v + (long)b * T * KV * hd + (h / group) * hd;
            float *p = probs + ((long)b * H + h) * T * T;
            float *ob = out + (long)b * T * H * hd + h * hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, qb, H * hd, kb,
                        KV * hd, 0.0f, p, T);
            for (int t = 0; t < T; t++) {
                float *row = p + (long)t * T, max = row[0], sum = 0;
                for (int j = 1; j <= t; j++) max = row[j] > max ? row[j] : max;
                for (int j = 0; j <= t; j++) { row[j] = fast_expf(row[j] - max); sum += row[j]; }
                float inv = 1.0f / sum;
                for (int j = 0; j <= t; j++) row[j] *= inv;
                for (int j = t + 1; j < T; j++) row[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, vb,
                        KV * hd, 0.0f, ob, H * hd);
        }
}

/* dP = dO V^T; dV += P^T dO; dS = P * (dP - rowsum(P * dP)); dQ += s dS K; dK += s dS^T Q.
 * Parallel over (batch, kv head) so the heads sharing dK, dV run in one thread. */
static void backward(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                     const float *q, const float *k, const float *v, int B, int T, int H, int KV,
                     int hd, int accumulate) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV;
#pragma omp parallel
    {
        float *dp = malloc(sizeof(float) * T * T);
#pragma omp for collapse(2) schedule(dynamic)
        for (int b = 0; b < B; b++)
            for (int g = 0; g < KV; g++) {
                const float *kb = k + (long)b * T * KV * hd + g * hd;
                const float *vb = v + (long)b * T * KV * hd + g * hd;
                float *dkb = dk + (long)b * T * KV * hd + g * hd;
                float *dvb = dv + (long)b * T * KV * hd + g * hd;
                for (int h = g * group; h < (g + 1) * group; h++) {
                    /* without accumulate, the group's first head overwrites dk, dv and
                     * every head its own dq: no zeroing pass over them beforehand */
                    float beta = accumulate || h > g * group ? 1.0f : 0.0f;
                    float beta_q = accumulate ? 1.0f : 0.0f;
                    const float *p = probs + ((long)b * H + h) * T * T;
                    const float *qb = q + (long)b * T * H * hd + h * hd;
                    const float *dob = dout + (long)b * T * H * hd + h * hd;
                    float *dqb = dq + (long)b * T * H * hd + h * hd;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dob,
                                H * hd, vb, KV * hd, 0.0f, dp, T);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, dob,
                                H * hd, beta, dvb, KV * hd);
                    for (int t = 0; t < T; t++) {
                        const float *pr = p + (long)t * T;
                        float *dr = dp + (long)t * T, dot = 0;
                        for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
                        for (int j = 0; j <= t; j++) dr[j] = pr[j] * (dr[j] - dot);
                        for (int j = t + 1; j < T; j++) dr[j] = 0.0f;
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, scale, dp, T,
                                kb, KV * hd, beta_q, dqb, H * hd);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, scale, dp, T,
                                qb, H * hd, beta, dkb, KV * hd);
                }
            }
        free(dp);
    }
}

void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                        const float *q, const float *k, const float *v, int B, int T, int H,
                        int KV, int hd) {
    backward(dq, dk, dv, dout, probs, q, k, v, B, T, H, KV, hd, 1);
}

void attention_backward_set(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                            const float *q, const float *k, const float *v, int B, int T, int H,
                            int KV, int hd) {
    backward(dq, dk, dv, dout, probs, q, k, v, B, T, H, KV, hd, 0);
}

void attention_decode(float *out, const float *q, const float *k_cache, const float *v_cache,
                      float *scratch, int n, int H, int KV, int hd) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV;
    for (int h = 0; h < H; h++) {
        const float *qh = q + h * hd;
        int g = h / group;
        float max = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) {
            const float *kj = k_cache + ((long)j * KV + g) * hd;
            float s = 0;
            for (int i = 0; i < hd; i++) s += qh[i] * kj[i];
            scratch[j] = s * scale;
            if (scratch[j] > max) max = scratch[j];
        }
        for (int j = 0; j < n; j++) { scratch[j] = expf(scratch[j] - max); sum += scratch[j]; }
        float *oh = out + h * hd;
        memset(oh, 0, sizeof(float) * hd);
        for (int j = 0; j < n; j++) {
            const float *vj = v_cache + ((long)j * KV + g) * hd;
            float w = scratch[j] / sum;
            for (int i = 0; i < hd; i++) oh[i] += w * vj[i];
        }
    }
}
