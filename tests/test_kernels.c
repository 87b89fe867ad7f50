/* Every backward in kernels/ against central finite differences, and the forwards
 * against naive double-precision loops.
 *
 * Each kernel gets a "case": its sizes, inputs and a fixed random R, and a loss function
 * L = sum(out * R), so dL/dout = R is what its backward is handed. Sizes are tiny so
 * that every input element is perturbed and the file runs in well under a second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/activation.h"
#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/crossentropy.h"
#include "kernels/embedding.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include "kernels/inference.h"
#include "kernels/wquant.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "tests/gradcheck.h"
#include <string.h>

/* Forward results that should agree with a double loop up to float rounding. */
static const Tolerance FORWARD_TOLERANCE = {1e-5, 1e-6};

/* ---------------------------------------------------------------- matmul */

typedef struct {
    int N, C, O;
    float *in, *weight, *out, *R;
} MatmulCase;

static void matmul_case_init(MatmulCase *m, Rng *rng, int N, int C, int O) {
    *m = (MatmulCase){N, C, O, random_array(rng, (long)N * C, -1, 1),
                      random_array(rng, (long)O * C, -1, 1), zero_array((long)N * O),
                      random_array(rng, (long)N * O, -1, 1)};
}

static void matmul_case_free(MatmulCase *m) {
    free(m->in); free(m->weight); free(m->out); free(m->R);
}

static double matmul_loss(void *context) {
    MatmulCase *m = context;
    matmul_forward(m->out, m->in, m->weight, m->N, m->C, m->O, 0);
    return weighted_sum(m->out, m->R, (long)m->N * m->O);
}

static void test_matmul_backward(void **state) {
    Rng rng;
    rng_seed(&rng, 1);
    MatmulCase m;
    matmul_case_init(&m, &rng, 6, 7, 5);
    float *din = zero_array(6 * 7), *dweight = zero_array(5 * 7);
    matmul_backward(din, dweight, m.R, m.in, m.weight, 6, 7, 5);
    assert_int_equal(gradient_check("matmul din", matmul_loss, &m, m.in, din, 6 * 7, &rng), 0);
    assert_int_equal(
        gradient_check("matmul dweight", matmul_loss, &m, m.weight, dweight, 5 * 7, &rng), 0);
    free(din); free(dweight);
    matmul_case_free(&m);
}

/* Larger than the sample count, so the random-subset path of gradient_check runs too. */
static void test_matmul_backward_sampled(void **state) {
    Rng rng;
    rng_seed(&rng, 2);
    int N = 16, C = 64, O = 48;
    MatmulCase m;
    matmul_case_init(&m, &rng, N, C, O);
    float *din = zero_array((long)N * C), *dweight = zero_array((long)O * C);
    matmul_backward(din, dweight, m.R, m.in, m.weight, N, C, O);
    assert_int_equal(gradient_check_with("matmul din", matmul_loss, &m, m.in, din, (long)N * C,
                                         60, &rng, GRADIENT_TOLERANCE), 0);
    assert_int_equal(gradient_check_with("matmul dweight", matmul_loss, &m, m.weight, dweight,
                                         (long)O * C, 60, &rng, GRADIENT_TOLERANCE), 0);
    free(din); free(dweight);
    matmul_case_free(&m);
}

/* Gradients from several uses of one weight are summed by calling backward repeatedly,
 * so backward must add, and a NULL target must skip only that product. */
static void test_matmul_backward_accumulates(void **state) {
    Rng rng;
    rng_seed(&rng, 3);
    MatmulCase m;
    matmul_case_init(&m, &rng, 6, 7, 5);
    float *din = zero_array(6 * 7), *dweight = zero_array(5 * 7);
    matmul_backward(din, dweight, m.R, m.in, m.weight, 6, 7, 5);
    float *din_initial = random_array(&rng, 6 * 7, -1, 1);
    float *dweight_initial = random_array(&rng, 5 * 7, -1, 1);
    float *din_sum = copy_array(din_initial, 6 * 7);
    float *dweight_sum = copy_array(dweight_initial, 5 * 7);
    matmul_backward(din_sum, NULL, m.R, m.in, m.weight, 6, 7, 5);
    matmul_backward(NULL, dweight_sum, m.R, m.in, m.weight, 6, 7, 5);
    assert_int_equal(accumulates("matmul din", din_sum, din_initial, din, 6 * 7), 0);
    assert_int_equal(accumulates("matmul dweight", dweight_sum, dweight_initial, dweight, 5 * 7),
                     0);
    free(din); free(dweight); free(din_initial); free(dweight_initial);
    free(din_sum); free(dweight_sum);
    matmul_case_free(&m);
}

static void test_matmul_forward_reference(void **state) {
    Rng rng;
    rng_seed(&rng, 4);
    MatmulCase m;
    matmul_case_init(&m, &rng, 6, 7, 5);
    float *prior = random_array(&rng, 6 * 5, -1, 1);
    double expected[6 * 5], expected_sum[6 * 5];
    for (int n = 0; n < 6; n++)
        for (int o = 0; o < 5; o++) {
            double sum = 0;
            for (int c = 0; c < 7; c++) sum += (double)m.in[n * 7 + c] * m.weight[o * 7 + c];
            expected[n * 5 + o] = sum;
            expected_sum[n * 5 + o] = sum + prior[n * 5 + o];
        }
    matmul_forward(m.out, m.in, m.weight, 6, 7, 5, 0);
    assert_int_equal(arrays_close("matmul out", m.out, expected, 6 * 5, FORWARD_TOLERANCE), 0);
    matmul_forward(prior, m.in, m.weight, 6, 7, 5, 1);
    assert_int_equal(arrays_close("matmul out +=", prior, expected_sum, 6 * 5, FORWARD_TOLERANCE),
                     0);
    free(prior);
    matmul_case_free(&m);
}

/* ---------------------------------------------------------------- rmsnorm */

typedef struct {
    int N, C;
    float *in, *gain, *out, *rstd, *R;
} RmsnormCase;

static const float RMSNORM_EPS = 1e-5f;

static void rmsnorm_case_init(RmsnormCase *r, Rng *rng, int N, int C) {
    *r = (RmsnormCase){N, C, random_array(rng, (long)N * C, -1, 1),
                       random_array(rng, C, 0.5f, 1.5f), zero_array((long)N * C), zero_array(N),
                       random_array(rng, (long)N * C, -1, 1)};
}

static void rmsnorm_case_free(RmsnormCase *r) {
    free(r->in); free(r->gain); free(r->out); free(r->rstd); free(r->R);
}

static double rmsnorm_loss(void *context) {
    RmsnormCase *r = context;
    rmsnorm_forward(r->out, r->rstd, r->in, r->gain, r->N, r->C, RMSNORM_EPS);
    return weighted_sum(r->out, r->R, (long)r->N * r->C);
}

/* The analytic gradients need rstd of the unperturbed input, so run the forward first. */
static void rmsnorm_gradients(RmsnormCase *r, float *din, float *dgain) {
    rmsnorm_loss(r);
    rmsnorm_backward(din, dgain, r->R, r->in, r->gain, r->rstd, r->N, r->C);
}

