/* Training on the built-in corpus: the loss falls, runs are deterministic, resume is
 * exact, checkpoints round-trip and damaged ones are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data/dataset.h"
#include "models/checkpoint.h"
#include "models/train.h"
#include "util/error.h"

static char data_dir[4096], work[4096];

static int setup(void **state) {
    DataOptions options = {.vocab_size = 4096};
    DataSummary summary;
    if (dataset_prepare(&options, &summary)) {
        fprintf(stderr, "data: %s\n", error_message());
        return -1;
    }
    snprintf(data_dir, sizeof data_dir, "%s", summary.dir);
    snprintf(work, sizeof work, "/tmp/meki-test-train-XXXXXX");
    return mkdtemp(work) ? 0 : -1;
}

static int teardown(void **state) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf %s", work);
    return system(command) == 0 ? 0 : -1;
}

static void tiny(ModelConfig *c, TrainConfig *t, long tokens) {
    model_preset(c, "tiny");
    train_config_defaults(t);
    t->tokens = tokens;
    t->batch = 8;
    t->eval_every = 0;
    t->eval_tokens = 4096;
    t->quiet = 1;
    t->warmup = 20;
}

static void test_loss_falls_far_below_uniform(void **state) {
    ModelConfig c;
    TrainConfig t;
    tiny(&c, &t, 200 * 8 * 64);
    char out[4200];
    snprintf(out, sizeof out, "%s/falls", work);
    TrainResult r;
    assert_int_equal(train_run(&c, &t, data_dir, out, NULL, NULL, &r), 0);
    fprintf(stderr, "tiny, 200 steps: train loss %.3f, val loss %.3f (uniform %.3f)\n", r.train_loss,
            r.val_loss, log(4096.0));
    assert_false(r.diverged);
    assert_true(r.val_loss < log(4096.0) - 2.3);
    assert_true(r.train_loss < log(4096.0) - 2.3);
}

typedef struct { double losses[64]; int count; } Curve;

static void record(void *user, const StepRecord *s) {
    Curve *curve = user;
    if (curve->count < 64) curve->losses[curve->count++] = s->train_loss;
}

/* 30 steps straight vs 15, stop, resume for 15 more: identical losses and weights. */
static void test_resume_is_exact(void **state) {
    ModelConfig c;
    TrainConfig t;
    tiny(&c, &t, 30 * 8 * 64);
    char straight[4200], resumed[4200];
    snprintf(straight, sizeof straight, "%s/straight", work);
    snprintf(resumed, sizeof resumed, "%s/resumed", work);
    Curve a = {0}, b = {0};
    TrainResult r;
    assert_int_equal(train_run(&c, &t, data_dir, straight, record, &a, &r), 0);
    TrainConfig interrupted = t;
    interrupted.stop_after_steps = 15;
    assert_int_equal(train_run(&c, &interrupted, data_dir, resumed, record, &b, &r), 0);
    assert_int_equal(b.count, 15);
    assert_int_equal(train_run(&c, &t, data_dir, resumed, record, &b, &r), 0);
    assert_int_equal(a.count, 30);
    assert_int_equal(b.count, 30);
    for (int i = 0; i < 30; i++) assert_true(a.losses[i] == b.losses[i]);
    Model ma, mb;
    TrainState sa, sb;
    assert_int_equal(checkpoint_load(&ma, straight, 1, &sa), 0);
    assert_int_equal(checkpoint_load(&mb, resumed, 1, &sb), 0);
    assert_int_equal(ma.params.total, mb.params.total);
    assert_memory_equal(ma.params.data, mb.params.data, sizeof(float) * ma.params.total);
    assert_memory_equal(ma.params.adam_v, mb.params.adam_v, sizeof(float) * ma.params.total);
    model_free(&ma);
    model_free(&mb);
    /* a finished run is not trained again */
    Curve again = {0};
    assert_int_equal(train_run(&c, &t, data_dir, resumed, record, &again, &r), 0);
    assert_int_equal(again.count, 0);
    assert_true(fabs(r.val_loss - 0) > 0);
}

/* A run folder holding another model's checkpoint is refused, not silently reused. */
static void test_other_config_refused(void **state) {
    ModelConfig c;
    TrainConfig t;
    tiny(&c, &t, 2 * 8 * 64);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/other", work);
    TrainResult r;
    assert_int_equal(train_run(&c, &t, data_dir, dir, NULL, NULL, &r), 0);
    c.memory = memory_kind_parse("meki");
    assert_int_equal(train_run(&c, &t, data_dir, dir, NULL, NULL, &r), ERR_INPUT);
    assert_non_null(strstr(error_message(), "memory.kind"));
}

/* Damaged checkpoints are refused with the file named. */
static void test_damaged_checkpoint_refused(void **state) {
    ModelConfig c;
    TrainConfig t;
    tiny(&c, &t, 4 * 8 * 64);
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/damaged", work);
    TrainResult r;
    assert_int_equal(train_run(&c, &t, data_dir, dir, NULL, NULL, &r), 0);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    Model m;
    TrainState s;
    assert_int_equal(checkpoint_load(&m, dir, 0, &s), 0);   /* intact: loads */
    assert_int_equal(s.step, 4);
    assert_true(s.finished);
    model_free(&m);
    assert_int_equal(truncate(path, size - 100), 0);        /* short file */
    assert_int_equal(checkpoint_load(&m, dir, 0, &s), ERR_INPUT);
    assert_non_null(strstr(error_message(), "checkpoint.safetensors"));
    f = fopen(path, "r+b");                                 /* wrong magic/header length */
    fwrite("\xff\xff\xff\xff\xff\xff\xff\x7f", 1, 8, f);
    fclose(f);
    assert_int_equal(checkpoint_load(&m, dir, 0, &s), ERR_INPUT);
    f = fopen(path, "wb");                                  /* empty file */
    fclose(f);
    assert_int_equal(checkpoint_load(&m, dir, 0, &s), ERR_INPUT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_far_below_uniform),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_other_config_refused),
        cmocka_unit_test(test_damaged_checkpoint_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
