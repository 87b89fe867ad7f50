/* The blocked causal attention (kernels/attention.c) against the full T x T computation it
 * replaced, on odd sequence lengths and head sizes, with finite differences across several
 * query blocks, and a check that a block never touches the keys past its diagonal.
 * test_kernels.c holds the single-block checks against naive double loops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/attention.h"
#include "kernels/fastmath.h"
#include "tests/gradcheck.h"
#include <cblas.h>
#include <string.h>

/* Blocked and full differ only in the order of float sums (dK, dV add the blocks one at a
 * time), so they agree to float rounding relative to the largest value. */
static const double MATCH_TOLERANCE = 5e-6;

/* The kernel before blocking, verbatim but for the saved probabilities, kept [T, T] here:
 * one sgemm per (batch, head) over all T x T scores, the masked ones included. */
static void full_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                         int B, int T, int H, int KV, int hd) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV;
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

/* dq, dk, dv += the gradients (the full kernel's accumulate form) */
static void full_backward(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                          const float *q, const float *k, const float *v, int B, int T, int H, int KV,
                          int hd) {
    float scale = 1.0f / sqrtf((float)hd);
    int group = H / KV;
    float *dp = malloc(sizeof(float) * T * T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int g = h / group;
            const float *kb = k + (long)b * T * KV * hd + g * hd;
            const float *vb = v + (long)b * T * KV * hd + g * hd;
            float *dkb = dk + (long)b * T * KV * hd + g * hd;
            float *dvb = dv + (long)b * T * KV * hd + g * hd;
            const float *p = probs + ((long)b * H + h) * T * T;
            const float *qb = q + (long)b * T * H * hd + h * hd;
            const float *dob = dout + (long)b * T * H * hd + h * hd;
            float *dqb = dq + (long)b * T * H * hd + h * hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dob, H * hd, vb,
                        KV * hd, 0.0f, dp, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, dob, H * hd,
                        1.0f, dvb, KV * hd);
            for (int t = 0; t < T; t++) {
                const float *pr = p + (long)t * T;
                float *dr = dp + (long)t * T, dot = 0;
                for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
                for (int j = 0; j <= t; j++) dr[j] = pr[j] * (dr[j] - dot);
                for (int j = t + 1; j < T; j++) dr[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, scale, dp, T, kb,
                        KV * hd, 1.0f, dqb, H * hd);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, scale, dp, T, qb, H * hd,
                        1.0f, dkb, KV * hd);
        }
    free(dp);
}

typedef struct {
    int B, T, H, KV, hd;
    float *q, *k, *v, *out, *probs, *R;
} Case;

static long q_size(const Case *c) { return (long)c->B * c->T * c->H * c->hd; }
static long kv_size(const Case *c) { return (long)c->B * c->T * c->KV * c->hd; }

/* q, k in [-2, 2]: a softmax far from uniform, whose Jacobian matters */
static void case_init(Case *c, Rng *rng, int B, int T, int H, int KV, int hd) {
    *c = (Case){.B = B, .T = T, .H = H, .KV = KV, .hd = hd};
    c->q = random_array(rng, q_size(c), -2, 2);
    c->k = random_array(rng, kv_size(c), -2, 2);
    c->v = random_array(rng, kv_size(c), -1, 1);
    c->out = zero_array(q_size(c));
    c->probs = zero_array((long)B * H * attention_probs_size(T));
    c->R = random_array(rng, q_size(c), -1, 1);
}

static void case_free(Case *c) {
    free(c->q); free(c->k); free(c->v); free(c->out); free(c->probs); free(c->R);
}

static double case_loss(void *context) {
    Case *c = context;
    attention_forward(c->out, c->probs, c->q, c->k, c->v, c->B, c->T, c->H, c->KV, c->hd);
    return weighted_sum(c->out, c->R, q_size(c));
}