static void test_rmsnorm_backward(void **state) {
    Rng rng;
    rng_seed(&rng, 10);
    RmsnormCase r;
    rmsnorm_case_init(&r, &rng, 6, 9);
    float *din = zero_array(6 * 9), *dgain = zero_array(9);
    rmsnorm_gradients(&r, din, dgain);
    assert_int_equal(gradient_check("rmsnorm din", rmsnorm_loss, &r, r.in, din, 6 * 9, &rng), 0);
    assert_int_equal(gradient_check("rmsnorm dgain", rmsnorm_loss, &r, r.gain, dgain, 9, &rng),
                     0);

    float *din_initial = random_array(&rng, 6 * 9, -1, 1);
    float *dgain_initial = random_array(&rng, 9, -1, 1);
    float *din_sum = copy_array(din_initial, 6 * 9), *dgain_sum = copy_array(dgain_initial, 9);
    rmsnorm_gradients(&r, din_sum, dgain_sum);
    assert_int_equal(accumulates("rmsnorm din", din_sum, din_initial, din, 6 * 9), 0);
    assert_int_equal(accumulates("rmsnorm dgain", dgain_sum, dgain_initial, dgain, 9), 0);
    free(din); free(dgain); free(din_initial); free(dgain_initial); free(din_sum);
    free(dgain_sum);
    rmsnorm_case_free(&r);
}

/* gain NULL is the QK-norm-free path; the backward must treat it as all ones. */
static void test_rmsnorm_backward_without_gain(void **state) {
    Rng rng;
    rng_seed(&rng, 11);
    RmsnormCase r;
    rmsnorm_case_init(&r, &rng, 6, 9);
    free(r.gain);
    r.gain = NULL;
    float *din = zero_array(6 * 9);
    rmsnorm_gradients(&r, din, NULL);
    assert_int_equal(gradient_check("rmsnorm din (no gain)", rmsnorm_loss, &r, r.in, din, 6 * 9,
                                    &rng), 0);
    free(din);
    rmsnorm_case_free(&r);
}

static void test_rmsnorm_forward_reference(void **state) {
    Rng rng;
    rng_seed(&rng, 12);
    RmsnormCase r;
    rmsnorm_case_init(&r, &rng, 6, 9);
    double expected[6 * 9];
    for (int n = 0; n < 6; n++) {
        double squares = 0;
        for (int c = 0; c < 9; c++) squares += (double)r.in[n * 9 + c] * r.in[n * 9 + c];
        double scale = 1.0 / sqrt(squares / 9 + RMSNORM_EPS);
        for (int c = 0; c < 9; c++) expected[n * 9 + c] = r.in[n * 9 + c] * scale * r.gain[c];
    }
    rmsnorm_loss(&r);
    assert_int_equal(arrays_close("rmsnorm out", r.out, expected, 6 * 9, FORWARD_TOLERANCE), 0);
    rmsnorm_case_free(&r);
}

/* ---------------------------------------------------------------- rope */

typedef struct {
    int B, T, H, hd;
    float *x, *rotated, *cos_table, *sin_table, *R;
} RopeCase;

/* A small theta so that every frequency turns noticeably within T = 5 positions. */
static const float ROPE_THETA = 100.0f;

static void rope_case_init(RopeCase *r, Rng *rng, int B, int T, int H, int hd) {
    long n = (long)B * T * H * hd;
    *r = (RopeCase){B, T, H, hd, random_array(rng, n, -1, 1), zero_array(n),
                    zero_array((long)T * hd / 2), zero_array((long)T * hd / 2),
                    random_array(rng, n, -1, 1)};
    rope_table(r->cos_table, r->sin_table, T, hd, ROPE_THETA);
}

static void rope_case_free(RopeCase *r) {
    free(r->x); free(r->rotated); free(r->cos_table); free(r->sin_table); free(r->R);
}

static long rope_size(const RopeCase *r) { return (long)r->B * r->T * r->H * r->hd; }

static double rope_loss(void *context) {
    RopeCase *r = context;
    memcpy(r->rotated, r->x, sizeof(float) * rope_size(r));
    rope_forward(r->rotated, r->cos_table, r->sin_table, r->B, r->T, r->H, r->hd);
    return weighted_sum(r->rotated, r->R, rope_size(r));
}

static void test_rope_backward(void **state) {
    Rng rng;
    rng_seed(&rng, 20);
    RopeCase r;
    rope_case_init(&r, &rng, 2, 5, 3, 8);
    float *dx = copy_array(r.R, rope_size(&r));   /* backward rotates dout in place */
    rope_backward(dx, r.cos_table, r.sin_table, 2, 5, 3, 8);
    assert_int_equal(gradient_check("rope dx", rope_loss, &r, r.x, dx, rope_size(&r), &rng), 0);
    free(dx);
    rope_case_free(&r);
}

/* HF rotate_half: out_i = x_i cos - x_{i+half} sin, out_{i+half} = x_{i+half} cos + x_i sin,
 * angle = t * theta^(-2i/hd), computed here from scratch in double. */
static void test_rope_forward_reference(void **state) {
    Rng rng;
    rng_seed(&rng, 21);
    RopeCase r;
    rope_case_init(&r, &rng, 2, 5, 3, 8);
    int half = r.hd / 2;
    double *expected = malloc(sizeof(double) * rope_size(&r));
    for (int b = 0; b < r.B; b++)
        for (int t = 0; t < r.T; t++)
            for (int h = 0; h < r.H; h++) {
                const float *x = r.x + (((long)b * r.T + t) * r.H + h) * r.hd;
                double *y = expected + (((long)b * r.T + t) * r.H + h) * r.hd;
                for (int i = 0; i < half; i++) {
                    double angle = t * pow(ROPE_THETA, -2.0 * i / r.hd);
                    y[i] = x[i] * cos(angle) - x[i + half] * sin(angle);
                    y[i + half] = x[i + half] * cos(angle) + x[i] * sin(angle);
                }
            }
    rope_loss(&r);
    assert_int_equal(
        arrays_close("rope out", r.rotated, expected, rope_size(&r), FORWARD_TOLERANCE), 0);
    free(expected);
    rope_case_free(&r);
}

/* Decoding rotates one position at a time with a table row; it must match training. */
static void test_rope_decode_matches_training(void **state) {
    Rng rng;
    rng_seed(&rng, 22);
    RopeCase r;
    rope_case_init(&r, &rng, 2, 5, 3, 8);
    rope_loss(&r);
    long row = (long)r.H * r.hd;
    int half = r.hd / 2;
    for (int b = 0; b < r.B; b++)
        for (int t = 0; t < r.T; t++) {
            float *one = copy_array(r.x + ((long)b * r.T + t) * row, row);
            rope_apply_one(one, r.cos_table + t * half, r.sin_table + t * half, r.H, r.hd);
            assert_memory_equal(one, r.rotated + ((long)b * r.T + t) * row, sizeof(float) * row);
            free(one);
        }
    rope_case_free(&r);
}

/* ---------------------------------------------------------------- attention */

typedef struct {
    int B, T, H, KV, hd;
    float *q, *k, *v, *out, *probs, *R;
} AttentionCase;

