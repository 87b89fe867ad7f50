/* Zero-shot tasks and their scoring: items are deterministic and taken from the text as
 * documented, the answer is where the item says, and the scorer finds it: a model that
 * has read the held-out text beats chance by far, an untrained one does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/dataset.h"
#include "data/tasks.h"
#include "kernels/adamw.h"
#include "models/model.h"
#include "models/config.h"
#include "models/memory.h"
#include "train/zeroshot.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"

#define ITEMS 200
#define CONTEXT ZERO_SHOT_CONTEXT
#define SHORT_TEXT 12000   /* bytes a tiny model can learn by heart in a few hundred steps */

static Tokenizer *tok;
static char *text;
static size_t bytes;

static int setup(void **state) {
    DataOptions options = {.vocab_size = 4096};
    DataSummary summary;
    char path[4200];
    if (dataset_prepare(&options, &summary)) goto fail;
    snprintf(path, sizeof path, "%s/tokenizer.bin", summary.dir);
    if (tokenizer_load(&tok, path)) goto fail;
    snprintf(path, sizeof path, "%s/val.txt", summary.dir);
    if (read_file(path, &text, &bytes)) goto fail;
    return 0;
fail:
    fprintf(stderr, "setup: %s\n", error_message());
    return -1;
}

static int teardown(void **state) {
    tokenizer_free(tok);
    free(text);
    return 0;
}

static char *decode(const uint16_t *ids, int n) {
    char *s;
    size_t len;
    assert_int_equal(tokenizer_decode(tok, ids, n, &s, &len), 0);
    return s;
}

/* context followed by option k, as one string, must occur in the held-out text */
static int occurs_in_text(const TaskItem *item, int k) {
    char *context = decode(item->context, item->context_len), *option = decode(item->options[k], item->option_len[k]);
    size_t a = strlen(context), b = strlen(option);
    char *joined = malloc(a + b + 1);
    memcpy(joined, context, a);
    memcpy(joined + a, option, b + 1);
    int found = memmem(text, bytes, joined, a + b) != NULL;
    free(context); free(option); free(joined);
    return found;
}

static void assert_same_items(const Task *a, const Task *b) {
    assert_int_equal(a->count, b->count);
    for (int i = 0; i < a->count; i++) {
        const TaskItem *x = &a->items[i], *y = &b->items[i];
        assert_int_equal(x->answer, y->answer);
        assert_int_equal(x->context_len, y->context_len);
        assert_memory_equal(x->context, y->context, sizeof(uint16_t) * x->context_len);
        for (int k = 0; k < x->n_options; k++) {
            assert_int_equal(x->option_len[k], y->option_len[k]);
            assert_memory_equal(x->options[k], y->options[k], sizeof(uint16_t) * x->option_len[k]);
        }
    }
}

static void test_cloze_items_are_last_words_of_the_text(void **state) {
    Task a, b;
    assert_int_equal(task_build_cloze(&a, tok, text, bytes, ITEMS, CONTEXT), 0);
    assert_int_equal(task_build_cloze(&b, tok, text, bytes, ITEMS, CONTEXT), 0);
    assert_int_equal(a.count, ITEMS);
    assert_same_items(&a, &b);
    for (int i = 0; i < a.count; i++) {
        const TaskItem *item = &a.items[i];
        assert_int_equal(item->n_options, 1);
        assert_true(item->context_len >= 8 && item->context_len + item->option_len[0] <= CONTEXT);
        char *word = decode(item->options[0], item->option_len[0]);
        assert_int_equal((int)strlen(word), item->option_bytes[0]);
        assert_int_equal(word[0], ' ');   /* a whole word with its leading space */
        for (const char *c = word + 1; *c; c++) assert_true(isalpha((unsigned char)*c));
        assert_true(strlen(word) >= 5);
        free(word);
        assert_true(occurs_in_text(item, 0));
    }
    task_free(&a);
    task_free(&b);
}

static void test_choice_answer_is_the_true_next_sentence(void **state) {
    Task a, b;
    assert_int_equal(task_build_choice(&a, tok, text, bytes, ITEMS, CONTEXT), 0);
    assert_int_equal(task_build_choice(&b, tok, text, bytes, ITEMS, CONTEXT), 0);
    assert_true(a.count >= ITEMS * 3 / 4);   /* some verses are too long, some not contiguous */
    assert_same_items(&a, &b);
    int at[4] = {0}, distractor_follows = 0;
    for (int i = 0; i < a.count; i++) {
        const TaskItem *item = &a.items[i];
        assert_int_equal(item->n_options, 4);
        at[item->answer]++;
        for (int k = 0; k < 4; k++) assert_true(item->context_len + item->option_len[k] <= CONTEXT);
        assert_true(occurs_in_text(item, item->answer));
        for (int k = 0; k < 4; k++)
            if (k != item->answer) distractor_follows += occurs_in_text(item, k);
    }
    /* the answer's position is drawn uniformly, so no position-biased scorer can win */
    for (int k = 0; k < 4; k++) assert_true(at[k] > a.count / 8 && at[k] < a.count * 3 / 8);
    /* a distractor that also follows the context (a repeated verse) would make an item ambiguous */
    assert_true(distractor_follows <= a.count / 50);
    task_free(&a);
    task_free(&b);
}

