#include "train/train.h"
#include "data/tokenizer.h"
#include "data/dataset.h"
#include "data/tokens.h"
#include "kernels/activation.h"
#include "kernels/adamw.h"
#include "kernels/gemm.h"
#include "train/checkpoint.h"
#include "train/dist_train.h"
#include "train/eval.h"
#include "models/model.h"
#include "models/memory.h"
#include "train/record.h"
#include "util/dist.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/progress.h"
#include "util/rng.h"
#include "util/timer.h"
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void train_config_defaults(TrainConfig *t) {
    memset(t, 0, sizeof *t);
    t->tokens = 2000000;
    t->batch = 16;
    t->lr = 3e-3f;        /* small models tolerate (and need) a higher rate than the paper's 4e-4 */
    t->min_lr = 3e-4f;
    t->warmup = 50;
    t->beta1 = 0.9f;
    t->beta2 = 0.95f;
    t->eps = 1e-8f;
    t->weight_decay = 0.1f;
    t->clip = 1.0f;
    t->seed = 1;
    t->eval_every = 200;
    t->eval_tokens = 32768;
    t->final_tokens = TRAIN_FINAL_AUTO;
    t->diverge_loss = 30.0f;
    t->init_std = 0.02f;
    t->checkpoint_seconds = 300;
}

long train_final_tokens(const TrainConfig *t, long split_tokens) {
    long cap = t->final_tokens;
    if (cap == TRAIN_FINAL_AUTO) {
        cap = t->tokens / TRAIN_FINAL_SHARE;
        if (cap < TRAIN_FINAL_MIN) cap = TRAIN_FINAL_MIN;
    }
    return cap > 0 && cap < split_tokens ? cap : split_tokens;
}

static volatile sig_atomic_t stop_signal;

void train_request_stop(int sig) { stop_signal = sig; }

/* Linear warm-up, then cosine from lr to min_lr at the last step. */
static float learning_rate(const TrainConfig *t, long step, long steps) {
    if (step < t->warmup) return t->lr * (step + 1) / t->warmup;
    double progress = steps > t->warmup ? (double)(step - t->warmup) / (steps - t->warmup) : 1.0;
    return t->min_lr + 0.5f * (t->lr - t->min_lr) * (float)(1.0 + cos(M_PI * progress));
}

/* Sequence b of step s starts at a position drawn from (seed, s, b) alone, so a resumed
 * run reads exactly the batches the uninterrupted run would have, and a rank of a
 * data-parallel run reads its sequences [b0, b1) of the global batch B alone. */
static int load_batch(int32_t *tokens, int32_t *targets, const TokenFile *data, uint64_t seed,
                       long step, int B, int b0, int b1, int T) {
    tokens -= (long)b0 * T;
    targets -= (long)b0 * T;
    for (int b = b0; b < b1; b++) {
        uint64_t h = hash64(seed * 0x9e3779b97f4a7c15ULL ^ hash64((uint64_t)step * B + b));
        long start = (long)(h % (uint64_t)(data->count - T - 1));
        int rc = token_file_window(data, start, T, tokens + (long)b * T, targets + (long)b * T);
        if (rc) return rc;
    }
    return OK;
}

static double clip_gradients(ParamSet *ps, float clip) {
    double norm = sqrt(vector_sum_squares(ps->grad, ps->total));
    if (clip > 0 && norm > clip) vector_scale(ps->grad, (float)(clip / norm), ps->total);
    return norm;
}

static void optimizer_step(ParamSet *ps, const TrainConfig *t, float lr, long step) {
    AdamWSettings s = {lr, t->beta1, t->beta2, t->eps, t->weight_decay};
    params_adamw_step(ps, &s, step + 1);
}

