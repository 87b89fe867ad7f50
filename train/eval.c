#include "train/eval.h"
#include "util/progress.h"
#include "util/error.h"
#include "util/rng.h"
#include <math.h>
#include <stdio.h>
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

/* Which windows an evaluation scores: full_windows of T tokens (consecutive, or spread
 * over the all_windows of the split), then a shorter tail; limit tokens in all. */
typedef struct {
    long limit, full_windows, all_windows;
    int tail, spread;
} WindowPlan;

static WindowPlan plan_windows(long n_ids, int T, long max_tokens, int spread) {
    WindowPlan p;
    long predicted = n_ids - 1;
    p.limit = max_tokens > 0 && max_tokens < predicted ? max_tokens : predicted;
    p.full_windows = p.limit / T, p.all_windows = predicted / T;
    p.tail = (int)(p.limit - p.full_windows * T);
    p.spread = spread && p.limit < predicted && p.all_windows > 0;
    if (p.spread) {   /* whole windows only, at least one */
        p.full_windows = p.full_windows > 0 ? p.full_windows : 1;
        if (p.full_windows > p.all_windows) p.full_windows = p.all_windows;
        p.limit = p.full_windows * T, p.tail = 0;
    }
    return p;
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
    WindowPlan plan = plan_windows(n_ids, T, max_tokens, spread);
    long limit = plan.limit, full_windows = plan.full_windows, all_windows = plan.all_windows;
    int tail = plan.tail;
    spread = plan.spread;
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

long evaluate_target_bytes(const uint16_t *ids, long n_ids, int T, long max_tokens, int spread, const Tokenizer *tok) {
    if (T < 1 || n_ids < 2) return 0;
    WindowPlan plan = plan_windows(n_ids, T, max_tokens, spread);
    int vocab = tokenizer_vocab_size(tok);
    long bytes = 0;
    for (long w = 0; w <= plan.full_windows; w++) {
        long start = w < plan.full_windows ? window_start(w, plan.full_windows, plan.all_windows, T, plan.spread)
                                           : plan.full_windows * T;
        int len = w < plan.full_windows ? T : plan.tail;
        for (int t = 1; t <= len; t++) {   /* the targets: ids[start + 1 .. start + len] */
            int id = ids[start + t], length = 0;
            if (id < vocab) tokenizer_token_bytes(tok, id, &length);
            bytes += length;
        }
    }
    return bytes;
}

const char *bpb_text(double bpb, int digits, char *out, size_t size) {
    if (isnan(bpb)) snprintf(out, size, "bits/byte unavailable (no tokenizer)");
    else snprintf(out, size, "%.*f bits/byte", digits, bpb);
    return out;
}

double bits_per_byte(double loss, long tokens, long bytes) {
    return bytes > 0 ? loss * (double)tokens / ((double)bytes * M_LN2) : NAN;
}