/* max |got - want| / max |want|, NaN counting as a mismatch */
static double relative_error(const float *got, const float *want, long n) {
    double diff = 0, scale = 1e-30;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= diff)) diff = d;
        scale = fmax(scale, fabs(want[i]));
    }
    return diff / scale;
}

static int matches(const char *name, const Case *c, const float *got, const float *want, long n) {
    double error = relative_error(got, want, n);
    if (error <= MATCH_TOLERANCE) return 0;
    fprintf(stderr, "%s (T %d, hd %d, H %d, KV %d): relative error %.3g\n", name, c->T, c->hd, c->H,
            c->KV, error);
    return 1;
}

/* Forward, saved probabilities, and both backward forms against the full kernel. */
static void check_matches_full(int B, int T, int H, int KV, int hd, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    Case c;
    case_init(&c, &rng, B, T, H, KV, hd);
    long nq = q_size(&c), nk = kv_size(&c), head = attention_probs_size(T);
    float *out = zero_array(nq), *probs = zero_array((long)B * H * T * T);
    full_forward(out, probs, c.q, c.k, c.v, B, T, H, KV, hd);
    case_loss(&c);
    assert_int_equal(matches("out", &c, c.out, out, nq), 0);
    for (long bh = 0; bh < (long)B * H; bh++)
        for (int t = 0; t < T; t++) {
            /* the row up to its block's end: softmax, then the zeros the backward relies on */
            const float *got = c.probs + bh * head + attention_probs_row(T, t);
            assert_int_equal(matches("probs", &c, got, probs + (bh * T + t) * T,
                                     attention_probs_keys(T, t)), 0);
        }

    float *dq = random_array(&rng, nq, -1, 1), *dk = random_array(&rng, nk, -1, 1),
          *dv = random_array(&rng, nk, -1, 1);
    float *dq_full = copy_array(dq, nq), *dk_full = copy_array(dk, nk), *dv_full = copy_array(dv, nk);
    attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, B, T, H, KV, hd);
    full_backward(dq_full, dk_full, dv_full, c.R, probs, c.q, c.k, c.v, B, T, H, KV, hd);
    assert_int_equal(matches("dq +=", &c, dq, dq_full, nq), 0);
    assert_int_equal(matches("dk +=", &c, dk, dk_full, nk), 0);
    assert_int_equal(matches("dv +=", &c, dv, dv_full, nk), 0);

    /* the set form over garbage, against the full kernel from zero */
    for (long i = 0; i < nq; i++) dq[i] = NAN, dq_full[i] = 0;
    for (long i = 0; i < nk; i++) dk[i] = dv[i] = NAN, dk_full[i] = dv_full[i] = 0;
    attention_backward_set(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, B, T, H, KV, hd);
    full_backward(dq_full, dk_full, dv_full, c.R, probs, c.q, c.k, c.v, B, T, H, KV, hd);
    assert_int_equal(matches("dq =", &c, dq, dq_full, nq), 0);
    assert_int_equal(matches("dk =", &c, dk, dk_full, nk), 0);
    assert_int_equal(matches("dv =", &c, dv, dv_full, nk), 0);
    free(out); free(probs); free(dq); free(dk); free(dv); free(dq_full); free(dk_full); free(dv_full);
    case_free(&c);
}

/* T = 1, less than one block, one block and one row, several blocks with a short last one;
 * head sizes odd and even; grouped, multi-head and multi-query. */
static void test_attention_matches_full(void **state) {
    check_matches_full(2, 1, 4, 2, 8, 1);
    check_matches_full(2, 7, 4, 2, 5, 2);
    check_matches_full(1, ATTENTION_BLOCK, 2, 1, 16, 3);
    check_matches_full(2, 65, 4, 4, 32, 4);
    check_matches_full(1, 130, 4, 2, 12, 5);
    check_matches_full(1, 130, 3, 1, 33, 6);
}

/* Finite differences of every gradient across three query blocks (32, 32, 6 rows): dK and
 * dV collect from several blocks, dQ from keys in earlier blocks. */