static long query_size(const AttentionCase *a) { return (long)a->B * a->T * a->H * a->hd; }
static long key_size(const AttentionCase *a) { return (long)a->B * a->T * a->KV * a->hd; }

/* Inputs in [-2, 2] so the softmax is far from uniform and its Jacobian matters. */
static void attention_case_init(AttentionCase *a, Rng *rng, int B, int T, int H, int KV,
                                int hd) {
    *a = (AttentionCase){.B = B, .T = T, .H = H, .KV = KV, .hd = hd};
    a->q = random_array(rng, query_size(a), -2, 2);
    a->k = random_array(rng, key_size(a), -2, 2);
    a->v = random_array(rng, key_size(a), -1, 1);
    a->out = zero_array(query_size(a));
    a->probs = zero_array((long)B * H * attention_probs_size(T));
    a->R = random_array(rng, query_size(a), -1, 1);
}

static void attention_case_free(AttentionCase *a) {
    free(a->q); free(a->k); free(a->v); free(a->out); free(a->probs); free(a->R);
}

static double attention_loss(void *context) {
    AttentionCase *a = context;
    attention_forward(a->out, a->probs, a->q, a->k, a->v, a->B, a->T, a->H, a->KV, a->hd);
    return weighted_sum(a->out, a->R, query_size(a));
}

/* probs must come from the unperturbed inputs, so the forward runs first. */
static void attention_gradients(AttentionCase *a, float *dq, float *dk, float *dv) {
    attention_loss(a);
    attention_backward(dq, dk, dv, a->R, a->probs, a->q, a->k, a->v, a->B, a->T, a->H, a->KV,
                       a->hd);
}

static void check_attention_backward(int H, int KV, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    AttentionCase a;
    attention_case_init(&a, &rng, 2, 5, H, KV, 8);
    long nq = query_size(&a), nk = key_size(&a);
    float *dq = zero_array(nq), *dk = zero_array(nk), *dv = zero_array(nk);
    attention_gradients(&a, dq, dk, dv);
    /* every element: nq = 320 at most, each costing two tiny forwards */
    Tolerance t = GRADIENT_TOLERANCE;
    assert_int_equal(gradient_check_with("attention dq", attention_loss, &a, a.q, dq, nq, nq,
                                         &rng, t), 0);
    assert_int_equal(gradient_check_with("attention dk", attention_loss, &a, a.k, dk, nk, nk,
                                         &rng, t), 0);
    assert_int_equal(gradient_check_with("attention dv", attention_loss, &a, a.v, dv, nk, nk,
                                         &rng, t), 0);

    float *dq_initial = random_array(&rng, nq, -1, 1);
    float *dk_initial = random_array(&rng, nk, -1, 1), *dv_initial = random_array(&rng, nk, -1, 1);
    float *dq_sum = copy_array(dq_initial, nq), *dk_sum = copy_array(dk_initial, nk),
          *dv_sum = copy_array(dv_initial, nk);
    attention_gradients(&a, dq_sum, dk_sum, dv_sum);
    assert_int_equal(accumulates("attention dq", dq_sum, dq_initial, dq, nq), 0);
    assert_int_equal(accumulates("attention dk", dk_sum, dk_initial, dk, nk), 0);
    assert_int_equal(accumulates("attention dv", dv_sum, dv_initial, dv, nk), 0);
    free(dq); free(dk); free(dv); free(dq_initial); free(dk_initial); free(dv_initial);
    free(dq_sum); free(dk_sum); free(dv_sum);
    attention_case_free(&a);
}

/* GQA (two query heads per kv head), plain multi-head (H = KV), multi-query (KV = 1) */
static void test_attention_backward_grouped(void **state) { check_attention_backward(4, 2, 30); }
static void test_attention_backward_multi_head(void **state) {
    check_attention_backward(4, 4, 31);
}
static void test_attention_backward_multi_query(void **state) {
    check_attention_backward(4, 1, 32);
}

/* Naive causal softmax attention in double for one (batch, head, position). */
static void attention_reference_row(double *out, double *probs, const AttentionCase *a, int b,
                                    int h, int t) {
    int g = h / (a->H / a->KV);
    const float *qt = a->q + (((long)b * a->T + t) * a->H + h) * a->hd;
    double max = -INFINITY, sum = 0;
    for (int j = 0; j <= t; j++) {
        const float *kj = a->k + (((long)b * a->T + j) * a->KV + g) * a->hd;
        double score = 0;
        for (int i = 0; i < a->hd; i++) score += (double)qt[i] * kj[i];
        probs[j] = score / sqrt((double)a->hd);
        max = fmax(max, probs[j]);
    }
    for (int j = 0; j <= t; j++) { probs[j] = exp(probs[j] - max); sum += probs[j]; }
    for (int j = 0; j < a->T; j++) probs[j] = j <= t ? probs[j] / sum : 0.0;
    for (int i = 0; i < a->hd; i++) out[i] = 0;
    for (int j = 0; j <= t; j++) {
        const float *vj = a->v + (((long)b * a->T + j) * a->KV + g) * a->hd;
        for (int i = 0; i < a->hd; i++) out[i] += probs[j] * vj[i];
    }
}

/* range sets the spread of q and k, hence of the scores. */
static void check_attention_forward(float range, Tolerance tolerance, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    AttentionCase a;
    attention_case_init(&a, &rng, 2, 5, 4, 2, 8);
    for (long i = 0; i < query_size(&a); i++) a.q[i] *= range / 2;
    for (long i = 0; i < key_size(&a); i++) a.k[i] *= range / 2;
    attention_loss(&a);
    double out[8], probs[5];
    for (int b = 0; b < a.B; b++)
        for (int h = 0; h < a.H; h++)
            for (int t = 0; t < a.T; t++) {
                attention_reference_row(out, probs, &a, b, h, t);
                const float *got = a.out + (((long)b * a.T + t) * a.H + h) * a.hd;
                const float *got_probs = a.probs + ((long)b * a.H + h) * attention_probs_size(a.T) +
                                         attention_probs_row(a.T, t);
                int keys = attention_probs_keys(a.T, t);
                assert_int_equal(arrays_close("attention out", got, out, a.hd, tolerance), 0);
                assert_int_equal(arrays_close("attention probs", got_probs, probs, keys,
                                              tolerance), 0);
                /* the backward relies on exact zeros above the diagonal */
                for (int j = t + 1; j < keys; j++) assert_true(got_probs[j] == 0.0f);
            }
    attention_case_free(&a);
}

static void test_attention_forward_reference(void **state) {
    check_attention_forward(2.0f, FORWARD_TOLERANCE, 33);
}

/* Scores of several hundred: exp overflows or underflows unless each row subtracts the
 * maximum over its own causal prefix (a future key must not set the maximum). Float
 * scores this large carry absolute errors near 1e-3, hence the looser tolerance. */
static void test_attention_forward_large_scores(void **state) {
    check_attention_forward(30.0f, (Tolerance){1e-2, 1e-3}, 36);
}

/* With the cache holding positions 0..t, decoding position t must reproduce row t of the
 * training forward; the KV cache layout [n, KV, hd] is one batch slice of k and v. */
