/* Zero-shot scoring (lm-evaluation-harness style) and the logit lens. */
#ifndef TRAIN_ZEROSHOT_H
#define TRAIN_ZEROSHOT_H
#include "data/tasks.h"
#include "data/tokens.h"
#include "models/model.h"

typedef struct {
    double accuracy;        /* cloze: every target token is the greedy choice; choice: by sum */
    double accuracy_norm;   /* choice: log-likelihood per byte (HellaSwag's acc_norm) */
    int count;
    /* per item of the task (n_items of them): -1 not scored (too long for the context), else
     * bit 0 right by acc, bit 1 right by acc_norm. The same items are scored by every seed,
     * so the report's intervals take items, not runs x items, as the unit. malloc'd. */
    signed char *items;
    int n_items;
} TaskScore;

int task_score(Model *m, const Task *task, TaskScore *score);
void task_score_free(TaskScore *score);

/* The zero-shot tasks, one registry: each is recorded as <name>_acc, <name>_acc_norm (when
 * norm) and <name>_items, and shown in the report's zero-shot table by its primary score. */
typedef struct {
    const char *name, *description;
    double chance;              /* accuracy of a model that ignores the context */
    int norm;                   /* acc_norm recorded (multi-token options of unequal length) */
    int primary_norm;           /* the report's score is acc_norm, not acc */
    int (*build)(Task *task, const Tokenizer *tok, const char *text, size_t bytes, int max_items, int max_context);
} ZeroShotTask;

enum { ZERO_SHOT_TASKS = 3 };
extern const ZeroShotTask ZERO_SHOT_TASK[ZERO_SHOT_TASKS];

/* The logit lens's readings. The paper (Fig. 7) says only "the final head on each layer's
 * hidden state" against "the final output": which state (before or after that layer's memory
 * injection), whether the final norm comes first, and the KL's direction are not given, so
 * each is measured. Reading 0 is the harness's first definition, whose metric names stay
 * lens_kl_<layer>; the others are lens_kl_<name>_<layer> (analysis/views.sql lens_kl). */
typedef struct {
    const char *name;           /* the view's reading column */
    const char *description;    /* for the report */
    int before_memory;          /* the residual stream without what layer l's memory added */
    int no_norm;                /* the LM head on the raw residual stream (no final norm) */
    int reverse;                /* KL(lens || final) instead of KL(final || lens) */
} LensReading;

enum { LENS_READINGS = 4 };
extern const LensReading LENS_READING[LENS_READINGS];
/* The metric name of reading r at layer l ("lens_kl_3", "lens_kl_reverse_3"). */
void lens_metric_name(char *out, size_t size, int reading, int layer);

/* kl[r][l] = mean over held-out tokens of reading r's KL at layer l, h_l the residual stream
 * after block l (before the next block's own memory, if that sits before attention). */
int logit_lens(Model *m, const uint16_t *ids, long n_ids, int T, long max_tokens,
               double kl[LENS_READINGS][MAX_LAYERS]);
typedef struct {
    TaskScore task[ZERO_SHOT_TASKS];   /* in ZERO_SHOT_TASK's order */
    double kl[LENS_READINGS][MAX_LAYERS];
} DownstreamResult;

/* Tokens of context plus option per zero-shot item (less when the model's seq_len is shorter). */
#define ZERO_SHOT_CONTEXT 128

/* Zero-shot tasks built from data_dir/val.txt (items per task; those whose bit 1 << k is in
 * tasks, ZERO_SHOT_ALL for every one) and the logit lens over the held-out tokens, as
 * asked; prints one line for each. */
#define ZERO_SHOT_ALL ((1u << ZERO_SHOT_TASKS) - 1)
int evaluate_downstream(Model *m, const char *data_dir, const TokenFile *val, int zero_shot, unsigned tasks,
                        int lens, int items, DownstreamResult *x);
void downstream_free(DownstreamResult *x);
/* The task's index in ZERO_SHOT_TASK, -1 if none is so named. */
int zero_shot_task_index(const char *name);
#endif