/* A checkpoint left by an interrupted run is resumed only if it is the same model. */
static int open_or_create(Model *m, const ModelConfig *cfg, const TrainConfig *t, const char *dir,
                          const char *data_dir, TrainState *state) {
    memset(state, 0, sizeof *state);
    if (!checkpoint_exists(dir)) {
        int rc = model_create(m, cfg, 0, 1);
        if (!rc) model_init_weights_recipe(m, t->seed, t->init_std, t->scaled_init);
        if (!rc && m->ops && m->ops->prepare && (rc = m->ops->prepare(m, data_dir))) model_free(m);
        if (!rc && t->record && !(m->record = strdup(t->record))) {
            model_free(m);
            rc = error_set(ERR_FAILURE, "out of memory");
        }
        return rc;
    }
    int rc = checkpoint_load(m, dir, 1, state);
    if (rc) return rc;
    /* resumed (or reported) only when it is the same run: never another run's result */
    if (t->record) {
        char differences[2048];
        if (!m->record) {
            model_free(m);
            return error_set(ERR_INPUT, "%s holds a checkpoint without a run record (made before records), so "
                             "not known to be this run: give --fresh to train afresh, or another --out", dir);
        }
        if (record_identity_diff(m->record, t->record, differences, sizeof differences)) {
            model_free(m);
            return error_set(ERR_INPUT, "%s holds a run with other settings (%s): give --fresh to train "
                             "afresh, or another --out", dir, differences);
        }
        free(m->record);   /* the same run: the new record (threads, revision) from now on */
        if (!(m->record = strdup(t->record))) {
            model_free(m);
            return error_set(ERR_FAILURE, "out of memory");
        }
    }
    ModelConfig wanted = *cfg;
    model_config_validate(&wanted);
    for (int i = 0; i < model_config_field_count(); i++) {
        char a[128], b[128];
        model_config_field_value(&m->cfg, i, a, sizeof a);
        model_config_field_value(&wanted, i, b, sizeof b);
        if (strcmp(a, b)) {
            model_free(m);
            return error_set(ERR_INPUT, "%s holds a checkpoint with %s = %s, not %s: use another --out",
                             dir, model_config_field_key(i), a, b);
        }
    }
    return OK;
}

/* The run's val_loss: train_final_tokens of the split, spread over it (eval.h), and the
 * same in bits per byte of the text those tokens stand for (NAN without the tokenizer). */
static double final_evaluation(Model *m, const TrainConfig *t, const TokenFile *val, int B, int T,
                               const char *data_dir, TrainResult *result) {
    result->val_tokens = val->count;
    long cap = train_final_tokens(t, val->count - 1);
    double loss = evaluate_loss_spread(m, val->ids, val->count, B, T, cap, &result->final_tokens);
    char path[4200];
    Tokenizer *tok = NULL;
    snprintf(path, sizeof path, "%s/tokenizer.bin", data_dir);
    result->val_bpb = NAN;
    if (tokenizer_load(&tok, path) == OK)
        result->val_bpb = bits_per_byte(loss, result->final_tokens, evaluate_target_bytes(val->ids, val->count, T, cap, 1, tok));
    else
        error_clear();
    tokenizer_free(tok);
    return loss;
}

static int open_data(const char *data_dir, int vocab, TokenFile *train, TokenFile *val) {
    DataSummary summary;
    int rc = dataset_summary_load(data_dir, &summary);
    if (rc) return rc;
    if (summary.vocab_size != vocab && summary.no_tokenizer)   /* the ids came from outside */
        return error_set(ERR_INPUT, "%s holds token ids of a %d-token vocabulary but the model has %d: "
                         "set the model's to match (--set model.vocab_size=%d, or [model] vocab_size)",
                         data_dir, summary.vocab_size, vocab, summary.vocab_size);
    if (summary.vocab_size != vocab)
        return error_set(ERR_INPUT, "%s has a %d-token vocabulary but the model expects %d (./meki data --vocab %d)",
                         data_dir, summary.vocab_size, vocab, vocab);
    if ((rc = dataset_open_split(data_dir, "train", 0, train))) return rc;
    if ((rc = dataset_open_split(data_dir, "val", 0, val))) { token_file_close(train); return rc; }
    return OK;
}

