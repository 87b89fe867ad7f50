#include "train/zeroshot.h"
#include "data/dataset.h"
#include "util/progress.h"
#include "kernels/crossentropy.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "models/memory.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Log-likelihood of option k given the context; *greedy: every option token is the argmax. */
static double option_loglik(Model *m, const TaskItem *item, int k, int *greedy) {
    int n = item->context_len + item->option_len[k], T = n - 1, V = m->cfg.vocab_size;
    int32_t *tokens = malloc(sizeof(int32_t) * T), *targets = malloc(sizeof(int32_t) * T);
    for (int t = 0; t < T; t++) {
        int at = t, next = t + 1;
        tokens[t] = at < item->context_len ? item->context[at] : item->options[k][at - item->context_len];
        targets[t] = next < item->context_len ? item->context[next] : item->options[k][next - item->context_len];
    }
    model_forward(m, tokens, targets, 1, T);
    double sum = 0;
    *greedy = 1;
    for (int t = item->context_len - 1; t < T; t++) {
        sum -= m->losses[t];
        const float *row = m->logits + (long)t * V;
        int best = 0;
        for (int v = 1; v < V; v++) best = row[v] > row[best] ? v : best;
        if (best != targets[t]) *greedy = 0;
    }
    free(tokens);
    free(targets);
    return sum;
}

int task_score(Model *m, const Task *task, TaskScore *score) {
    memset(score, 0, sizeof *score);
    int rc = model_reserve(m, 1, m->cfg.seq_len);
    if (rc) return rc;
    int correct = 0, correct_norm = 0;
    score->items = malloc((size_t)(task->count > 0 ? task->count : 1));
    if (!score->items) return error_set(ERR_FAILURE, "out of memory");
    score->n_items = task->count;
    memset(score->items, -1, (size_t)task->count);
    char label[96];
    snprintf(label, sizeof label, "zero-shot %s", task->name);
    Progress progress;
    progress_begin_after(&progress, label, task->count, 5);
    for (int i = 0; i < task->count; i++) {
        progress_update(&progress, i, "");
        const TaskItem *item = &task->items[i];
        if (item->context_len + task_item_longest(item) > m->cfg.seq_len + 1) continue;
        int greedy, best = 0, best_norm = 0;
        double ll[4], norm[4];
        for (int k = 0; k < item->n_options; k++) {
            ll[k] = option_loglik(m, item, k, &greedy);
            norm[k] = ll[k] / item->option_bytes[k];
            if (ll[k] > ll[best]) best = k;
            if (norm[k] > norm[best_norm]) best_norm = k;
        }
        int right = item->n_options == 1 ? greedy : best == item->answer;
        int right_norm = item->n_options == 1 ? greedy : best_norm == item->answer;
        correct += right, correct_norm += right_norm;
        score->items[i] = (signed char)(right | right_norm << 1);
        score->count++;
    }
    progress_update(&progress, task->count, "");
    progress_end(&progress);
    if (!score->count) return error_set(ERR_INPUT, "task %s: no item fits the context length", task->name);
    score->accuracy = (double)correct / score->count;
    score->accuracy_norm = (double)correct_norm / score->count;
    return OK;
}

void task_score_free(TaskScore *score) {
    free(score->items);
    score->items = NULL;
    score->n_items = 0;
}

void downstream_free(DownstreamResult *x) {
    for (int k = 0; k < ZERO_SHOT_TASKS; k++) task_score_free(&x->task[k]);
}

const LensReading LENS_READING[LENS_READINGS] = {
    {"after_block", "h after block l (memory included), final norm, KL(final ‖ lens)", 0, 0, 0},
    {"reverse", "h after block l, final norm, KL(lens ‖ final)", 0, 0, 1},
    {"before_memory", "h after block l less what layer l's memory added, final norm, KL(final ‖ lens)", 1, 0, 0},
    {"no_norm", "h after block l, LM head without the final norm, KL(final ‖ lens)", 0, 1, 0},
};

void lens_metric_name(char *out, size_t size, int reading, int layer) {
    if (reading == 0) snprintf(out, size, "lens_kl_%d", layer);
    else snprintf(out, size, "lens_kl_%s_%d", LENS_READING[reading].name, layer);
}