static void check_gradients(int H, int KV, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    Case c;
    case_init(&c, &rng, 1, 2 * ATTENTION_BLOCK + 6, H, KV, 6);
    long nq = q_size(&c), nk = kv_size(&c);
    float *dq = zero_array(nq), *dk = zero_array(nk), *dv = zero_array(nk);
    case_loss(&c);
    attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, c.B, c.T, c.H, c.KV, c.hd);
    Tolerance t = GRADIENT_TOLERANCE;
    long samples = 300;
    assert_int_equal(gradient_check_with("blocked dq", case_loss, &c, c.q, dq, nq, samples, &rng, t), 0);
    assert_int_equal(gradient_check_with("blocked dk", case_loss, &c, c.k, dk, nk, samples, &rng, t), 0);
    assert_int_equal(gradient_check_with("blocked dv", case_loss, &c, c.v, dv, nk, samples, &rng, t), 0);
    free(dq); free(dk); free(dv);
    case_free(&c);
}

static void test_attention_blocked_gradients(void **state) {
    check_gradients(4, 2, 10);
    check_gradients(2, 1, 11);
}

/* The point of blocking: the first query block reads keys and values 0..BLOCK-1 only. With
 * every later key and value NaN, its outputs and its rows' dq must be what they were; the
 * full kernel multiplies the masked zeros by those NaNs. */
static void test_attention_first_block_ignores_later_keys(void **state) {
    Rng rng;
    rng_seed(&rng, 20);
    Case c;
    case_init(&c, &rng, 2, 2 * ATTENTION_BLOCK + 3, 4, 2, 8);
    long nq = q_size(&c), nk = kv_size(&c);
    float *dq = zero_array(nq), *dk = zero_array(nk), *dv = zero_array(nk);
    case_loss(&c);
    attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, c.B, c.T, c.H, c.KV, c.hd);
    float *out = copy_array(c.out, nq), *dq_clean = copy_array(dq, nq);
    long kv_row = (long)c.KV * c.hd, q_row = (long)c.H * c.hd;
    for (int b = 0; b < c.B; b++)
        for (long i = ATTENTION_BLOCK * kv_row; i < c.T * kv_row; i++)
            c.k[b * c.T * kv_row + i] = c.v[b * c.T * kv_row + i] = NAN;
    memset(dq, 0, sizeof(float) * nq);
    case_loss(&c);
    attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, c.B, c.T, c.H, c.KV, c.hd);
    for (int b = 0; b < c.B; b++) {
        long first = b * c.T * q_row, n = ATTENTION_BLOCK * q_row;
        assert_memory_equal(c.out + first, out + first, sizeof(float) * n);
        assert_memory_equal(dq + first, dq_clean + first, sizeof(float) * n);
    }
    free(dq); free(dk); free(dv); free(out); free(dq_clean);
    case_free(&c);
}

/* The packed layout: rows one after another, each as long as its block's keys. */
static void test_attention_probs_layout(void **state) {
    const int lengths[] = {1, 7, ATTENTION_BLOCK, ATTENTION_BLOCK + 1, 130};
    for (size_t n = 0; n < sizeof lengths / sizeof lengths[0]; n++) {
        int T = lengths[n];
        long offset = 0;
        for (int t = 0; t < T; t++) {
            int keys = attention_probs_keys(T, t);
            assert_int_equal(attention_probs_row(T, t), offset);
            assert_true(keys > t && keys <= T && keys - t <= ATTENTION_BLOCK);
            assert_int_equal(keys, T < (t / ATTENTION_BLOCK + 1) * ATTENTION_BLOCK
                                       ? T : (t / ATTENTION_BLOCK + 1) * ATTENTION_BLOCK);
            offset += keys;
        }
        assert_int_equal(attention_probs_size(T), offset);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention_probs_layout),
        cmocka_unit_test(test_attention_matches_full),
        cmocka_unit_test(test_attention_blocked_gradients),
        cmocka_unit_test(test_attention_first_block_ignores_later_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