/* The word task: the answer is the word that really follows the context, the distractor a
 * different frequent word, the answer's position balanced. */
static void test_word_answer_is_the_true_next_word(void **state) {
    Task a, b;
    assert_int_equal(task_build_word(&a, tok, text, bytes, ITEMS, CONTEXT), 0);
    assert_int_equal(task_build_word(&b, tok, text, bytes, ITEMS, CONTEXT), 0);
    assert_int_equal(a.count, ITEMS);
    assert_same_items(&a, &b);
    int at[2] = {0}, other_follows = 0;
    for (int i = 0; i < a.count; i++) {
        const TaskItem *item = &a.items[i];
        assert_int_equal(item->n_options, 2);
        at[item->answer]++;
        assert_true(occurs_in_text(item, item->answer));
        char *x = decode(item->options[0], item->option_len[0]), *y = decode(item->options[1], item->option_len[1]);
        assert_string_not_equal(x, y);
        assert_true(x[0] == ' ' && y[0] == ' ');
        free(x), free(y);
        other_follows += occurs_in_text(item, 1 - item->answer);
    }
    for (int k = 0; k < 2; k++) assert_true(at[k] > a.count * 3 / 8 && at[k] < a.count * 5 / 8);
    /* the context is the whole passage up to the word: the distractor rarely also follows it */
    assert_true(other_follows <= a.count / 50);
    task_free(&a);
    task_free(&b);
}

/* Trains a tiny model on text[0, n_bytes) for `steps` steps (0: untrained). */
static void tiny_model_of(Model *m, size_t n_bytes, int steps, const char *memory) {
    ModelConfig c;
    model_preset(&c, "tiny");
    c.memory = memory_kind_parse(memory);
    assert_int_equal(model_create(m, &c, 0, 1), 0);
    model_init_weights(m, 7);
    if (!steps) return;
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, (const unsigned char *)text, n_bytes, &ids, &n), 0);
    int B = 16, T = c.seq_len;
    assert_int_equal(model_reserve(m, B, T), 0);
    int32_t *x = malloc(sizeof(int32_t) * B * T), *y = malloc(sizeof(int32_t) * B * T);
    Rng rng;
    rng_seed(&rng, 3);
    AdamWSettings s = {3e-3f, 0.9f, 0.95f, 1e-8f, 0.0f};
    for (int step = 1; step <= steps; step++) {
        for (int b = 0; b < B; b++) {
            long at = (long)rng_below(&rng, (uint64_t)(n - T - 1));
            for (int t = 0; t < T; t++) { x[b * T + t] = ids[at + t]; y[b * T + t] = ids[at + t + 1]; }
        }
        params_zero_grad(&m->params);
        model_forward(m, x, y, B, T);
        model_backward(m);
        params_adamw_step(&m->params, &s, step);
    }
    free(x); free(y); free(ids);
}

static void tiny_model(Model *m, size_t n_bytes, int steps) { tiny_model_of(m, n_bytes, steps, "none"); }

/* The logit lens under each reading on a tiny trained dense and MeKi model: KL finite and
 * >= 0; at the last layer the lens is the model's own head (KL 0) where the reading reads
 * the final state through the final norm; dense has no memory, so before_memory equals
 * after_block, while MeKi's differs; the two KL directions differ. */
static void test_logit_lens_readings(void **state) {
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, (const unsigned char *)text, SHORT_TEXT, &ids, &n), 0);
    const char *kinds[] = {"none", "meki"};
    for (int k = 0; k < 2; k++) {
        Model m;
        static double kl[LENS_READINGS][MAX_LAYERS];
        tiny_model_of(&m, SHORT_TEXT, 100, kinds[k]);
        int T = m.cfg.seq_len, L = m.cfg.n_layers, last = L - 1;
        assert_int_equal(logit_lens(&m, ids, n, T, 4L * T, kl), 0);
        for (int r = 0; r < LENS_READINGS; r++) {
            fprintf(stderr, "%s %-13s:", kinds[k], LENS_READING[r].name);
            for (int l = 0; l < L; l++) {
                fprintf(stderr, " %.4f", kl[r][l]);
                assert_true(isfinite(kl[r][l]) && kl[r][l] >= -1e-6);
            }
            fprintf(stderr, "\n");
        }
        assert_true(kl[0][last] < 1e-4 && kl[1][last] < 1e-4);   /* after_block, reverse */
        assert_true(kl[3][last] > 1e-3);                          /* no_norm: the head without its norm */
        assert_true(kl[0][0] > 1e-2 && fabs(kl[0][0] - kl[1][0]) > 1e-3 * kl[0][0]);
        for (int l = 0; l < L; l++) {
            if (k == 0) assert_true(fabs(kl[2][l] - kl[0][l]) <= 1e-4 * (1 + kl[0][l]));
            else assert_true(fabs(kl[2][l] - kl[0][l]) > 1e-4);   /* every MeKi layer adds something */
        }
        model_free(&m);
    }
    free(ids);
}

