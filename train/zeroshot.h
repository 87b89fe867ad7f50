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
} TaskScore;

int task_score(Model *m, const Task *task, TaskScore *score);

/* kl[l] = mean over held-out tokens of KL(final distribution || head(final_norm(h_l))),
 * h_l the residual stream after block l; kl[L-1] is 0 by definition. */
int logit_lens(Model *m, const uint16_t *ids, long n_ids, int T, long max_tokens, double *kl);
typedef struct {
    TaskScore cloze, choice;
    double kl[MAX_LAYERS];
} DownstreamResult;

/* Tokens of context plus option per zero-shot item (less when the model's seq_len is shorter). */
#define ZERO_SHOT_CONTEXT 128

/* Zero-shot tasks built from data_dir/val.txt (items per task) and the logit lens over the
 * held-out tokens, as asked; prints one line for each. */
int evaluate_downstream(Model *m, const char *data_dir, const TokenFile *val, int zero_shot, int lens,
                        int items, DownstreamResult *x);
#endif