/* KL(p || q) for one row of log-probabilities each: sum p (log p - log q). */
static double row_kl(const float *log_p, const float *log_q, int V) {
    double kl = 0;
    for (int v = 0; v < V; v++) kl += expf(log_p[v]) * ((double)log_p[v] - log_q[v]);
    return kl;
}

/* The residual stream after block l into h[T, d]: the next block's input, less that
 * block's memory when it sits before attention (it is added before the input is saved);
 * with before_memory, less what layer l's own memory added too. */
static void lens_state(const Model *m, int l, int before_memory, int T, float *h) {
    long n = (long)T * m->cfg.d_model;
    const float *x = model_layer_output(m, l);
    for (long i = 0; i < n; i++) h[i] = x[i];
    int next = l + 1;
    if (next < m->cfg.n_layers && m->ops && m->ops->site(m, next) == SITE_BEFORE_ATTN)
        for (long i = 0; i < n; i++) h[i] -= m->memory_out[next * n + i];
    if (before_memory)
        for (long i = 0; i < n; i++) h[i] -= m->memory_out[l * n + i];
}

int logit_lens(Model *m, const uint16_t *ids, long n_ids, int T, long max_tokens,
               double kl[LENS_READINGS][MAX_LAYERS]) {
    const ModelConfig *c = &m->cfg;
    int L = c->n_layers, d = c->d_model, V = c->vocab_size;
    int rc = model_reserve(m, 1, T);
    if (rc) return rc;
    float *x = malloc(sizeof(float) * T * d), *h = malloc(sizeof(float) * T * d);
    float *logits = malloc(sizeof(float) * T * V), *log_final = malloc(sizeof(float) * V);
    float *log_layer = malloc(sizeof(float) * V);
    float *memory_out = calloc((size_t)L * T * d, sizeof(float));
    int32_t *tokens = malloc(sizeof(int32_t) * T), *targets = malloc(sizeof(int32_t) * T);
    if (!x || !h || !logits || !log_final || !log_layer || !memory_out || !tokens || !targets) {
        free(x); free(h); free(logits); free(log_final); free(log_layer); free(memory_out); free(tokens); free(targets);
        return error_set(ERR_FAILURE, "logit lens: out of memory");
    }
    long counted = 0;
    memset(kl, 0, sizeof(double) * LENS_READINGS * MAX_LAYERS);
    Progress progress;
    progress_begin_after(&progress, "logit lens", (double)max_tokens, 5);
    m->memory_out = memory_out;
    for (long start = 0; start + T + 1 <= n_ids && counted < max_tokens; start += T) {
        progress_update(&progress, (double)counted, "");
        for (int t = 0; t < T; t++) { tokens[t] = ids[start + t]; targets[t] = ids[start + t + 1]; }
        model_forward(m, tokens, targets, 1, T);
        for (int l = 0; l < L; l++)
            for (int r = 0; r < LENS_READINGS; r++) {
                const LensReading *g = &LENS_READING[r];
                if (g->reverse) continue;   /* from the same logits as its forward twin, below */
                lens_state(m, l, g->before_memory, T, x);
                if (g->no_norm) memcpy(h, x, sizeof(float) * T * d);
                else rmsnorm_forward(h, NULL, x, m->final_norm, T, d, c->norm_eps);
                matmul_forward(logits, h, m->lm_head, T, d, V, 0);
                for (int t = 0; t < T; t++) {
                    log_softmax(log_final, m->logits + (long)t * V, V);
                    log_softmax(log_layer, logits + (long)t * V, V);
                    kl[r][l] += row_kl(log_final, log_layer, V);
                    for (int q = 0; q < LENS_READINGS; q++) {
                        const LensReading *o = &LENS_READING[q];
                        if (o->reverse && o->before_memory == g->before_memory && o->no_norm == g->no_norm)
                            kl[q][l] += row_kl(log_layer, log_final, V);
                    }
                }
            }
        counted += T;
    }
    m->memory_out = NULL;
    progress_update(&progress, (double)counted, "");
    progress_end(&progress);
    for (int r = 0; r < LENS_READINGS; r++)
        for (int l = 0; l < L; l++) kl[r][l] = counted ? kl[r][l] / counted : 0;
    free(x); free(h); free(logits); free(log_final); free(log_layer); free(memory_out); free(tokens); free(targets);
    return counted ? OK : error_set(ERR_INPUT, "logit lens: held-out split shorter than one window");
}

