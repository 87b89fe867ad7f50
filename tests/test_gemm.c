/* The GEMM backends (kernels/gemm.h): every matmul on oneDNN against the same on OpenBLAS
 * (forward, backward, backward_set; = and +=; odd shapes; the three transposes the model
 * uses), the finite-difference checks on oneDNN, and bf16 operands within a stated error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/gemm.h"
#include "kernels/gemm_dnnl.h"
#include "kernels/quant.h"
#include "tests/gradcheck.h"
#include <math.h>
#include <string.h>

/* oneDNN and OpenBLAS sum in other orders: f32 rounding apart, on values of order 1 */
static const Tolerance BACKENDS_AGREE = {1e-5, 1e-5};

typedef struct { int N, C, O; } Shape;
/* 1x1x1, odd sizes under and over oneDNN's blocks, and one past auto's OpenBLAS cut-off */
static const Shape SHAPES[] = {{1, 1, 1}, {7, 13, 5}, {1, 17, 3}, {5, 1, 9}, {33, 65, 31}, {64, 96, 80}};
enum { N_SHAPES = sizeof SHAPES / sizeof SHAPES[0] };

/* Every output of the three matmuls, each from a given prior (so += is seen), on backend b. */
typedef struct { float *out, *out_acc, *din, *din_set, *dweight; } Outputs;

static void run_all(GemmBackend b, const Shape *s, const float *in, const float *weight, const float *dout,
                    const float *prior_out, const float *prior_din, const float *prior_dw, Outputs *o) {
    assert_int_equal(gemm_set_backend(b), 0);
    long no = (long)s->N * s->O, nc = (long)s->N * s->C, oc = (long)s->O * s->C;
    o->out = copy_array(prior_out, no);
    o->out_acc = copy_array(prior_out, no);
    o->din = copy_array(prior_din, nc);
    o->din_set = copy_array(prior_din, nc);
    o->dweight = copy_array(prior_dw, oc);
    float *dweight_set = copy_array(prior_dw, oc);
    matmul_forward(o->out, in, weight, s->N, s->C, s->O, 0);
    matmul_forward(o->out_acc, in, weight, s->N, s->C, s->O, 1);
    matmul_backward(o->din, o->dweight, dout, in, weight, s->N, s->C, s->O);
    matmul_backward_set(o->din_set, dweight_set, dout, in, weight, s->N, s->C, s->O);
    /* the set variant's dweight still accumulates, as backward's */
    double *expect = malloc(sizeof(double) * oc);
    for (long i = 0; i < oc; i++) expect[i] = o->dweight[i];
    assert_int_equal(arrays_close("dweight of backward_set", dweight_set, expect, oc, BACKENDS_AGREE), 0);
    free(expect);
    free(dweight_set);
    gemm_set_backend(GEMM_AUTO);
}

static void outputs_free(Outputs *o) {
    free(o->out); free(o->out_acc); free(o->din); free(o->din_set); free(o->dweight);
}

static int agree(const char *what, const Shape *s, const float *a, const float *b, long n) {
    double *expect = malloc(sizeof(double) * n);
    for (long i = 0; i < n; i++) expect[i] = b[i];
    char name[96];
    snprintf(name, sizeof name, "%s at %dx%dx%d", what, s->N, s->C, s->O);
    int rc = arrays_close(name, a, expect, n, BACKENDS_AGREE);
    free(expect);
    return rc;
}

static void test_onednn_matches_openblas(void **state) {
    if (gemm_set_backend(GEMM_ONEDNN)) skip();   /* no AVX-512 oneDNN here: auto never uses it */
    Rng rng;
    rng_seed(&rng, 31);
    for (int k = 0; k < N_SHAPES; k++) {
        const Shape *s = &SHAPES[k];
        long no = (long)s->N * s->O, nc = (long)s->N * s->C, oc = (long)s->O * s->C;
        float *in = random_array(&rng, nc, -1, 1), *weight = random_array(&rng, oc, -1, 1),
              *dout = random_array(&rng, no, -1, 1), *p_out = random_array(&rng, no, -1, 1),
              *p_din = random_array(&rng, nc, -1, 1), *p_dw = random_array(&rng, oc, -1, 1);
        Outputs blas, dnnl;
        run_all(GEMM_OPENBLAS, s, in, weight, dout, p_out, p_din, p_dw, &blas);
        run_all(GEMM_ONEDNN, s, in, weight, dout, p_out, p_din, p_dw, &dnnl);
        assert_int_equal(agree("forward =", s, dnnl.out, blas.out, no), 0);
        assert_int_equal(agree("forward +=", s, dnnl.out_acc, blas.out_acc, no), 0);
        assert_int_equal(agree("backward din +=", s, dnnl.din, blas.din, nc), 0);
        assert_int_equal(agree("backward_set din =", s, dnnl.din_set, blas.din_set, nc), 0);
        assert_int_equal(agree("backward dweight +=", s, dnnl.dweight, blas.dweight, oc), 0);
        outputs_free(&blas);
        outputs_free(&dnnl);
        free(in); free(weight); free(dout); free(p_out); free(p_din); free(p_dw);
    }
}