static void check_attention_decode(float range, Tolerance tolerance, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    AttentionCase a;
    attention_case_init(&a, &rng, 2, 5, 4, 2, 8);
    for (long i = 0; i < query_size(&a); i++) a.q[i] *= range / 2;
    for (long i = 0; i < key_size(&a); i++) a.k[i] *= range / 2;
    attention_loss(&a);
    long row = (long)a.H * a.hd;
    float *out = zero_array(row), scratch[5];
    double expected[4 * 8];
    for (int b = 0; b < a.B; b++)
        for (int t = 0; t < a.T; t++) {
            const float *k_cache = a.k + (long)b * a.T * a.KV * a.hd;
            const float *v_cache = a.v + (long)b * a.T * a.KV * a.hd;
            attention_decode(out, a.q + ((long)b * a.T + t) * row, k_cache, v_cache, scratch,
                             t + 1, a.H, a.KV, a.hd);
            const float *forward_row = a.out + ((long)b * a.T + t) * row;
            for (long i = 0; i < row; i++) expected[i] = forward_row[i];
            assert_int_equal(arrays_close("attention decode", out, expected, row, tolerance),
                             0);
        }
    free(out);
    attention_case_free(&a);
}

static void test_attention_decode_matches_forward(void **state) {
    check_attention_decode(2.0f, FORWARD_TOLERANCE, 34);
}

/* Large negative scores everywhere in a row must not underflow the whole row to zero. */
static void test_attention_decode_large_scores(void **state) {
    check_attention_decode(30.0f, (Tolerance){1e-2, 1e-3}, 37);
}

/* Runs must be reproducible bit for bit, whatever the OpenMP schedule. */
static void test_attention_deterministic(void **state) {
    Rng rng;
    rng_seed(&rng, 35);
    AttentionCase a;
    attention_case_init(&a, &rng, 2, 5, 4, 2, 8);
    long nq = query_size(&a), nk = key_size(&a), np = (long)a.B * a.H * attention_probs_size(a.T);
    attention_loss(&a);
    float *out = copy_array(a.out, nq), *probs = copy_array(a.probs, np);
    attention_loss(&a);
    assert_memory_equal(out, a.out, sizeof(float) * nq);
    assert_memory_equal(probs, a.probs, sizeof(float) * np);

    float *dq[2], *dk[2], *dv[2];
    for (int run = 0; run < 2; run++) {
        dq[run] = zero_array(nq), dk[run] = zero_array(nk), dv[run] = zero_array(nk);
        attention_gradients(&a, dq[run], dk[run], dv[run]);
    }
    assert_memory_equal(dq[0], dq[1], sizeof(float) * nq);
    assert_memory_equal(dk[0], dk[1], sizeof(float) * nk);
    assert_memory_equal(dv[0], dv[1], sizeof(float) * nk);
    for (int run = 0; run < 2; run++) { free(dq[run]); free(dk[run]); free(dv[run]); }
    free(out); free(probs);
    attention_case_free(&a);
}

/* ---------------------------------------------------------------- swiglu, activations */

enum { ELEMENTWISE_SIZE = 40 };

typedef struct {
    Activation act;
    float *gate, *up, *out, *R;
} ElementwiseCase;

/* Inputs in [-4, 4] reach both tails and the curved middle of every activation. */
static void elementwise_case_init(ElementwiseCase *e, Rng *rng, Activation act) {
    *e = (ElementwiseCase){act, random_array(rng, ELEMENTWISE_SIZE, -4, 4),
                           random_array(rng, ELEMENTWISE_SIZE, -2, 2),
                           zero_array(ELEMENTWISE_SIZE),
                           random_array(rng, ELEMENTWISE_SIZE, -1, 1)};
}

static void elementwise_case_free(ElementwiseCase *e) {
    free(e->gate); free(e->up); free(e->out); free(e->R);
}

static double swiglu_loss(void *context) {
    ElementwiseCase *e = context;
    swiglu_forward(e->out, e->gate, e->up, ELEMENTWISE_SIZE);
    return weighted_sum(e->out, e->R, ELEMENTWISE_SIZE);
}

static double activation_loss(void *context) {
    ElementwiseCase *e = context;
    activation_forward(e->act, e->out, e->gate, ELEMENTWISE_SIZE);
    return weighted_sum(e->out, e->R, ELEMENTWISE_SIZE);
}

static void test_swiglu_backward(void **state) {
    Rng rng;
    rng_seed(&rng, 40);
    ElementwiseCase e;
    elementwise_case_init(&e, &rng, ACT_SILU);
    long n = ELEMENTWISE_SIZE;
    float *dgate = zero_array(n), *dup = zero_array(n);
    swiglu_backward(dgate, dup, e.R, e.gate, e.up, n);
    assert_int_equal(gradient_check("swiglu dgate", swiglu_loss, &e, e.gate, dgate, n, &rng), 0);
    assert_int_equal(gradient_check("swiglu dup", swiglu_loss, &e, e.up, dup, n, &rng), 0);

    float *dgate_initial = random_array(&rng, n, -1, 1);
    float *dup_initial = random_array(&rng, n, -1, 1);
    float *dgate_sum = copy_array(dgate_initial, n), *dup_sum = copy_array(dup_initial, n);
    swiglu_backward(dgate_sum, dup_sum, e.R, e.gate, e.up, n);
    assert_int_equal(accumulates("swiglu dgate", dgate_sum, dgate_initial, dgate, n), 0);
    assert_int_equal(accumulates("swiglu dup", dup_sum, dup_initial, dup, n), 0);
    free(dgate); free(dup); free(dgate_initial); free(dup_initial); free(dgate_sum); free(dup_sum);
    elementwise_case_free(&e);
}

static void check_activation_backward(Activation act, const char *name, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    ElementwiseCase e;
    elementwise_case_init(&e, &rng, act);
    long n = ELEMENTWISE_SIZE;
    float *din = zero_array(n);
    activation_backward(act, din, e.R, e.gate, n);
    assert_int_equal(gradient_check(name, activation_loss, &e, e.gate, din, n, &rng), 0);

    float *din_initial = random_array(&rng, n, -1, 1), *din_sum = copy_array(din_initial, n);
    activation_backward(act, din_sum, e.R, e.gate, n);
    assert_int_equal(accumulates(name, din_sum, din_initial, din, n), 0);
    free(din); free(din_initial); free(din_sum);
    elementwise_case_free(&e);
}

static void test_sigmoid_backward(void **state) {
    check_activation_backward(ACT_SIGMOID, "sigmoid", 41);
}
static void test_silu_backward(void **state) { check_activation_backward(ACT_SILU, "silu", 42); }
static void test_gelu_backward(void **state) { check_activation_backward(ACT_GELU, "gelu", 43); }

