#include "runner/sweep.h"
#include "train/curve.h"
#include "runner/sweep_dist.h"
#include "util/dist.h"
#include "runner/machine.h"
#include "runner/record.h"
#include "train/checkpoint.h"
#include "data/dataset.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/progress.h"
#include "util/timer.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char *OUTCOME_NAMES[] = {"done", "skipped", "busy", "failed", "diverged"};
const char *outcome_name(RunOutcome outcome) { return OUTCOME_NAMES[outcome]; }

void run_report_free(RunReport *report) { metrics_free(&report->metrics); }

int sweep_selects(int position, int shard_index, int shard_count) {
    return shard_count <= 1 || position % shard_count == shard_index;
}

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

static void curve_on_step(void *user, const StepRecord *r) {
    sweep_dist_service();   /* under MPI rank 0 answers the other ranks between its steps */
    curve_record(user, r);
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
    sweep_dist_group_train(run->hash, data_dir);   /* the rest of this rank's group joins in */
    int rc = train_run(&run->settings.model, &train, data_dir, dir, curve_on_step, curve, &result);
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

/* ---------- the sweep ---------- */

static int same_data(const RunSettings *a, const RunSettings *b) {
    if (a->model.vocab_size != b->model.vocab_size || a->data.n_files != b->data.n_files ||
        strcmp(a->data.tokenizer, b->data.tokenizer))
        return 0;
    for (int i = 0; i < a->data.n_files; i++)
        if (strcmp(a->data.files[i], b->data.files[i])) return 0;
    return 1;
}

static int prepare_data(const RunSettings *s, char *dir, size_t size) {
    DataOptions options;
    DataSummary summary;
    memset(&options, 0, sizeof options);
    const char *inputs[EXP_MAX_FILES];
    for (int i = 0; i < s->data.n_files; i++) inputs[i] = s->data.files[i];
    options.corpus_files = inputs;
    options.n_files = s->data.n_files;
    options.vocab_size = s->model.vocab_size;
    options.tokenizer = s->data.tokenizer[0] ? s->data.tokenizer : NULL;
    int rc = dataset_prepare(&options, &summary);
    if (rc) {
        char reason[1024];   /* copied: error_set must not read the buffer it writes */
        snprintf(reason, sizeof reason, "%s", error_message());
        return error_set(rc, "preparing the data: %s", reason);
    }
    snprintf(dir, size, "%s", summary.dir);
    return OK;
}

/* Before the first run: every corpus/vocabulary the pending runs need, each once. */
static int prepare_all_data(const ExperimentConfig *exp, const int *pending, char (*dirs)[4096]) {
    for (int r = 0; r < exp->n_runs; r++) {
        if (!pending[r]) continue;
        int same = -1;
        for (int q = 0; q < r && same < 0; q++)
            if (pending[q] && same_data(&exp->runs[q].settings, &exp->runs[r].settings)) same = q;
        if (same >= 0) memcpy(dirs[r], dirs[same], sizeof dirs[r]);
        else if (prepare_data(&exp->runs[r].settings, dirs[r], sizeof dirs[r])) return ERR_FAILURE;
    }
    return OK;
}

static void tally(SweepSummary *summary, RunOutcome outcome) {
    switch (outcome) {
    case OUTCOME_DONE: summary->done++; break;
    case OUTCOME_SKIPPED: summary->skipped++; break;
    case OUTCOME_BUSY: summary->busy++; break;
    case OUTCOME_FAILED: summary->failed++; break;
    case OUTCOME_DIVERGED: summary->diverged++; break;
    }
}

double sweep_run_work(const RunSettings *s) {
    const ModelConfig *c = &s->model;
    double d = c->d_model, q_dim = (double)c->n_heads * c->head_dim;
    double kv_dim = (double)c->n_kv_heads * c->head_dim, F = c->ffn_hidden, V = c->vocab_size;
    double T = s->train.seq_len > 0 ? s->train.seq_len : c->seq_len;
    double layer_macs = d * q_dim * 2 + d * kv_dim * 2 + 3 * d * F + 2 * q_dim * (T + 1) / 2;
    double flops_per_token = 6 * (c->n_layers * layer_macs + d * V);
    return (double)s->train.tokens * (flops_per_token > 0 ? flops_per_token : 1);
}

double sweep_work_left(const RunSettings *s, const char *run_dir) {
    double work = sweep_run_work(s);
    if (!checkpoint_exists(run_dir) || s->train.tokens <= 0) return work;
    /* an interrupted run resumes from its checkpoint: the last step its curve recorded
     * tells how far it got (the checkpoint may lie a few steps before: a little optimistic) */
    char path[4300], line[512];
    snprintf(path, sizeof path, "%s/curve.log", run_dir);
    FILE *f = fopen(path, "r");
    long tokens = 0;
    StepRecord r;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%ld %ld", &r.step, &r.tokens) == 2 && strchr(line, '\n')) tokens = r.tokens;
    if (f) fclose(f);
    double done = (double)tokens / (double)s->train.tokens;
    /* at least 1%: a run that trained to the end still measures (and a zero total has no ETA) */
    return work * (done < 0 ? 1 : done > 0.99 ? 0.01 : 1 - done);
}

static void report_run(Progress *progress, int k, double work_done, const ResolvedRun *run,
                       const RunReport *report) {
    char detail[768];
    double loss = metrics_get(&report->metrics, "val_loss");
    if (report->outcome == OUTCOME_DONE)
        snprintf(detail, sizeof detail,  " | run %d %s done: val_loss %.4f over %.0f tokens in %.1fs", k, run->hash, loss,
                 metrics_get(&report->metrics, "final_eval_tokens"), report->seconds);
    else
        snprintf(detail, sizeof detail, " | run %d %s %s: %s", k, run->hash, outcome_name(report->outcome),
                 report->error);
    progress->last_print = 0;   /* always print a line at the end of a run */
    progress_update(progress, work_done, detail);
    if (progress->on_terminal) fputc('\n', stderr);
}

/* Marks the selected runs that are not finished; finished ones are linked and counted. */
static int find_pending(const SweepContext *ctx, const ExperimentConfig *exp, int shard_index, int shard_count,
                        int *pending, SweepSummary *summary) {
    char status[16];
    for (int r = 0; r < exp->n_runs; r++) {
        if (!sweep_selects(r, shard_index, shard_count)) continue;
        summary->selected++;
        int rc = store_run_status(ctx->store, exp->runs[r].hash, status, sizeof status);
        if (rc) return rc;
        pending[r] = !sweep_finished(ctx, status);
        if (!strcmp(status, "running") && !sweep_run_held(ctx->runs_dir, exp->runs[r].hash))
            fprintf(stderr, "sweep %s: run %s was left running by an interrupted sweep; resuming it\n", exp->name,
                    exp->runs[r].hash);
        if (pending[r]) continue;
        summary->skipped++;
        if ((rc = store_link_experiment(ctx->store, exp->runs[r].hash, exp->name, exp->runs[r].variant))) return rc;
    }
    return OK;
}

static int run_pending(const SweepContext *ctx, const ExperimentConfig *exp, const int *pending,
                       char (*dirs)[4096], int n_pending, SweepSummary *summary) {
    char label[128];
    Progress progress;
    snprintf(label, sizeof label, "sweep %s", exp->name);
    /* progress in work (tokens x cost per token), not runs: the runs of a grid differ in size,
     * so the ETA is the time so far scaled by the work left over the work done. A resumed run
     * counts only the work it has left, else its quick finish made the ETA far too short. */
    double total_work = 0, work_done = 0, *left = calloc((size_t)exp->n_runs + 1, sizeof *left);
    if (!left) return error_set(ERR_FAILURE, "out of memory");
    for (int r = 0; r < exp->n_runs; r++) {
        if (!pending[r]) continue;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", ctx->runs_dir, exp->runs[r].hash);
        total_work += left[r] = sweep_work_left(&exp->runs[r].settings, dir);
    }
    /* runs are numbered within the whole selection, so a re-run goes on where it stopped */
    int k = summary->selected - n_pending;
    if (k > 0)
        fprintf(stderr, "%s: %d of %d runs already finished, %d to run\n", label, k, summary->selected, n_pending);
    progress_begin(&progress, label, total_work);
    int rc = OK;
    for (int r = 0; r < exp->n_runs && !rc; r++) {
        if (!pending[r]) continue;
        const ResolvedRun *run = &exp->runs[r];
        RunReport report;
        fprintf(stderr, "%s: run %d of %d: %s %s seed %llu\n", label, ++k, summary->selected, run->hash,
                run->variant, (unsigned long long)run->settings.train.seed);
        rc = run_one(ctx, exp, run, dirs[r], &report);   /* not OK: the store cannot record results */
        work_done += left[r];
        if (rc == OK) {
            tally(summary, report.outcome);
            report_run(&progress, k, work_done, run, &report);
        }
        run_report_free(&report);   /* and on a store failure stop rather than waste runs */
    }
    free(left);
    return rc;
}

int sweep_run(const SweepContext *ctx, const ExperimentConfig *exp, int shard_index, int shard_count,
              SweepSummary *summary) {
    double start = now_seconds();
    memset(summary, 0, sizeof *summary);
    summary->grid = exp->n_runs;
    int *pending = calloc((size_t)exp->n_runs + 1, sizeof *pending);
    char (*dirs)[4096] = calloc((size_t)exp->n_runs + 1, sizeof *dirs);
    int rc = pending && dirs ? OK : error_set(ERR_FAILURE, "out of memory");
    /* the plan and [analysis] baseline, for the report's runs planned and comparisons */
    if (rc == OK) rc = store_record_plan(ctx->store, exp->name, exp->n_seeds ? exp->n_seeds : 1, exp->n_runs, exp->baseline);
    if (rc == OK) rc = find_pending(ctx, exp, shard_index, shard_count, pending, summary);
    int n_pending = 0;
    for (int r = 0; r < exp->n_runs; r++) n_pending += pending && pending[r];
    if (rc == OK && n_pending) rc = prepare_all_data(exp, pending, dirs);
    if (rc == OK && n_pending)
        rc = dist_world_active() ? sweep_dist_pending(ctx, exp, pending, dirs, n_pending, summary)
                                 : run_pending(ctx, exp, pending, dirs, n_pending, summary);
    free(pending);
    free(dirs);
    summary->seconds = now_seconds() - start;
    return rc;
}
