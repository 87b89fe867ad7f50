/* Training: AdamW, cosine schedule with warm-up, clipping, periodic validation,
 * checkpoints with exact resume. Deterministic for a given seed and thread count. */
#ifndef TRAIN_TRAIN_H
#define TRAIN_TRAIN_H
#include "models/config.h"
#include <stdint.h>

typedef struct {
    long tokens;            /* total training tokens (steps = tokens / (batch * seq_len)) */
    float tokens_per_param; /* > 0: tokens was resolved as ceil(this x RAM parameters); 0: off.
                             * Training reads tokens alone; this is kept for the run's identity */
    int batch;              /* sequences per step */
    int seq_len;            /* 0: the model's seq_len */
    float lr, min_lr;       /* cosine from lr to min_lr after warm-up */
    int warmup;             /* steps of linear warm-up */
    float beta1, beta2, eps, weight_decay, clip;
    uint64_t seed;
    int eval_every;         /* steps between validation passes; 0: only at the end */
    long eval_tokens;       /* tokens used by periodic validation (the first ones of the split) */
    long final_tokens;      /* the final evaluation's cap, windows spread over the split by
                             * evaluate_loss_spread: 0 the whole split; TRAIN_FINAL_AUTO (the
                             * default) train_final_tokens' share of the training tokens */
    int checkpoint_every;   /* steps between checkpoints; 0: only at the end */
    int checkpoint_seconds; /* also a checkpoint once this many seconds passed since the last
                             * (default 300: a kill or crash loses at most 5 minutes); 0: off */
    int threads;            /* <= 0: all cores */
    float diverge_loss;     /* a train loss above this (or NaN) stops the run as diverged */
    int quiet;              /* no progress output */
    long stop_after_steps;  /* > 0: checkpoint and return at this step, unfinished (tests) */
    const char *record;     /* the run record (train/record.h) kept in every checkpoint and
                             * as config.json; a checkpoint with another identity is refused.
                             * NULL: none (tests), then only the model fields are compared */
    int dense_allreduce;    /* under MPI: exchange whole memory tables, not touched rows */
    /* The recipe (issue 15): the reference (Megatron) decays every tensor of two or more
     * dimensions, embedding and memory tables included, and initialises with std 0.014,
     * output projections scaled by 1/sqrt(2 n_layers). Defaults keep this harness's own. */
    int weight_decay_embeddings;   /* on: every >= 2-D tensor decays; off: the model's choice */
    float init_std;                /* std of every normally initialised tensor (0.02) */
    int scaled_init;               /* on: output projections get init_std / sqrt(2 n_layers) */
    int precision;                 /* Precision (kernels/gemm.h) of the step's GEMMs: f32 or
                                    * bf16 operands; master weights and AdamW state stay f32 */
} TrainConfig;

void train_config_defaults(TrainConfig *t);

/* The default final evaluation: a tenth of the training tokens (its forward passes cost
 * about a third of a training step's per token, so about 3% of the training time), at
 * least TRAIN_FINAL_MIN so that small splits (the Bible's 38k tokens) are scored whole. */
enum { TRAIN_FINAL_AUTO = -1, TRAIN_FINAL_MIN = 65536, TRAIN_FINAL_SHARE = 10 };
/* The tokens the final evaluation scores on a split of split_tokens: t's cap resolved. */
long train_final_tokens(const TrainConfig *t, long split_tokens);

typedef struct {
    long step, tokens;
    double train_loss, val_loss; /* val_loss is NAN on steps without validation */
    double lr, tok_s;
} StepRecord;

typedef struct {
    long steps, tokens;
    double train_loss, val_loss, val_ppl;
    double val_bpb;             /* the final val_loss in bits per byte of held-out text */
    double train_tok_s, mfu, sgemm_flops, seconds;
    /* seconds = the three below plus setup: the training steps, the periodic validation
     * passes, the final evaluation (over final_tokens of the val_tokens held out) */
    double train_seconds, val_seconds, final_seconds;
    long eval_tokens, final_tokens, val_tokens;
    long ram_params, rom_weights;
    double train_flops_per_token, inference_flops_per_token;
    int diverged;
    int interrupted;            /* the signal (SIGINT, SIGTERM) that stopped it after a checkpoint; 0: none */
    long resumed_at;            /* the checkpoint's step this call started from; 0: from scratch */
    int already_finished;       /* the checkpoint was a finished run: nothing trained, evaluated again */
    char reason[256];
    int ranks;                  /* processes that trained it (MPI); 1 without */
    double comm_seconds;        /* in the gradient exchange, per step */
    double comm_bytes_dense, comm_bytes_sparse; /* per step and rank: whole tables, touched rows */
} TrainResult;

typedef void (*StepCallback)(void *user, const StepRecord *record);

/* Asks a running train_run to save a checkpoint at the end of its step and return, with
 * TrainResult.interrupted = sig. Async-signal-safe: for SIGINT / SIGTERM handlers. */
void train_request_stop(int sig);

/* Trains on the prepared corpus in data_dir. Writes out_dir/checkpoint.safetensors
 * (and resumes from it when it exists and is unfinished). on_step may be NULL. */
int train_run(const ModelConfig *model, const TrainConfig *train, const char *data_dir,
              const char *out_dir, StepCallback on_step, void *user, TrainResult *result);
#endif