/* GELU is the tanh approximation; SwiGLU is SiLU(gate) * up. Checked in double. */
static void test_activation_forward_reference(void **state) {
    Rng rng;
    rng_seed(&rng, 44);
    ElementwiseCase e;
    elementwise_case_init(&e, &rng, ACT_GELU);
    long n = ELEMENTWISE_SIZE;
    double expected[ELEMENTWISE_SIZE];
    for (int act = ACT_SIGMOID; act <= ACT_GELU; act++) {
        for (long i = 0; i < n; i++) {
            double x = e.gate[i], s = 1.0 / (1.0 + exp(-x));
            double gelu = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
            expected[i] = act == ACT_SIGMOID ? s : act == ACT_SILU ? x * s : gelu;
        }
        activation_forward((Activation)act, e.out, e.gate, n);
        assert_int_equal(arrays_close("activation out", e.out, expected, n, FORWARD_TOLERANCE), 0);
    }
    for (long i = 0; i < n; i++)
        expected[i] = (double)e.gate[i] / (1.0 + exp(-(double)e.gate[i])) * e.up[i];
    swiglu_forward(e.out, e.gate, e.up, n);
    assert_int_equal(arrays_close("swiglu out", e.out, expected, n, FORWARD_TOLERANCE), 0);
    elementwise_case_free(&e);
}

/* ---------------------------------------------------------------- cross-entropy */

enum { CE_ROWS = 6, CE_VOCAB = 11 };

typedef struct {
    float logits[CE_ROWS * CE_VOCAB], losses[CE_ROWS], log_sums[CE_ROWS];
    int32_t targets[CE_ROWS];
} CrossentropyCase;

static void crossentropy_case_init(CrossentropyCase *c, Rng *rng, float offset) {
    for (int i = 0; i < CE_ROWS * CE_VOCAB; i++) c->logits[i] = offset + 6 * rng_uniform(rng) - 3;
    for (int n = 0; n < CE_ROWS; n++) c->targets[n] = (int32_t)rng_below(rng, CE_VOCAB);
    c->targets[1] = c->targets[0];   /* a repeated target, as in real text */
}

static double crossentropy_loss(void *context) {
    CrossentropyCase *c = context;
    return crossentropy_forward(c->losses, c->log_sums, c->logits, c->targets, CE_ROWS, CE_VOCAB);
}

/* Gradients of the mean are small (about p / N), so the absolute floor is too. */
static void test_crossentropy_backward(void **state) {
    Rng rng;
    rng_seed(&rng, 50);
    CrossentropyCase c;
    crossentropy_case_init(&c, &rng, 0.0f);
    float dlogits[CE_ROWS * CE_VOCAB];
    crossentropy_loss(&c);
    crossentropy_backward(dlogits, c.logits, c.log_sums, c.targets, CE_ROWS, CE_VOCAB,
                          1.0f / CE_ROWS);
    assert_int_equal(gradient_check_with("crossentropy dlogits", crossentropy_loss, &c, c.logits,
                                         dlogits, CE_ROWS * CE_VOCAB, CE_ROWS * CE_VOCAB, &rng,
                                         (Tolerance){1e-2, 1e-4}), 0);
}

/* The header promises dlogits may alias logits (saves a [N, V] buffer in training). */
static void test_crossentropy_in_place(void **state) {
    Rng rng;
    rng_seed(&rng, 51);
    CrossentropyCase c;
    crossentropy_case_init(&c, &rng, 0.0f);
    float dlogits[CE_ROWS * CE_VOCAB];
    crossentropy_loss(&c);
    crossentropy_backward(dlogits, c.logits, c.log_sums, c.targets, CE_ROWS, CE_VOCAB,
                          1.0f / CE_ROWS);
    crossentropy_backward(c.logits, c.logits, c.log_sums, c.targets, CE_ROWS, CE_VOCAB,
                          1.0f / CE_ROWS);
    assert_memory_equal(dlogits, c.logits, sizeof dlogits);
}

static double log_sum_exp(const float *row, int V) {
    double max = row[0], sum = 0;
    for (int i = 1; i < V; i++) max = fmax(max, row[i]);
    for (int i = 0; i < V; i++) sum += exp(row[i] - max);
    return max + log(sum);
}

/* A large offset must not overflow expf: the kernel has to subtract the row maximum. */
static void check_crossentropy_loss(float offset, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    CrossentropyCase c;
    crossentropy_case_init(&c, &rng, offset);
    double expected[CE_ROWS], expected_log_sums[CE_ROWS], mean = 0;
    for (int n = 0; n < CE_ROWS; n++) {
        const float *row = c.logits + n * CE_VOCAB;
        expected_log_sums[n] = log_sum_exp(row, CE_VOCAB);
        expected[n] = expected_log_sums[n] - row[c.targets[n]];
        mean += expected[n] / CE_ROWS;
    }
    double got = crossentropy_loss(&c);
    /* float logits near the offset carry an absolute error of about ulp(offset) */
    Tolerance t = {1e-5, 1e-5 + 1e-7 * fabs(offset)};
    assert_true(values_close(got, mean, t));
    assert_int_equal(arrays_close("crossentropy losses", c.losses, expected, CE_ROWS, t), 0);
    assert_int_equal(arrays_close("crossentropy log_sums", c.log_sums, expected_log_sums, CE_ROWS, t), 0);
}

static void test_crossentropy_loss_reference(void **state) {
    check_crossentropy_loss(0.0f, 52);
    check_crossentropy_loss(100.0f, 53);
    check_crossentropy_loss(-100.0f, 54);
}

static void test_log_softmax(void **state) {
    Rng rng;
    rng_seed(&rng, 55);
    CrossentropyCase c;
    crossentropy_case_init(&c, &rng, 50.0f);
    float out[CE_VOCAB];
    double expected[CE_VOCAB], probability = 0;
    log_softmax(out, c.logits, CE_VOCAB);
    double lse = log_sum_exp(c.logits, CE_VOCAB);
    for (int i = 0; i < CE_VOCAB; i++) {
        expected[i] = c.logits[i] - lse;
        probability += exp(out[i]);
    }
    assert_int_equal(arrays_close("log_softmax", out, expected, CE_VOCAB, (Tolerance){1e-5, 1e-5}),
                     0);
    assert_true(fabs(probability - 1.0) < 1e-5);
}

/* ---------------------------------------------------------------- embedding */

enum { EMBED_VOCAB = 8, EMBED_WIDTH = 5, EMBED_TOKENS = 10 };
/* token 2 appears four times, 0 and 5 twice; 3, 4 and 7 never */
static const int32_t EMBED_IDS[EMBED_TOKENS] = {2, 5, 2, 0, 2, 6, 5, 1, 2, 0};

typedef struct {
    float *table, *out, *R;
} EmbeddingCase;

static double embedding_loss(void *context) {
    EmbeddingCase *e = context;
    embedding_forward(e->out, e->table, EMBED_IDS, EMBED_TOKENS, EMBED_WIDTH);
    return weighted_sum(e->out, e->R, EMBED_TOKENS * EMBED_WIDTH);
}

