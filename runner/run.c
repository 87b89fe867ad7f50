/* One run of a sweep: trains it into <runs_dir>/<hash>/ under the folder's lock, measures it
 * and records it (run_one), or hands the outcome back for another rank to record
 * (run_execute). The sweep (runner/sweep.c) and its MPI form (runner/sweep_dist.c) call
 * these; what MPI adds between and before training steps comes in through the context. */
#include "runner/run.h"
#include "train/curve.h"
#include "runner/machine.h"
#include "runner/record.h"
#include "train/checkpoint.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/timer.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char *OUTCOME_NAMES[] = {"done", "skipped", "busy", "failed", "diverged"};
const char *outcome_name(RunOutcome outcome) { return OUTCOME_NAMES[outcome]; }

void run_report_free(RunReport *report) { metrics_free(&report->metrics); }

int sweep_finished(const SweepContext *ctx, const char *status) {
    return !strcmp(status, "done") || (!strcmp(status, "diverged") && !ctx->retry_diverged);
}

void sweep_runs_dir(const char *db_path, char *out, size_t size) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", db_path);
    snprintf(out, size, "%s/runs", dirname(copy));
}

int sweep_run_held(const char *runs_dir, const char *hash) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/lock", runs_dir, hash);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    /* a shared lock is refused while a sweep holds its exclusive one; taken, it is dropped
     * at once (a sweep starting in that instant passes the run over as busy) */
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

int sweep_context_init(SweepContext *ctx, Store *store, const char *db_path, int threads, int quiet) {
    memset(ctx, 0, sizeof *ctx);
    ctx->store = store;
    ctx->threads = threads;
    ctx->recorded_threads = threads > 0 ? threads : machine_cores();
    ctx->quiet = quiet;
    sweep_runs_dir(db_path, ctx->runs_dir, sizeof ctx->runs_dir);
    machine_git_revision(ctx->git_revision, sizeof ctx->git_revision);
    machine_host(ctx->host, sizeof ctx->host);
    return store_record_environment(store, ctx->recorded_threads, ctx->environment);
}

/* ---------- the per-step curve (train/curve.h), kept on disk so that a resumed run has all of it ---------- */

typedef struct {
    const SweepContext *ctx;
    CurveLog *curve;
} StepSink;

static void curve_on_step(void *user, const StepRecord *r) {
    const StepSink *sink = user;
    if (sink->ctx->between_steps) sink->ctx->between_steps();
    curve_record(sink->curve, r);
}

/* ---------- one run ---------- */

static void train_metrics(MetricList *m, const TrainResult *r) {
    metrics_add(m, "steps", (double)r->steps, "steps");
    metrics_add(m, "tokens", (double)r->tokens, "tokens");
    metrics_add(m, "train_loss", r->train_loss, "nats");
    if (r->diverged) return;   /* the rest is meaningless for a diverged run */
    metrics_add(m, "val_loss", r->val_loss, "nats");
    metrics_add(m, "val_ppl", r->val_ppl, "ppl");
    metrics_add(m, "val_bpb", r->val_bpb, "bits/byte");
    metrics_add(m, "train_tok_s", r->train_tok_s, "tok/s");
    metrics_add(m, "mfu", r->mfu, "fraction");
    metrics_add(m, "sgemm_flops", r->sgemm_flops, "flop/s");
    metrics_add(m, "seconds", r->seconds, "s");
    metrics_add(m, "train_seconds", r->train_seconds, "s");
    metrics_add(m, "val_seconds", r->val_seconds, "s");
    metrics_add(m, "final_eval_seconds", r->final_seconds, "s");
    metrics_add(m, "final_eval_tokens", (double)r->final_tokens, "tokens");
    metrics_add(m, "ram_params", (double)r->ram_params, "params");
    metrics_add(m, "rom_weights", (double)r->rom_weights, "values");
    metrics_add(m, "train_flops_per_token", r->train_flops_per_token, "flop/token");
    metrics_add(m, "inference_flops_per_token", r->inference_flops_per_token, "flop/token");
    if (r->ranks > 1) metrics_add(m, "ranks", (double)r->ranks, "ranks");   /* trained by a group of ranks */
}

/* The size of the prepared corpus (its summary.txt), so that a report names how many
 * tokens the runs were drawn from; absent lines leave the metrics out. */
static void corpus_metrics(MetricList *m, const char *data_dir) {
    char path[4200], *text;
    size_t bytes;
    snprintf(path, sizeof path, "%s/summary.txt", data_dir);
    if (read_file(path, &text, &bytes) != OK) { error_clear(); return; }
    static const char *const KEYS[][2] = {{"train_tokens = ", "corpus_train_tokens"}, {"val_tokens = ", "corpus_val_tokens"}};
    for (int k = 0; k < 2; k++) {
        const char *at = strstr(text, KEYS[k][0]);
        if (at && (at == text || at[-1] == '\n')) metrics_add(m, KEYS[k][1], strtod(at + strlen(KEYS[k][0]), NULL), "tokens");
    }
    free(text);
}