static void note_shortfall(const Task *task, int scored) {
    if (scored >= task->requested) return;
    printf("zero-shot: %s: %d of %d items asked for", task->name, scored, task->requested);
    if (task->count < task->requested) printf("; built %d (%s)", task->count, task->shortfall);
    if (scored < task->count) printf("; %d longer than the context, not scored", task->count - scored);
    printf("\n");
}

const ZeroShotTask ZERO_SHOT_TASK[ZERO_SHOT_TASKS] = {
    {"cloze", "last word of a sentence, every token greedy (LAMBADA-like)", 0.0, 0, 0, task_build_cloze},
    {"choice", "true next sentence among 4, length-normalised (HellaSwag-like)", 0.25, 1, 1, task_build_choice},
    {"word", "true next word against a frequent word drawn from the same text, 2-way", 0.5, 1, 0, task_build_word},
};

/* Zero-shot tasks from the held-out text and the logit lens over the held-out tokens. */
int zero_shot_task_index(const char *name) {
    for (int k = 0; k < ZERO_SHOT_TASKS; k++)
        if (!strcmp(ZERO_SHOT_TASK[k].name, name)) return k;
    return -1;
}

int evaluate_downstream(Model *m, const char *data_dir, const TokenFile *val, int zero_shot, unsigned tasks,
                        int lens, int items, DownstreamResult *x) {
    int rc = OK;
    if (zero_shot) {
        char path[4096], *text = NULL;
        size_t bytes;
        Tokenizer *tok = NULL;
        snprintf(path, sizeof path, "%s/tokenizer.bin", data_dir);
        DataSummary summary;
        if (dataset_summary_load(data_dir, &summary) != OK) error_clear();   /* tokenizer_load says what is wrong */
        else if (summary.no_tokenizer)
            rc = error_set(ERR_INPUT, "zero-shot tasks are built from the held-out text, and %s holds token "
                           "shards (no tokenizer, no text): leave zero-shot off", data_dir);
        if (!rc && !(rc = tokenizer_load(&tok, path))) {
            snprintf(path, sizeof path, "%s/val.txt", data_dir);
            rc = read_file(path, &text, &bytes);
        }
        /* one context length for every model that can take it, so the items (and their
         * difficulty) are the same across scales and the cost does not grow with seq_len */
        int context = m->cfg.seq_len < ZERO_SHOT_CONTEXT ? m->cfg.seq_len : ZERO_SHOT_CONTEXT;
        for (int k = 0; k < ZERO_SHOT_TASKS && !rc; k++) {
            const ZeroShotTask *z = &ZERO_SHOT_TASK[k];
            if (!(tasks & (1u << k))) continue;
            Task task = {0};
            rc = z->build(&task, tok, text, bytes, items, context);
            if (!rc) rc = task_score(m, &task, &x->task[k]);
            if (!rc) {
                printf("zero-shot: %s acc %.3f", z->name, x->task[k].accuracy);
                if (z->norm) printf(" acc_norm %.3f", x->task[k].accuracy_norm);
                printf(" (%d items, chance %.2f)\n", x->task[k].count, z->chance);
                /* fewer items than asked is normal for a short held-out split: say how many and why */
                note_shortfall(&task, x->task[k].count);
            }
            task_free(&task);
        }
        free(text);
        if (tok) tokenizer_free(tok);
    }
    if (!rc && lens) {
        rc = logit_lens(m, val->ids, val->count, m->cfg.seq_len, 16384, x->kl);
        if (!rc) {
            for (int r = 0; r < LENS_READINGS; r++) {
                printf("logit lens KL per layer (%s):", LENS_READING[r].name);
                for (int l = 0; l < m->cfg.n_layers; l++) printf(" %.3f", x->kl[r][l]);
                printf("\n");
            }
        }
    }
    return rc;
}