static void test_embedding_backward(void **state) {
    Rng rng;
    rng_seed(&rng, 60);
    long n = EMBED_VOCAB * EMBED_WIDTH;
    EmbeddingCase e = {random_array(&rng, n, -1, 1), zero_array(EMBED_TOKENS * EMBED_WIDTH),
                       random_array(&rng, EMBED_TOKENS * EMBED_WIDTH, -1, 1)};
    float *dtable = zero_array(n);
    embedding_backward(dtable, e.R, EMBED_IDS, EMBED_TOKENS, EMBED_WIDTH);
    assert_int_equal(gradient_check("embedding dtable", embedding_loss, &e, e.table, dtable, n,
                                    &rng), 0);
    for (int c = 0; c < EMBED_WIDTH; c++) {
        assert_true(dtable[3 * EMBED_WIDTH + c] == 0.0f);   /* unseen rows stay untouched */
        assert_true(dtable[7 * EMBED_WIDTH + c] == 0.0f);
    }
    embedding_loss(&e);
    for (int t = 0; t < EMBED_TOKENS; t++)
        assert_memory_equal(e.out + t * EMBED_WIDTH, e.table + EMBED_IDS[t] * EMBED_WIDTH,
                            sizeof(float) * EMBED_WIDTH);

    float *initial = random_array(&rng, n, -1, 1), *sum = copy_array(initial, n);
    embedding_backward(sum, e.R, EMBED_IDS, EMBED_TOKENS, EMBED_WIDTH);
    assert_int_equal(accumulates("embedding dtable", sum, initial, dtable, n), 0);
    free(dtable); free(initial); free(sum);
    free(e.table); free(e.out); free(e.R);
}

/* ---------------------------------------------------------------- adamw */

enum { ADAMW_SIZE = 6 };

/* PyTorch's AdamW step written out in double: decay first, from the old parameter,
 * scaled by lr only (decoupled), then the bias-corrected Adam step. */
static void adamw_reference(double *param, double *m, double *v, const float *grad,
                            const AdamWSettings *s, long step, int decay) {
    for (int i = 0; i < ADAMW_SIZE; i++) {
        if (decay) param[i] -= (double)s->lr * s->weight_decay * param[i];
        m[i] = s->beta1 * m[i] + (1.0 - s->beta1) * grad[i];
        v[i] = s->beta2 * v[i] + (1.0 - s->beta2) * (double)grad[i] * grad[i];
        double mhat = m[i] / (1.0 - pow(s->beta1, step));
        double vhat = v[i] / (1.0 - pow(s->beta2, step));
        param[i] -= s->lr * mhat / (sqrt(vhat) + s->eps);
    }
}

static void check_adamw(int decay) {
    AdamWSettings s = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                       .weight_decay = 0.1f};
    /* a zero gradient in each step shows decay acting alone; a sign flip in step 2
     * exercises the first moment's memory */
    const float grads[2][ADAMW_SIZE] = {{0.5f, -0.25f, 2.0f, 0.0f, 1e-3f, -3.0f},
                                        {-0.5f, 0.75f, 1.0f, 0.0f, 2e-3f, -3.0f}};
    float param[ADAMW_SIZE] = {1.0f, -2.0f, 0.5f, 3.0f, -0.1f, 0.0f};
    float m[ADAMW_SIZE] = {0}, v[ADAMW_SIZE] = {0};
    double param_ref[ADAMW_SIZE], m_ref[ADAMW_SIZE] = {0}, v_ref[ADAMW_SIZE] = {0};
    for (int i = 0; i < ADAMW_SIZE; i++) param_ref[i] = param[i];
    Tolerance t = {1e-5, 1e-7};
    for (long step = 1; step <= 2; step++) {
        adamw_update(param, grads[step - 1], m, v, ADAMW_SIZE, &s, step, decay);
        adamw_reference(param_ref, m_ref, v_ref, grads[step - 1], &s, step, decay);
        assert_int_equal(arrays_close("adamw param", param, param_ref, ADAMW_SIZE, t), 0);
        assert_int_equal(arrays_close("adamw m", m, m_ref, ADAMW_SIZE, t), 0);
        assert_int_equal(arrays_close("adamw v", v, v_ref, ADAMW_SIZE, t), 0);
    }
    /* by hand: zero gradient twice, so only decay moves param[3] */
    double expected = decay ? 3.0 * (1.0 - 1e-2 * 0.1) * (1.0 - 1e-2 * 0.1) : 3.0;
    assert_true(values_close(param[3], expected, t));
    /* by hand: the first step of Adam moves by lr * sign(g) (|g| >> eps) */
    if (!decay) {
        float first[ADAMW_SIZE] = {1.0f}, m1[ADAMW_SIZE] = {0}, v1[ADAMW_SIZE] = {0};
        adamw_update(first, grads[0], m1, v1, 1, &s, 1, 0);
        assert_true(values_close(first[0], 1.0 - 1e-2, t));
    }
}

static void test_adamw_without_decay(void **state) { check_adamw(0); }
static void test_adamw_with_decay(void **state) { check_adamw(1); }


/* fast_expf(NaN) is NaN, in the scalar and the vectorised form, and defined: the old
 * (int32_t)rintf(NaN) was undefined behaviour (the sanitizer build, which checks
 * float-cast-overflow, stops on it). Other values keep their accuracy. */
static void test_fast_expf_nan(void **state) {
    volatile float nan_value = NAN;
    assert_true(isnan(fast_expf(nan_value)));
    enum { N = 1000 };
    static float in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i % 7 == 3 ? NAN : (float)(i - N / 2) * 0.17f;
    for (int i = 0; i < N; i++) out[i] = fast_expf(in[i]);   /* the vectorised loop */
    for (int i = 0; i < N; i++) {
        if (isnan(in[i])) { assert_true(isnan(out[i])); continue; }
        double x = in[i] < -87 ? -87 : in[i] > 88 ? 88 : in[i];
        assert_true(fabs(out[i] / exp(x) - 1) < 1e-6);
    }
    assert_true(isfinite(fast_expf(INFINITY)) && fast_expf(-INFINITY) >= 0);
}

/* The decode matvec group against a double-precision reference: every row count around
 * the 4-row block, widths with and without a 16-float tail, accumulate or not, parts
 * split across 1 and 2 threads (ranges that cut through a part). With a transposed part of
 * its own input added, the other parts' results stay bit for bit and the transposed one
 * equals linear_forward_t's. */
