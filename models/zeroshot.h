/* Zero-shot scoring (lm-evaluation-harness style) and the logit lens. */
#ifndef MODELS_ZEROSHOT_H
#define MODELS_ZEROSHOT_H
#include "data/tasks.h"
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
#endif
