#include "kernels/attention.h"
#include "kernels/fastmath.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = ATTENTION_BLOCK };

/* Block i's panel starts after the full blocks 0..i-1, [BLOCK, (i' + 1) BLOCK] each. */
long attention_probs_row(int T, int t) {
    long i = t / BLOCK, r0 = i * BLOCK;
    return BLOCK * BLOCK * (i * (i + 1) / 2) + (t - r0) * attention_probs_keys(T, t);
}

int attention_probs_keys(int T, int t) {
    int r1 = (t / BLOCK + 1) * BLOCK;
    return r1 < T ? r1 : T;
}

long attention_probs_size(int T) { return attention_probs_row(T, T - 1) + T; }

/* Each (batch, head, query block) is two small sgemm problems; inside the OpenMP loop the
 * OpenMP build of OpenBLAS runs single-threaded, so the (batch, head) pairs are what spreads
 * over cores. The softmax is the full-matrix kernel's, row by row: max over keys 0..t,
 * fast_expf, a float sum, one multiply by its inverse; the sums run in SIMD lanes (omp simd:
 * gcc keeps a float reduction serial otherwise), which changes their rounding only. */
void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int H, int KV, int hd) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV;
    long head_probs = attention_probs_size(T);
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *qb = q + (long)b * T * H * hd + h * hd;
            const float *kb = k + (long)b * T * KV * hd + (h / group) * hd;
            const float *vb = v + (long)b * T * KV * hd + (h / group) * hd;
            float *ob = out + (long)b * T * H * hd + h * hd;
            float *head = probs + ((long)b * H + h) * head_probs;
            for (int r0 = 0; r0 < T; r0 += BLOCK) {
                int keys = attention_probs_keys(T, r0), rows = keys - r0 < BLOCK ? keys - r0 : BLOCK;
                float *p = head + attention_probs_row(T, r0);   /* [rows, keys] */
                /* S[rows, keys] = scale * Q[r0 .. r0 + rows) K[0 .. keys)^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys, hd, scale,
                            qb + (long)r0 * H * hd, H * hd, kb, KV * hd, 0.0f, p, keys);
                for (int i = 0; i < rows; i++) {
                    int t = r0 + i;
                    float *row = p + (long)i * keys, max = row[0], sum = 0;
#pragma omp simd reduction(max : max)
                    for (int j = 1; j <= t; j++) max = row[j] > max ? row[j] : max;
#pragma omp simd reduction(+ : sum)
                    for (int j = 0; j <= t; j++) { row[j] = fast_expf(row[j] - max); sum += row[j]; }
                    float inv = 1.0f / sum;
                    for (int j = 0; j <= t; j++) row[j] *= inv;
                    for (int j = t + 1; j < keys; j++) row[j] = 0.0f;
                }
                /* O[rows, hd] = P[rows, keys] V[0 .. keys) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, keys, 1.0f, p, keys,
                            vb, KV * hd, 0.0f, ob + (long)r0 * H * hd, H * hd);
            }
        }
}

/* Per query block, over its keys 0 .. keys - 1 only:
 * dP = dO V^T; dS = P * (dP - rowsum(P * dP)); dQ = s dS K; dV += P^T dO; dK += s dS^T Q.
 * Parallel over (batch, kv head) so the heads sharing dK, dV run in one thread. The blocks
 * run last first: the last one reaches every key, so without accumulate it is the one that
 * overwrites dK and dV (for the group's first head) and the others add. */
static void attention_backward_blocks(float *dq, float *dk, float *dv, const float *dout,
                                      const float *probs, const float *q, const float *k,
                                      const float *v, int B, int T, int H, int KV, int hd,
                                      int accumulate) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV, last = (T - 1) / BLOCK * BLOCK;
    long head_probs = attention_probs_size(T);
#pragma omp parallel
    {
        float *ds = malloc(sizeof(float) * BLOCK * T);   /* dP, then dS, of one block */
#pragma omp for collapse(2) schedule(dynamic)
        for (int b = 0; b < B; b++)
            for (int g = 0; g < KV; g++) {
                const float *kb = k + (long)b * T * KV * hd + g * hd;
                const float *vb = v + (long)b * T * KV * hd + g * hd;
                float *dkb = dk + (long)b * T * KV * hd + g * hd;
                float *dvb = dv + (long)b * T * KV * hd + g * hd;
                for (int h = g * group; h < (g + 1) * group; h++) {
                    const float *head = probs + ((long)b * H + h) * head_probs;
                    float beta_q = accumulate ? 1.0f : 0.0f;
                    for (int r0 = last; r0 >= 0; r0 -= BLOCK) {
                        int keys = attention_probs_keys(T, r0);
                        int rows = keys - r0 < BLOCK ? keys - r0 : BLOCK;
                        float beta = accumulate || h > g * group || r0 < last ? 1.0f : 0.0f;
                        const float *p = head + attention_probs_row(T, r0);   /* [rows, keys] */
                        const float *qr = q + ((long)b * T + r0) * H * hd + h * hd;
                        const float *dor = dout + ((long)b * T + r0) * H * hd + h * hd;
                        float *dqr = dq + ((long)b * T + r0) * H * hd + h * hd;
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys, hd, 1.0f, dor,
                                    H * hd, vb, KV * hd, 0.0f, ds, keys);
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, keys, hd, rows, 1.0f, p,
                                    keys, dor, H * hd, beta, dvb, KV * hd);
                        for (int i = 0; i < rows; i++) {
                            int t = r0 + i;
                            const float *pr = p + (long)i * keys;
                            float *dr = ds + (long)i * keys, dot = 0;
#pragma omp simd reduction(+ : dot)
                            for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
                            for (int j = 0; j <= t; j++) dr[j] = pr[j] * (dr[j] - dot);
                            for (int j = t + 1; j < keys; j++) dr[j] = 0.0f;
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, keys, scale,
                                    ds, keys, kb, KV * hd, beta_q, dqr, H * hd);
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, keys, hd, rows, scale,
                                    ds, keys, qr, H * hd, beta, dkb, KV * hd);
                    }
                }
            }
        free(ds);
    }
}

void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                        const float *q, const float *k, const float *v, int B, int T, int H,
                        int KV, int hd) {
    attention_backward_blocks(dq, dk, dv, dout, probs, q, k, v, B, T, H, KV, hd, 1);
}

void attention_backward_set(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                            const float *q, const float *k, const float *v, int B, int T, int H,
                            int KV, int hd) {
    attention_backward_blocks(dq, dk, dv, dout, probs, q, k, v, B, T, H, KV, hd, 0);
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