static void test_matvec_group_reference(void **state) {
    /* width 300 with 67 rows is past MATVEC_PARALLEL_WORK: the only shapes 2 threads split */
    const int widths[] = {1, 15, 16, 33, 64, 100, 300}, rows[] = {1, 3, 4, 5, 9, 67};
    for (int threads = 1; threads <= 2; threads++) {
        kernels_set_threads(threads);
        for (int wi = 0; wi < 7; wi++)
            for (int ri = 0; ri < 6; ri++) {
                int C = widths[wi], O1 = rows[ri], O2 = rows[(ri + 2) % 6];
                float *w1 = malloc(sizeof(float) * O1 * C), *w2 = malloc(sizeof(float) * O2 * C);
                float *x = malloc(sizeof(float) * C), *y1 = malloc(sizeof(float) * O1);
                float *y2 = malloc(sizeof(float) * O2);
                for (int i = 0; i < O1 * C; i++) w1[i] = (float)((i * 37 % 23) - 11) / 7;
                for (int i = 0; i < O2 * C; i++) w2[i] = (float)((i * 53 % 19) - 9) / 5;
                for (int i = 0; i < C; i++) x[i] = (float)((i * 11 % 17) - 8) / 3;
                for (int i = 0; i < O1; i++) y1[i] = 99;   /* overwritten */
                for (int i = 0; i < O2; i++) y2[i] = (float)i;   /* accumulated onto */
                MatvecPart parts[] = {{.weight = w1, .out = y1, .rows = O1}, {.weight = w2, .out = y2, .rows = O2, .accumulate = 1}};
                matvec_group(parts, 2, x, C);
                /* and the same two behind a transposed part with its own narrow input (MeKi's
                 * output product in the FFN's down pass), which must equal linear_forward_t */
                enum { TC = 24, TO = 200 };
                float wt[TC * TO], xt[TC], yt[TO], yt_alone[TO];
                for (int i = 0; i < TC * TO; i++) wt[i] = (float)((i * 29 % 31) - 15) / 9;
                for (int i = 0; i < TC; i++) xt[i] = (float)((i * 7 % 13) - 6) / 4;
                float *y2_again = malloc(sizeof(float) * O2);
                for (int i = 0; i < O2; i++) y2_again[i] = (float)i;
                MatvecPart mixed[] = {{.weight = w1, .out = y1, .rows = O1},
                                      {.weight = w2, .out = y2_again, .rows = O2, .accumulate = 1},
                                      {.weight = wt, .out = yt, .rows = TO, .x = xt, .cols = TC, .transposed = 1}};
                float y1_first[67];
                memcpy(y1_first, y1, sizeof(float) * O1);
                matvec_group(mixed, 3, x, C);
                linear_forward_t(yt_alone, xt, wt, 1, TC, TO);
                assert_memory_equal(yt, yt_alone, sizeof yt);
                assert_memory_equal(y1, y1_first, sizeof(float) * O1);
                assert_memory_equal(y2, y2_again, sizeof(float) * O2);
                free(y2_again);
                for (int o = 0; o < O1 + O2; o++) {
                    const float *w = o < O1 ? w1 + (size_t)o * C : w2 + (size_t)(o - O1) * C;
                    double ref = o < O1 ? 0 : o - O1, scale = 1;
                    for (int c = 0; c < C; c++) { ref += (double)w[c] * x[c]; scale += fabs(w[c] * x[c]); }
                    double got = o < O1 ? y1[o] : y2[o - O1];
                    assert_true(fabs(got - ref) <= 1e-5 * scale);
                }
                free(w1); free(w2); free(x); free(y1); free(y2);
            }
    }
    kernels_set_threads(1);
}

/* The transposed product from packed rows (MeKi's output product under bf16 or q8_0 RAM
 * weights): bf16 equals linear_forward_t on the values it decodes to, bit for bit (the same
 * fused multiply-adds in the same order); q8_0 within rounding of it, as its dot products
 * are; 2 threads (33 x 704 is past MATVEC_PARALLEL_WORK) as 1; nothing past O written. */
static void test_packed_transposed_part(void **state) {
    const int widths[] = {1, 15, 24, 33}, outs[] = {32, 64, 96, 192, 704};
    for (int dtype = WEIGHTS_BF16; dtype <= WEIGHTS_Q8_0; dtype++)
        for (int wi = 0; wi < 4; wi++)
            for (int oi = 0; oi < 5; oi++) {
                int C = widths[wi], O = outs[oi];
                float *wt = malloc(sizeof(float) * C * O), *x = malloc(sizeof(float) * C);
                float *ref = malloc(sizeof(float) * O), *y[2];
                void *packed = malloc(weights_bytes(dtype, C, O));
                for (int i = 0; i < C * O; i++) wt[i] = (float)((i * 37 % 23) - 11) / 7;
                for (int i = 0; i < C; i++) x[i] = (float)((i * 11 % 17) - 8) / 3;
                weights_encode(dtype, packed, wt, C, O);
                weights_roundtrip(dtype, wt, C, O);
                kernels_set_threads(1);
                linear_forward_t(ref, x, wt, 1, C, O);
                for (int threads = 1; threads <= 2; threads++) {
                    kernels_set_threads(threads);
                    y[threads - 1] = malloc(sizeof(float) * (O + 1));
                    for (int i = 0; i <= O; i++) y[threads - 1][i] = 99;
                    MatvecPart part = {.out = y[threads - 1], .rows = O, .x = x, .cols = C, .transposed = 1,
                                       .packed = packed, .packed_dtype = dtype};
                    matvec_group(&part, 1, x, C);
                    assert_true(y[threads - 1][O] == 99);
                }
                assert_memory_equal(y[0], y[1], sizeof(float) * O);
                if (dtype == WEIGHTS_BF16) assert_memory_equal(y[0], ref, sizeof(float) * O);
                for (int o = 0; o < O; o++) {
                    double scale = 1;
                    for (int c = 0; c < C; c++) scale += fabs((double)x[c] * wt[(size_t)c * O + o]);
                    assert_true(fabs(y[0][o] - ref[o]) <= 1e-6 * scale);
                }
                free(wt); free(x); free(ref); free(y[0]); free(y[1]); free(packed);
            }
    kernels_set_threads(1);
}

/* The transposed product (MeKi's folded output product) against a double reference:
 * narrow inner widths (d_mem 1, 15, 16, 33), outputs with and without a full 64-float tile
 * or a 16-float tail, one row (the axpy kernel, 1 and 2 threads; 33 x 700 is past
 * MATVEC_PARALLEL_WORK, so 2 threads split it) and three (sgemm). Nothing past O is written. */
static void test_linear_forward_t_reference(void **state) {
    const int widths[] = {1, 15, 16, 33}, outs[] = {1, 7, 16, 63, 64, 100, 129, 700};
    for (int threads = 1; threads <= 2; threads++) {
        kernels_set_threads(threads);
        for (int wi = 0; wi < 4; wi++)
            for (int oi = 0; oi < 8; oi++)
                for (int N = 1; N <= 3; N += 2) {
                    int C = widths[wi], O = outs[oi];
                    float *wt = malloc(sizeof(float) * C * O), *x = malloc(sizeof(float) * N * C);
                    float *y = malloc(sizeof(float) * (N * O + 1));
                    for (int i = 0; i < C * O; i++) wt[i] = (float)((i * 37 % 23) - 11) / 7;
                    for (int i = 0; i < N * C; i++) x[i] = (float)((i * 11 % 17) - 8) / 3;
                    for (int i = 0; i <= N * O; i++) y[i] = 99;
                    linear_forward_t(y, x, wt, N, C, O);
                    for (int n = 0; n < N; n++)
                        for (int o = 0; o < O; o++) {
                            double ref = 0, scale = 1;
                            for (int c = 0; c < C; c++) {
                                double p = (double)x[n * C + c] * wt[(size_t)c * O + o];
                                ref += p;
                                scale += fabs(p);
                            }
                            assert_true(fabs(y[n * O + o] - ref) <= 1e-5 * scale);
                        }
                    assert_true(y[N * O] == 99);
                    free(wt); free(x); free(y);
                }
    }
    kernels_set_threads(1);
}

/* ---------------------------------------------------------------- the *_set backwards */

/* A *_set backward run on a buffer full of garbage must leave what the accumulating
 * backward leaves in a zeroed one: it overwrites, it never reads the old values. */
