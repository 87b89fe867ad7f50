#include "models/eval.h"
#include "util/progress.h"
#include <stdlib.h>

static void load_window(int32_t *tokens, int32_t *targets, const uint16_t *ids, long start, int len) {
    for (int t = 0; t < len; t++) {
        tokens[t] = ids[start + t];
        targets[t] = ids[start + t + 1];
    }
}

double evaluate_loss(Model *m, const uint16_t *ids, long n_ids, int B, int T, long max_tokens,
                     long *count) {
    long predicted = n_ids - 1, limit = max_tokens > 0 && max_tokens < predicted ? max_tokens : predicted;
    long full_windows = limit / T;
    int tail = (int)(limit - full_windows * T);
    int32_t *tokens = malloc(sizeof(int32_t) * B * T), *targets = malloc(sizeof(int32_t) * B * T);
    double total = 0;
    model_reserve(m, B, T);
    Progress progress;   /* the final pass over a large held-out split takes a while */
    progress_begin_after(&progress, "evaluating", (double)limit, 5);
    for (long w = 0; w < full_windows; w += B) {
        progress_update(&progress, (double)w * T, "");
        int rows = full_windows - w < B ? (int)(full_windows - w) : B;
        for (int b = 0; b < rows; b++) load_window(tokens + b * T, targets + b * T, ids, (w + b) * T, T);
        total += model_forward(m, tokens, targets, rows, T) * rows * T;
    }
    if (tail > 0) {
        load_window(tokens, targets, ids, full_windows * T, tail);
        total += model_forward(m, tokens, targets, 1, tail) * tail;
    }
    progress_update(&progress, (double)limit, "");
    progress_end(&progress);
    free(tokens);
    free(targets);
    if (count) *count = limit;
    return limit > 0 ? total / limit : 0;
}
