#include "train/eval.h"
#include "util/progress.h"
#include "util/error.h"
#include "util/rng.h"
#include <math.h>
#include <stdlib.h>

static void load_window(int32_t *tokens, int32_t *targets, const uint16_t *ids, long start, int len) {
    for (int t = 0; t < len; t++) {
        tokens[t] = ids[start + t];
        targets[t] = ids[start + t + 1];
    }
}

/* Start of window w of n_windows scored: consecutive, or the spread subset's (eval.h). */
static long window_start(long w, long n_windows, long full_windows, int T, int spread) {
    if (!spread) return w * T;
    long lo = (long)((__int128)w * full_windows / n_windows);
    long hi = (long)((__int128)(w + 1) * full_windows / n_windows);
    return (lo + (long)(hash64(EVAL_SPREAD_SEED ^ hash64((uint64_t)w)) % (uint64_t)(hi - lo))) * T;
}

static double evaluate_windows(Model *m, const uint16_t *ids, long n_ids, int B, int T, long max_tokens,
                               int spread, long *count) {
    if (count) *count = 0;
    /* B <= 0 never advanced the window loop (a hang) and B < 0 crashed on a NULL buffer */
    if (B < 1 || T < 1) {
        error_set(ERR_INPUT, "evaluation: batch %d and seq_len %d must be positive", B, T);
        return NAN;
    }
    if (model_reserve(m, B, T)) return NAN;
    long predicted = n_ids - 1, limit = max_tokens > 0 && max_tokens < predicted ? max_tokens : predicted;
    long full_windows = limit / T, all_windows = predicted / T;
    int tail = (int)(limit - full_windows * T);
    if (limit >= predicted || all_windows == 0) spread = 0;
    if (spread) {   /* whole windows only, at least one */
        full_windows = full_windows > 0 ? full_windows : 1;
        if (full_windows > all_windows) full_windows = all_windows;
        limit = full_windows * T, tail = 0;
    }
    size_t n = (size_t)B * (size_t)T;   /* fits: model_reserve took B x T */
    int32_t *tokens = malloc(sizeof(int32_t) * n), *targets = malloc(sizeof(int32_t) * n);
    if (!tokens || !targets) {
        free(tokens);
        free(targets);
        error_set(ERR_FAILURE, "evaluation: out of memory for batch %d x seq_len %d", B, T);
        return NAN;
    }
    double total = 0;
    Progress progress;   /* the final pass over a large held-out split takes a while */
    progress_begin_after(&progress, "evaluating", (double)limit, 5);
    for (long w = 0; w < full_windows; w += B) {
        progress_update(&progress, (double)w * T, "");
        int rows = full_windows - w < B ? (int)(full_windows - w) : B;
        for (int b = 0; b < rows; b++)
            load_window(tokens + (size_t)b * T, targets + (size_t)b * T, ids,
                        window_start(w + b, full_windows, all_windows, T, spread), T);
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
    if (count) *count = limit > 0 ? limit : 0;
    return limit > 0 ? total / limit : 0;
}

double evaluate_loss(Model *m, const uint16_t *ids, long n_ids, int B, int T, long max_tokens,
                     long *count) {
    return evaluate_windows(m, ids, n_ids, B, T, max_tokens, 0, count);
}

double evaluate_loss_spread(Model *m, const uint16_t *ids, long n_ids, int B, int T,
                            long max_tokens, long *count) {
    return evaluate_windows(m, ids, n_ids, B, T, max_tokens, 1, count);
}