static int overwrites(const char *name, const float *result, const float *fresh, long n) {
    float *zeros = zero_array(n);
    int failures = accumulates(name, result, zeros, fresh, n);
    free(zeros);
    return failures;
}

static void test_matmul_backward_set_overwrites_din(void **state) {
    Rng rng;
    rng_seed(&rng, 90);
    MatmulCase m;
    matmul_case_init(&m, &rng, 6, 7, 5);
    float *din = zero_array(6 * 7), *dweight = zero_array(5 * 7);
    matmul_backward(din, dweight, m.R, m.in, m.weight, 6, 7, 5);
    float *din_set = random_array(&rng, 6 * 7, -100, 100);
    float *dweight_initial = random_array(&rng, 5 * 7, -1, 1);
    float *dweight_sum = copy_array(dweight_initial, 5 * 7);
    matmul_backward_set(din_set, dweight_sum, m.R, m.in, m.weight, 6, 7, 5);
    assert_int_equal(overwrites("matmul_set din", din_set, din, 6 * 7), 0);
    /* the weight's gradient still accumulates: several steps' uses may share it */
    assert_int_equal(accumulates("matmul_set dweight", dweight_sum, dweight_initial, dweight, 5 * 7), 0);
    free(din); free(dweight); free(din_set); free(dweight_initial); free(dweight_sum);
    matmul_case_free(&m);
}

static void test_swiglu_backward_set_overwrites(void **state) {
    Rng rng;
    rng_seed(&rng, 91);
    ElementwiseCase e;
    elementwise_case_init(&e, &rng, ACT_SILU);
    long n = ELEMENTWISE_SIZE;
    float *dgate = zero_array(n), *dup = zero_array(n);
    swiglu_backward(dgate, dup, e.R, e.gate, e.up, n);
    float *dgate_set = random_array(&rng, n, -100, 100), *dup_set = random_array(&rng, n, -100, 100);
    swiglu_backward_set(dgate_set, dup_set, e.R, e.gate, e.up, n);
    assert_int_equal(overwrites("swiglu_set dgate", dgate_set, dgate, n), 0);
    assert_int_equal(overwrites("swiglu_set dup", dup_set, dup, n), 0);
    free(dgate); free(dup); free(dgate_set); free(dup_set);
    elementwise_case_free(&e);
}

/* din over garbage equals din from zero; dgain still adds (gains are shared by the rows of
 * several calls, e.g. q_norm by every head) */
static void test_rmsnorm_backward_set_overwrites(void **state) {
    Rng rng;
    rng_seed(&rng, 95);
    RmsnormCase r;
    rmsnorm_case_init(&r, &rng, 70, 9);
    long n = 70 * 9;
    float *din = zero_array(n), *dgain = zero_array(9);
    rmsnorm_gradients(&r, din, dgain);
    float *din_set = random_array(&rng, n, -100, 100), *dgain_initial = random_array(&rng, 9, -1, 1);
    float *dgain_sum = copy_array(dgain_initial, 9);
    rmsnorm_backward_set(din_set, dgain_sum, r.R, r.in, r.gain, r.rstd, r.N, r.C);
    assert_int_equal(overwrites("rmsnorm_set din", din_set, din, n), 0);
    assert_int_equal(accumulates("rmsnorm_set dgain", dgain_sum, dgain_initial, dgain, 9), 0);
    free(din); free(dgain); free(din_set); free(dgain_initial); free(dgain_sum);
    rmsnorm_case_free(&r);
}

/* every layout of heads: the group's first head overwrites dk, dv, the others add */
static void check_attention_backward_set(int H, int KV, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    AttentionCase a;
    attention_case_init(&a, &rng, 2, 5, H, KV, 8);
    long nq = query_size(&a), nk = key_size(&a);
    float *dq = zero_array(nq), *dk = zero_array(nk), *dv = zero_array(nk);
    attention_gradients(&a, dq, dk, dv);
    float *dq_set = random_array(&rng, nq, -100, 100), *dk_set = random_array(&rng, nk, -100, 100),
          *dv_set = random_array(&rng, nk, -100, 100);
    attention_backward_set(dq_set, dk_set, dv_set, a.R, a.probs, a.q, a.k, a.v, a.B, a.T, a.H, a.KV, a.hd);
    assert_int_equal(overwrites("attention_set dq", dq_set, dq, nq), 0);
    assert_int_equal(overwrites("attention_set dk", dk_set, dk, nk), 0);
    assert_int_equal(overwrites("attention_set dv", dv_set, dv, nk), 0);
    free(dq); free(dk); free(dv); free(dq_set); free(dk_set); free(dv_set);
    attention_case_free(&a);
}

static void test_attention_backward_set_overwrites(void **state) {
    check_attention_backward_set(4, 2, 92);
    check_attention_backward_set(4, 4, 93);
    check_attention_backward_set(4, 1, 94);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matvec_group_reference),
        cmocka_unit_test(test_packed_transposed_part),
        cmocka_unit_test(test_linear_forward_t_reference),
        cmocka_unit_test(test_matmul_backward),
        cmocka_unit_test(test_matmul_backward_sampled),
        cmocka_unit_test(test_matmul_backward_accumulates),
        cmocka_unit_test(test_matmul_forward_reference),
        cmocka_unit_test(test_rmsnorm_backward),
        cmocka_unit_test(test_rmsnorm_backward_without_gain),
        cmocka_unit_test(test_rmsnorm_forward_reference),
        cmocka_unit_test(test_rope_backward),
        cmocka_unit_test(test_rope_forward_reference),
        cmocka_unit_test(test_rope_decode_matches_training),
        cmocka_unit_test(test_attention_backward_grouped),
        cmocka_unit_test(test_attention_backward_multi_head),
        cmocka_unit_test(test_attention_backward_multi_query),
        cmocka_unit_test(test_attention_forward_reference),
        cmocka_unit_test(test_attention_forward_large_scores),
        cmocka_unit_test(test_attention_decode_matches_forward),
        cmocka_unit_test(test_attention_decode_large_scores),
        cmocka_unit_test(test_attention_deterministic),
        cmocka_unit_test(test_swiglu_backward),
        cmocka_unit_test(test_matmul_backward_set_overwrites_din),
        cmocka_unit_test(test_swiglu_backward_set_overwrites),
        cmocka_unit_test(test_rmsnorm_backward_set_overwrites),
        cmocka_unit_test(test_attention_backward_set_overwrites),
        cmocka_unit_test(test_sigmoid_backward),
        cmocka_unit_test(test_silu_backward),
        cmocka_unit_test(test_gelu_backward),
        cmocka_unit_test(test_activation_forward_reference),
        cmocka_unit_test(test_crossentropy_backward),
        cmocka_unit_test(test_crossentropy_in_place),
        cmocka_unit_test(test_crossentropy_loss_reference),
        cmocka_unit_test(test_log_softmax),
        cmocka_unit_test(test_embedding_backward),
        cmocka_unit_test(test_adamw_without_decay),
        cmocka_unit_test(test_adamw_with_decay),
        cmocka_unit_test(test_fast_expf_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