/* The same shape called again reuses its primitive, with other buffers: a cached primitive
 * bound to the first call's pointers would write there. */
static void test_onednn_cached_primitive_takes_new_buffers(void **state) {
    if (gemm_set_backend(GEMM_ONEDNN)) skip();
    Rng rng;
    rng_seed(&rng, 32);
    int N = 9, C = 11, O = 6;
    float *in1 = random_array(&rng, N * C, -1, 1), *in2 = random_array(&rng, N * C, -1, 1),
          *w = random_array(&rng, O * C, -1, 1), *out1 = zero_array(N * O), *out2 = zero_array(N * O);
    matmul_forward(out1, in1, w, N, C, O, 0);
    matmul_forward(out2, in2, w, N, C, O, 0);
    assert_int_equal(gemm_set_backend(GEMM_OPENBLAS), 0);
    float *ref1 = zero_array(N * O), *ref2 = zero_array(N * O);
    matmul_forward(ref1, in1, w, N, C, O, 0);
    matmul_forward(ref2, in2, w, N, C, O, 0);
    gemm_set_backend(GEMM_AUTO);
    Shape s = {N, C, O};
    assert_int_equal(agree("first call", &s, out1, ref1, N * O), 0);
    assert_int_equal(agree("second call", &s, out2, ref2, N * O), 0);
    free(in1); free(in2); free(w); free(out1); free(out2); free(ref1); free(ref2);
}

/* ---- the finite-difference checks, on oneDNN ---- */

typedef struct { int N, C, O; float *in, *weight, *out, *R; } Case;

static double loss(void *context) {
    Case *m = context;
    matmul_forward(m->out, m->in, m->weight, m->N, m->C, m->O, 0);
    return weighted_sum(m->out, m->R, (long)m->N * m->O);
}

static void test_onednn_gradients(void **state) {
    if (gemm_set_backend(GEMM_ONEDNN)) skip();
    Rng rng;
    rng_seed(&rng, 33);
    const Shape shapes[] = {{7, 13, 5}, {16, 64, 48}};
    for (int k = 0; k < 2; k++) {
        int N = shapes[k].N, C = shapes[k].C, O = shapes[k].O;
        Case m = {N, C, O, random_array(&rng, (long)N * C, -1, 1), random_array(&rng, (long)O * C, -1, 1),
                  zero_array((long)N * O), random_array(&rng, (long)N * O, -1, 1)};
        float *din = zero_array((long)N * C), *dweight = zero_array((long)O * C);
        matmul_backward(din, dweight, m.R, m.in, m.weight, N, C, O);
        assert_int_equal(gradient_check_with("onednn din", loss, &m, m.in, din, (long)N * C, 60, &rng,
                                             GRADIENT_TOLERANCE), 0);
        assert_int_equal(gradient_check_with("onednn dweight", loss, &m, m.weight, dweight, (long)O * C, 60,
                                             &rng, GRADIENT_TOLERANCE), 0);
        free(din); free(dweight); free(m.in); free(m.weight); free(m.out); free(m.R);
    }
    gemm_set_backend(GEMM_AUTO);
}

/* ---- bf16 operands ---- */

static double rel_error(const float *a, const double *ref, long n) {
    double diff = 0, norm = 0;
    for (long i = 0; i < n; i++) diff += (a[i] - ref[i]) * (a[i] - ref[i]), norm += ref[i] * ref[i];
    return sqrt(diff / norm);
}

static double bf16_round(float x) { return bf16_to_f32(f32_to_bf16(x)); }

/* out = in @ w^T in double, on the operands as given or rounded to bf16 first */
static void reference(double *out, const float *in, const float *w, int N, int C, int O, int rounded) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double sum = 0;
            for (int c = 0; c < C; c++) {
                double a = in[(long)n * C + c], b = w[(long)o * C + c];
                sum += rounded ? bf16_round((float)a) * bf16_round((float)b) : a * b;
            }
            out[(long)n * O + o] = sum;
        }
}

/* bf16 GEMMs are the products of the rounded operands summed in f32 (within 1e-5 of that
 * in double), hence within 1e-2 relative (Frobenius) of f32's: bf16 keeps 8 significant
 * bits, a relative rounding of 2^-9 per operand. Each matmul, forward and backward. */