int train_run(const ModelConfig *cfg, const TrainConfig *t, const char *data_dir,
              const char *out_dir, StepCallback on_step, void *user, TrainResult *result) {
    memset(result, 0, sizeof *result);
    result->val_bpb = NAN;   /* until a final evaluation measures it */
    kernels_set_threads(t->threads);
    int T = t->seq_len > 0 ? t->seq_len : cfg->seq_len, B = t->batch, rc;
    if (B <= 0 || T < 2 || T > cfg->seq_len)
        return error_set(ERR_INPUT, "train: batch must be positive and seq_len in 2..%d", cfg->seq_len);
    /* B x T must fit an int and its activations this machine, checked before any work */
    ModelConfig checked = *cfg;
    if ((rc = model_config_validate(&checked)) || (rc = model_check_activations(&checked, B, T))) {
        char why[1024];   /* error_set must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", error_message());
        return error_set(rc, "train: %s", why);
    }
    if ((rc = gemm_precision_check((Precision)t->precision))) return rc;
    long steps = t->tokens / ((long)B * T);
    if (steps < 1)
        return error_set(ERR_INPUT, "train: tokens (%ld) is less than one batch (batch %d x seq_len %d = %ld)",
                         t->tokens, B, T, (long)B * T);
    struct stat out_stat;
    if (stat(out_dir, &out_stat) == 0 && !S_ISDIR(out_stat.st_mode))
        return error_set(ERR_INPUT, "train: %s exists and is not a folder: the run folder cannot go there", out_dir);
    TokenFile train, val;
    if ((rc = open_data(data_dir, cfg->vocab_size, &train, &val))) return rc;
    if (train.count < T + 2) {
        token_file_close(&train); token_file_close(&val);
        return error_set(ERR_INPUT, "%s: the train tokens are fewer than one sequence", data_dir);
    }
    Model m;
    TrainState state;
    DistTrain dist;   /* under MPI rank 0 alone reads and writes the run folder */
    int root = dist_rank() == 0;
    if (root && !(rc = make_dirs(out_dir))) rc = open_or_create(&m, cfg, t, out_dir, data_dir, &state);
    if ((rc = dist_train_open(&dist, &m, cfg, &state, B, t->dense_allreduce, rc))) {
        token_file_close(&train); token_file_close(&val);
        return rc;
    }
    /* which tensors decay is not stored: it follows from the settings on every rank */
    params_set_decay(&m.params, t->weight_decay_embeddings);
    char config_path[4200];
    snprintf(config_path, sizeof config_path, "%s/config.json", out_dir);
    if (root && t->record && (rc = record_write(config_path, t->record))) {   /* rank 0 alone writes */
        model_free(&m);
        token_file_close(&train); token_file_close(&val);
        return rc;
    }
    int quiet = t->quiet || !root;
    Accounting acc;
    model_accounting(&m, &acc);
    result->ram_params = acc.ram_params;
    result->rom_weights = acc.rom_weights;
    result->train_flops_per_token = acc.train_flops_per_token;
    result->inference_flops_per_token = acc.inference_flops_per_token;
    /* the job's peak: ranks measure at once (sharing the machine as training will) and their
     * peaks add up, since tokens per second counts every rank's tokens; the peak of the
     * precision trained (bf16's is about twice f32's) */
    result->sgemm_flops = gemm_peak_flops((Precision)t->precision, 512, 0.3);
    int32_t *tokens = NULL, *targets = NULL;
    if (!(rc = dist_allreduce_sum_doubles(&result->sgemm_flops, 1)) && !(rc = model_reserve(&m, B, T))) {
        tokens = malloc(sizeof(int32_t) * (size_t)B * (size_t)T);
        targets = malloc(sizeof(int32_t) * (size_t)B * (size_t)T);
        if (!tokens || !targets) rc = error_set(ERR_FAILURE, "train: out of memory for a batch of %d x %d", B, T);
    }
    if (rc) {
        free(tokens); free(targets); model_free(&m);
        token_file_close(&train); token_file_close(&val);
        return rc;
    }
    int already_finished = state.finished;
    result->resumed_at = state.step;
    result->already_finished = already_finished;
    long timing_start_step = state.step + (steps - state.step > 20 ? 5 : 1);
    double timed_seconds = 0, loss = state.train_loss, start = now_seconds();
    long timed_tokens = 0;
    Progress progress;
    progress_begin_from(&progress, "train", (double)steps, (double)state.step);
    double last_save = now_seconds();
    for (long step = state.step; step < steps && !state.finished; step++) {
        double step_start = now_seconds();
        float lr = learning_rate(t, step, steps);
        if ((rc = load_batch(tokens, targets, &train, t->seed, step, B, dist.b0, dist.b1, T))) break;
        params_zero_grad(&m.params);
        gemm_step_begin((Precision)t->precision);
        loss = dist_train_loss(&dist, model_forward(&m, tokens, targets, dist.b1 - dist.b0, T));
        if (!isfinite(loss) || loss > t->diverge_loss) {
            gemm_step_end();
            result->diverged = 1;
            snprintf(result->reason, sizeof result->reason, "loss %g at step %ld", loss, step);
            break;
        }
        model_backward(&m);
        gemm_step_end();   /* the optimizer changes the weights the bf16 copies were made of */
        if ((rc = dist_train_exchange(&dist, &m.params))) break;
        clip_gradients(&m.params, t->clip);
        optimizer_step(&m.params, t, lr, step);
        double step_seconds = now_seconds() - step_start;
        result->train_seconds += step_seconds;
        if (step >= timing_start_step) { timed_seconds += step_seconds; timed_tokens += (long)B * T; }
        state.step = step + 1;
        state.tokens = state.step * B * T;
        state.train_loss = loss;
        StepRecord record = {state.step, state.tokens, loss, NAN, lr, B * T / step_seconds};
        int last = state.step == steps;
        if ((t->eval_every > 0 && state.step % t->eval_every == 0) || last) {
            /* every curve point on the same eval_tokens, the last one too (the whole split
             * is the run's val_loss, below): a different set at the end kinked the curve.
             * Spread over the split, as the final one: the split's first 8192 tokens of the
             * Debian corpus are one document, on which two mini runs 0.27 nats apart at the
             * end read 4.035 and 4.058 */
            double val_start = now_seconds();
            if (root) record.val_loss = evaluate_loss_spread(&m, val.ids, val.count, B, T, t->eval_tokens, &result->eval_tokens);
            dist_bcast(&record.val_loss, sizeof record.val_loss, 0);
            result->val_seconds += now_seconds() - val_start;
            model_reserve(&m, B, T);
        }
        if (on_step && root) on_step(user, &record);
        if (!quiet) {
            char detail[200], val_text[32] = "";
            if (!isnan(record.val_loss)) {   /* a validation line is always shown */
                snprintf(val_text, sizeof val_text, " val %.4f (%ld tok)", record.val_loss, result->eval_tokens);
                progress.last_print = 0;
            }
            double tok_s = timed_seconds > 0 ? timed_tokens / timed_seconds : record.tok_s;
            /* MFU as people quote it: a percentage of the measured sgemm peak */
            snprintf(detail, sizeof detail, " step %ld/%ld loss %.4f lr %.2e %.0f tok/s mfu %.1f%%%s%s", state.step,
                     steps, loss, lr, tok_s, 100 * tok_s * result->train_flops_per_token / result->sgemm_flops,
                     val_text, dist_train_progress(&dist));
            progress_update(&progress, (double)state.step, detail);
        }
        if (last) {
            state.finished = 1;
            double final_start = now_seconds();
            if (root) result->val_loss = final_evaluation(&m, t, &val, B, T, data_dir, result);
            dist_bcast(&result->val_loss, sizeof result->val_loss, 0);
            result->final_seconds = now_seconds() - final_start;
            model_reserve(&m, B, T);
        }
        int stop = !last && t->stop_after_steps > 0 && state.step >= t->stop_after_steps;
        /* rank 0's clock and signal decide for every rank, so all save at the same step */
        int wanted[2] = {t->checkpoint_seconds > 0 && now_seconds() - last_save >= t->checkpoint_seconds,
                         last ? 0 : (int)stop_signal};
        if ((rc = dist_bcast(wanted, sizeof wanted, 0))) break;
        if (last || stop || wanted[0] || wanted[1] || (t->checkpoint_every > 0 && state.step % t->checkpoint_every == 0)) {
            if ((rc = dist_train_agree(root ? checkpoint_save(&m, out_dir, &state) : OK))) break;
            last_save = now_seconds();
        }
        if (wanted[1]) result->interrupted = wanted[1];
        if (stop || wanted[1]) break;
    }
    if (!quiet) progress_end(&progress);
    if (!rc && already_finished && root) {   /* nothing left to train: report the stored model */
        double final_start = now_seconds();
        result->val_loss = final_evaluation(&m, t, &val, B, T, data_dir, result);
        result->final_seconds = now_seconds() - final_start;
    }
    dist_train_figures(&dist, &result->ranks, &result->comm_seconds, &result->comm_bytes_dense,
                       &result->comm_bytes_sparse);
    dist_train_close(&dist);
    result->steps = state.step;
    result->tokens = state.tokens;
    result->train_loss = loss;
    result->val_ppl = exp(result->val_loss);
    result->seconds = now_seconds() - start;
    result->train_tok_s = timed_seconds > 0 ? timed_tokens / timed_seconds : 0;
    result->mfu = result->train_tok_s * result->train_flops_per_token / result->sgemm_flops;
    free(tokens);
    free(targets);
    model_free(&m);
    token_file_close(&train);
    token_file_close(&val);
    return rc;
}