/* Each item's correctness adds up to the accuracies: the report's items-as-unit intervals
 * read these (runner/store.h item_scores). */
static void check_items(TaskScore *s, int n_items) {
    int scored = 0, right = 0, right_norm = 0;
    assert_non_null(s->items);
    assert_int_equal(s->n_items, n_items);
    for (int i = 0; i < s->n_items; i++) {
        if (s->items[i] < 0) continue;
        scored++, right += s->items[i] & 1, right_norm += s->items[i] >> 1 & 1;
    }
    assert_int_equal(scored, s->count);
    assert_true(fabs((double)right / scored - s->accuracy) < 1e-12);
    assert_true(fabs((double)right_norm / scored - s->accuracy_norm) < 1e-12);
    task_score_free(s);
}

/* Both tasks built from text[0, n_bytes) with the tiny model's 64-token context. */
static void score(Model *m, size_t n_bytes, TaskScore *cloze, TaskScore *choice) {
    Task a, b;
    assert_int_equal(task_build_cloze(&a, tok, text, n_bytes, ITEMS, m->cfg.seq_len), 0);
    assert_int_equal(task_build_choice(&b, tok, text, n_bytes, ITEMS, m->cfg.seq_len), 0);
    assert_int_equal(task_score(m, &a, cloze), 0);
    assert_int_equal(task_score(m, &b, choice), 0);
    assert_int_equal(cloze->count, a.count);
    assert_int_equal(choice->count, b.count);
    check_items(cloze, a.count);
    check_items(choice, b.count);
    task_free(&a);
    task_free(&b);
}

/* The word task's accuracy over text[0, n_bytes), with its 95% Wilson half-width in *half. */
static double word_score(Model *m, size_t n_bytes, double *half, int *n) {
    Task w;
    TaskScore score;
    assert_int_equal(task_build_word(&w, tok, text, n_bytes, ITEMS, m->cfg.seq_len), 0);
    assert_int_equal(task_score(m, &w, &score), 0);
    assert_int_equal(score.count, w.count);
    check_items(&score, w.count);
    task_free(&w);
    double p = score.accuracy, z = 1.96, k = score.count;
    *half = z * sqrt(p * (1 - p) / k + z * z / (4 * k * k)) / (1 + z * z / k);
    *n = score.count;
    return p;
}

static void test_word_task_untrained_at_chance_trained_above(void **state) {
    Model m;
    double half;
    int n;
    tiny_model(&m, bytes, 0);
    double untrained = word_score(&m, bytes, &half, &n);
    fprintf(stderr, "word task, untrained: %.3f ± %.3f over %d items\n", untrained, half, n);
    assert_true(n >= 150);
    assert_true(fabs(untrained - 0.5) <= 0.5 * 1.96 / sqrt(n) * 1.5);   /* chance within its interval */
    model_free(&m);
    tiny_model(&m, SHORT_TEXT, 300);
    double trained = word_score(&m, SHORT_TEXT, &half, &n);
    fprintf(stderr, "word task, trained on the text: %.3f ± %.3f over %d items\n", trained, half, n);
    assert_true(trained - half > 0.6);
    model_free(&m);
}

static void test_untrained_model_scores_at_chance(void **state) {
    Model m;
    TaskScore cloze, choice;
    tiny_model(&m, bytes, 0);
    score(&m, bytes, &cloze, &choice);
    fprintf(stderr, "untrained: cloze %.3f, choice %.3f (norm %.3f) over %d items\n", cloze.accuracy,
            choice.accuracy, choice.accuracy_norm, choice.count);
    assert_true(cloze.accuracy < 0.02);
    /* 4 options: 0.25, binomial std 0.04 at 120 items; 3 std either side */
    assert_true(choice.count >= 100);
    assert_true(choice.accuracy_norm > 0.13 && choice.accuracy_norm < 0.37);
    model_free(&m);
}

static void test_model_that_read_the_text_finds_the_answers(void **state) {
    Model m;
    TaskScore cloze, choice;
    tiny_model(&m, SHORT_TEXT, 300);
    score(&m, SHORT_TEXT, &cloze, &choice);
    fprintf(stderr, "trained on the same text: cloze %.3f (%d items), choice %.3f (norm %.3f, %d items)\n",
            cloze.accuracy, cloze.count, choice.accuracy, choice.accuracy_norm, choice.count);
    assert_true(choice.accuracy > 0.8 && choice.accuracy_norm > 0.8);
    assert_true(cloze.accuracy > 0.5);
    model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloze_items_are_last_words_of_the_text),
        cmocka_unit_test(test_choice_answer_is_the_true_next_sentence),
        cmocka_unit_test(test_logit_lens_readings),
        cmocka_unit_test(test_word_answer_is_the_true_next_word),
        cmocka_unit_test(test_word_task_untrained_at_chance_trained_above),
        cmocka_unit_test(test_untrained_model_scores_at_chance),
        cmocka_unit_test(test_model_that_read_the_text_finds_the_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