static void test_bf16_within_stated_error(void **state) {
    if (gemm_precision_check(PRECISION_BF16)) skip();
    Rng rng;
    rng_seed(&rng, 34);
    const Shape shapes[] = {{1, 1, 1}, {7, 13, 5}, {48, 256, 96}};
    for (int k = 0; k < 3; k++) {
        int N = shapes[k].N, C = shapes[k].C, O = shapes[k].O;
        float *in = random_array(&rng, (long)N * C, -1, 1), *w = random_array(&rng, (long)O * C, -1, 1),
              *dout = random_array(&rng, (long)N * O, -1, 1), *out = zero_array((long)N * O),
              *din = zero_array((long)N * C), *dw = zero_array((long)O * C);
        gemm_step_begin(PRECISION_BF16);
        matmul_forward(out, in, w, N, C, O, 0);
        matmul_backward_set(din, dw, dout, in, w, N, C, O);
        gemm_step_end();
        /* din = dout @ w is dout[N, O] against w^T viewed as [C, O]; dw = dout^T @ in */
        float *wt = zero_array((long)O * C), *dout_t = zero_array((long)N * O), *in_t = zero_array((long)N * C);
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++) wt[(long)c * O + o] = w[(long)o * C + c];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < O; o++) dout_t[(long)o * N + n] = dout[(long)n * O + o];
            for (int c = 0; c < C; c++) in_t[(long)c * N + n] = in[(long)n * C + c];
        }
        struct { const char *name; float *got; const float *a, *b; int rows, inner, cols; } checks[] = {
            {"forward", out, in, w, N, C, O},
            {"din", din, dout, wt, N, O, C},
            {"dweight", dw, dout_t, in_t, O, N, C},
        };
        for (int c = 0; c < 3; c++) {
            long n = (long)checks[c].rows * checks[c].cols;
            double *exact = malloc(sizeof(double) * n), *rounded = malloc(sizeof(double) * n);
            reference(exact, checks[c].a, checks[c].b, checks[c].rows, checks[c].inner, checks[c].cols, 0);
            reference(rounded, checks[c].a, checks[c].b, checks[c].rows, checks[c].inner, checks[c].cols, 1);
            double of_rounded = rel_error(checks[c].got, rounded, n), of_f32 = rel_error(checks[c].got, exact, n);
            if (of_rounded > 1e-5 || of_f32 > 1e-2)
                fail_msg("bf16 %s at %dx%dx%d: %.2e from the rounded operands' product (<= 1e-5), %.2e from "
                         "f32's (<= 1e-2)", checks[c].name, N, C, O, of_rounded, of_f32);
            /* and it is bf16: the rounding shows, unless every operand was a bf16 already */
            if (N * C * O > 1 && of_f32 < 1e-5) fail_msg("bf16 %s equals f32's: operands not rounded", checks[c].name);
            free(exact); free(rounded);
        }
        free(wt); free(dout_t); free(in_t);
        free(in); free(w); free(dout); free(out); free(din); free(dw);
    }
}

/* A weight's bf16 copy lives for one step: the next step sees the optimizer's change. */
static void test_bf16_weight_copy_follows_the_step(void **state) {
    if (gemm_precision_check(PRECISION_BF16)) skip();
    Rng rng;
    rng_seed(&rng, 35);
    int N = 8, C = 40, O = 24;
    float *in = random_array(&rng, N * C, -1, 1), *w = random_array(&rng, O * C, -1, 1),
          *out = zero_array(N * O);
    double *expect = malloc(sizeof(double) * N * O);
    for (int step = 0; step < 2; step++) {
        gemm_step_begin(PRECISION_BF16);
        matmul_forward(out, in, w, N, C, O, 0);
        gemm_step_end();
        reference(expect, in, w, N, C, O, 1);
        if (rel_error(out, expect, N * O) > 1e-5) fail_msg("step %d used a stale bf16 weight", step);
        for (int i = 0; i < O * C; i++) w[i] = -2 * w[i] + 0.25f;   /* the "optimizer" */
    }
    /* outside a step the GEMMs are f32 (evaluation, prefill) */
    matmul_forward(out, in, w, N, C, O, 0);
    reference(expect, in, w, N, C, O, 0);
    assert_true(rel_error(out, expect, N * O) < 1e-6);
    free(in); free(w); free(out); free(expect);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onednn_matches_openblas),
        cmocka_unit_test(test_onednn_cached_primitive_takes_new_buffers),
        cmocka_unit_test(test_onednn_gradients),
        cmocka_unit_test(test_bf16_within_stated_error),
        cmocka_unit_test(test_bf16_weight_copy_follows_the_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