static TrainConfig train_config(const SweepContext *ctx, const ResolvedRun *run, const char *record) {
    TrainConfig train = run->settings.train;
    train.record = record;
    train.threads = ctx->threads;
    train.quiet = ctx->quiet;
    return train;
}

static void train_attempt(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir, const char *dir,
                          const char *record, CurveLog *curve, RunReport *report) {
    TrainConfig train = train_config(ctx, run, record);
    TrainResult result;
    memset(&result, 0, sizeof result);
    error_clear();
    if (ctx->before_training) ctx->before_training(run->hash, data_dir);
    StepSink sink = {ctx, curve};
    int rc = train_run(&run->settings.model, &train, data_dir, dir, curve_on_step, &sink, &result);
    metrics_free(&report->metrics);
    train_metrics(&report->metrics, &result);
    corpus_metrics(&report->metrics, data_dir);
    if (result.diverged) {
        report->outcome = OUTCOME_DIVERGED;
        snprintf(report->error, sizeof report->error, "%s", result.reason[0] ? result.reason : "diverged");
    } else if (rc != OK) {
        report->outcome = OUTCOME_FAILED;
        snprintf(report->error, sizeof report->error, "%s", error_message());
    } else {
        report->outcome = OUTCOME_DONE;
    }
}

/* Moves the checkpoint files (every *.safetensors of the run folder) into
 * <run>/unusable-<time>/, kept for inspection. */
static int set_aside_checkpoint(const char *dir, char *aside, size_t size) {
    char from[4400], to[4400];
    snprintf(aside, size, "%s/unusable-%ld", dir, (long)time(NULL));
    if (make_dirs(aside)) return ERR_FAILURE;
    DIR *d = opendir(dir);
    if (!d) return error_set(ERR_FAILURE, "cannot list %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = OK;
    while (rc == OK && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 12 || strcmp(e->d_name + n - 12, ".safetensors")) continue;
        snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", aside, e->d_name);
        if (rename(from, to) != 0) rc = error_set(ERR_FAILURE, "cannot move %s: %s", from, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* Trains the run; the outcome and figures go to report, the curve to curve. A run that
 * cannot resume from the checkpoint of an interrupted attempt (say, killed while saving
 * it) starts again from scratch: training is deterministic, so the figures are the same. */
static void train_step(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir, const char *dir,
                       const char *record, CurveLog *curve, RunReport *report) {
    int resuming = checkpoint_exists(dir);
    train_attempt(ctx, run, data_dir, dir, record, curve, report);
    if (report->outcome != OUTCOME_FAILED || !resuming) return;
    char first[512], aside[4200];
    snprintf(first, sizeof first, "%s", report->error);
    if (set_aside_checkpoint(dir, aside, sizeof aside)) {
        snprintf(report->error, sizeof report->error, "%s; cannot set the checkpoint aside: %s", first,
                 error_message());
        return;
    }
    fprintf(stderr, "run %s: cannot resume (%s); checkpoint moved to %s, starting again\n", run->hash, first, aside);
    train_attempt(ctx, run, data_dir, dir, record, curve, report);
    if (report->outcome == OUTCOME_FAILED) {
        char second[512];
        snprintf(second, sizeof second, "%s", report->error);
        snprintf(report->error, sizeof report->error, "resuming: %.240s; from scratch: %.240s", first, second);
    }
}

/* The pipeline proper, once the run is ours: later issues add fold, eval and bench here. */
static void pipeline(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir, const char *dir,
                     CurveLog *curve, RunReport *report) {
    /* the run record: train_run keeps it in the checkpoint and writes it as config.json */
    char hash[17];
    char *record = run_record_json(&run->settings, data_dir, ctx->threads, hash);
    if (!record || strcmp(hash, run->hash)) {   /* the record's identity is the run's */
        report->outcome = OUTCOME_FAILED;
        snprintf(report->error, sizeof report->error, "run record: %s",
                 record ? "its hash differs from the run's" : error_message());
        free(record);
        return;
    }
    train_step(ctx, run, data_dir, dir, record, curve, report);
    free(record);
    if (report->outcome != OUTCOME_DONE) return;
    /* a failed measurement fails the run; its training stays in dir, so a re-run resumes
     * from the finished checkpoint and only measures again */
    if (!ctx->measure) error_set(ERR_FAILURE, "no measurement set for the sweep");
    if (!ctx->measure || ctx->measure(&run->settings, data_dir, dir, ctx->threads, &report->metrics)) {
        report->outcome = OUTCOME_FAILED;
        snprintf(report->error, sizeof report->error, "measuring: %s", error_message());
    }
}

/* An exclusive lock on <run>/lock, held while the run trains: two sweeps on one machine
 * never train the same run, and the kernel drops the lock when a process dies. */
static int lock_run(const char *dir, int *fd, RunReport *report) {
    char path[4300];
    snprintf(path, sizeof path, "%s/lock", dir);
    *fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (*fd < 0) {
        snprintf(report->error, sizeof report->error, "cannot create %.300s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return 0;
    snprintf(report->error, sizeof report->error, "being run by another process (%.300s held)", path);
    close(*fd);
    *fd = -1;
    return 1;
}

static RunIdentity identity(const SweepContext *ctx, const ExperimentConfig *exp, const ResolvedRun *run) {
    RunIdentity id = {run->hash, exp->name, run->variant, run->config_json, run->settings.train.seed,
                      ctx->git_revision, ctx->host, ctx->environment, ctx->recorded_threads};
    return id;
}

/* Records a run that could not even start (no folder, no lock file) as failed. */
static int record_unstarted(const SweepContext *ctx, const ExperimentConfig *exp, const ResolvedRun *run,
                            RunReport *report) {
    RunIdentity id = identity(ctx, exp, run);
    int started, rc = store_begin_run(ctx->store, &id, &started);
    report->outcome = OUTCOME_FAILED;
    if (rc || !started) return rc;
    return store_finish_run(ctx->store, run->hash, "failed", report->error, NULL, 0, NULL);
}

int run_one(const SweepContext *ctx, const ExperimentConfig *exp, const ResolvedRun *run, const char *data_dir,
            RunReport *report) {
    char dir[4200], status[16];
    int fd = -1, rc;
    double start = now_seconds();
    memset(report, 0, sizeof *report);
    report->outcome = OUTCOME_SKIPPED;
    if ((rc = store_run_status(ctx->store, run->hash, status, sizeof status))) return rc;
    if (sweep_finished(ctx, status)) return store_link_experiment(ctx->store, run->hash, exp->name, run->variant);
    snprintf(dir, sizeof dir, "%s/%s", ctx->runs_dir, run->hash);
    if (make_dirs(dir)) {
        snprintf(report->error, sizeof report->error, "%s", error_message());
        return record_unstarted(ctx, exp, run, report);
    }
    int locked = lock_run(dir, &fd, report);
    if (locked < 0) return record_unstarted(ctx, exp, run, report);
    if (locked > 0) { report->outcome = OUTCOME_BUSY; return OK; }
    /* another process may have finished it between our first look and the lock */
    if ((rc = store_run_status(ctx->store, run->hash, status, sizeof status)) || sweep_finished(ctx, status)) {
        close(fd);
        return rc ? rc : store_link_experiment(ctx->store, run->hash, exp->name, run->variant);
    }
    RunIdentity id = identity(ctx, exp, run);
    int started;
    rc = store_begin_run(ctx->store, &id, &started);
    if (rc == OK && started) {
        CurveLog curve;
        curve_open(&curve, dir);
        pipeline(ctx, run, data_dir, dir, &curve, report);
        rc = store_finish_run(ctx->store, run->hash, outcome_name(report->outcome), report->error, curve.items,
                              curve.count, &report->metrics);
        curve_close(&curve);
    }
    close(fd);
    report->seconds = now_seconds() - start;
    return rc;
}

int run_execute(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir, RunReport *report,
                StepRecord **curve_out, long *n_curve) {
    char dir[4200];
    int fd = -1;
    double start = now_seconds();
    memset(report, 0, sizeof *report);
    *curve_out = NULL;
    *n_curve = 0;
    snprintf(dir, sizeof dir, "%s/%s", ctx->runs_dir, run->hash);
    if (make_dirs(dir)) {
        report->outcome = OUTCOME_FAILED;
        snprintf(report->error, sizeof report->error, "%s", error_message());
        return OK;
    }
    int locked = lock_run(dir, &fd, report);
    if (locked) { report->outcome = locked > 0 ? OUTCOME_BUSY : OUTCOME_FAILED; return OK; }
    CurveLog curve;
    curve_open(&curve, dir);
    pipeline(ctx, run, data_dir, dir, &curve, report);
    *curve_out = curve.items;
    *n_curve = curve.count;
    curve.items = NULL;
    curve_close(&curve);
    close(fd);
    report->seconds = now_seconds() - start;
    return OK;
}

void run_follow(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", ctx->runs_dir, run->hash);
    TrainConfig train = train_config(ctx, run, NULL);   /* the group's rank 0 keeps the record */
    train.quiet = 1;
    TrainResult result;
    memset(&result, 0, sizeof result);
    error_clear();
    /* the outcome is the group's rank 0's to record: train_run's ranks agree on failure */
    (void)train_run(&run->settings.model, &train, data_dir, dir, NULL, NULL, &result);
}
