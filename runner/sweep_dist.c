#include "runner/sweep_dist.h"
#include "util/dist.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_JOB = 17, TAG_RESULT = 18, TAG_GROUP = 19 };

/* Ranks per run (--ranks-per-run): world ranks [g*K, (g+1)*K) train group g's runs
 * together; the group's first rank (its leader) takes runs from rank 0, the others follow. */
static int K = 1;

typedef struct {
    int train;                  /* 1: train the run; 0: stop */
    char hash[17];
    char data_dir[4096];
} GroupJob;

typedef struct {
    int index;                  /* position in exp->runs; -1: stop */
    char data_dir[4096];
} Job;

typedef struct {
    int index, outcome, n_metrics;
    long n_curve;
    double seconds;
    char error[512];
} ResultHeader;                 /* then n_metrics Metric, then n_curve StepRecord (same binary) */

/* Waiting ranks sleep between looks: a blocking MPI receive spins a core that the
 * training on the same machine needs. */
static void nap(void) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* The next message with tag (waited for with naps) into the fixed-size struct out
 * (zeroed; a shorter message leaves the rest zero, a longer one is cut). */
static int receive_struct(int tag, void *out, size_t size) {
    void *buf;
    long bytes;
    while (!dist_poll(tag, NULL)) nap();
    int rc = dist_recv(tag, &buf, &bytes, NULL);
    if (rc) return rc;
    memset(out, 0, size);
    memcpy(out, buf, (size_t)bytes < size ? (size_t)bytes : size);
    free(buf);
    return OK;
}

/* Training FLOPs of a run from its config (the backbone's; a memory module adds little):
 * the queue hands out the longest runs first so the last ones to finish are short. */
static double run_cost(const RunSettings *s) {
    const ModelConfig *c = &s->model;
    double d = c->d_model, q = (double)c->n_heads * c->head_dim, kv = (double)c->n_kv_heads * c->head_dim;
    double layer = d * q * 2 + d * kv * 2 + 3 * d * c->ffn_hidden + q * (c->seq_len + 1);
    return 6.0 * (c->n_layers * layer + d * c->vocab_size) * (double)s->train.tokens;
}

/* ---------- groups ---------- */

int sweep_dist_groups(int k) {
    int rc = dist_set_groups(k);
    if (rc == OK) K = k > 1 ? k : 1;
    return rc;
}

int sweep_dist_role(void) {
    int w = dist_world_rank();
    return w == 0 ? 0 : w % K == 0 ? 1 : 2;
}

static void group_send(const GroupJob *job) {
    int w = dist_world_rank();
    if (K <= 1 || w % K) return;
    for (int m = w + 1; m < w + K; m++)
        if (dist_send(m, TAG_GROUP, job, sizeof *job)) fprintf(stderr, "meki sweep: %s\n", error_message());
}

void sweep_dist_group_train(const char *hash, const char *data_dir) {
    GroupJob job = {.train = 1};
    snprintf(job.hash, sizeof job.hash, "%s", hash);
    snprintf(job.data_dir, sizeof job.data_dir, "%s", data_dir);
    group_send(&job);
}

static void group_stop(void) {
    GroupJob job = {.train = 0};
    group_send(&job);
}

int sweep_dist_member(const SweepContext *ctx, const ExperimentConfig *exp) {
    for (;;) {
        GroupJob job;
        int rc = receive_struct(TAG_GROUP, &job, sizeof job);
        if (rc) return rc;
        job.hash[16] = 0;
        job.data_dir[sizeof job.data_dir - 1] = 0;
        if (!job.train) return OK;
        const ResolvedRun *run = NULL;
        for (int r = 0; r < exp->n_runs && !run; r++)
            if (!strcmp(exp->runs[r].hash, job.hash)) run = &exp->runs[r];
        if (!run) return error_set(ERR_FAILURE, "the group's rank 0 sent run %s, not in the experiment", job.hash);
        run_follow(ctx, run, job.data_dir);
    }
}

/* ---------- rank 0 ---------- */

static struct {
    int on;
    const SweepContext *ctx;
    const ExperimentConfig *exp;
    char (*dirs)[4096];
    int *queue, n_queue, next;
    int *working;               /* per rank: the run it trains, -1 idle, -2 told to stop */
    int outstanding, finished, n_pending, rc;
    SweepSummary *summary;
    int released;
} S;

static const ExperimentConfig *sort_exp;
static int by_cost(const void *a, const void *b) {
    double x = run_cost(&sort_exp->runs[*(const int *)a].settings);
    double y = run_cost(&sort_exp->runs[*(const int *)b].settings);
    if (x != y) return x < y ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

static void announce(int rank, const ResolvedRun *run, const RunReport *report) {
    S.finished++;
    if (report->outcome == OUTCOME_DONE)
        fprintf(stderr, "sweep %s: [%d/%d] rank %d: run %s done: val_loss %.4f over %.0f tokens in %.1fs\n",
                S.exp->name, S.finished, S.n_pending, rank, run->hash, metrics_get(&report->metrics, "val_loss"),
                metrics_get(&report->metrics, "final_eval_tokens"), report->seconds);
    else
        fprintf(stderr, "sweep %s: [%d/%d] rank %d: run %s %s: %s\n", S.exp->name, S.finished, S.n_pending, rank,
                run->hash, outcome_name(report->outcome), report->error);
}

static int send_stop(int rank) {
    Job job = {.index = -1};
    S.working[rank] = -2;
    return dist_send(rank, TAG_JOB, &job, sizeof job.index);
}

/* The next pending run to rank, marked running in the store first; stop when none is left. */
static int dispatch(int rank) {
    while (S.next < S.n_queue) {
        int r = S.queue[S.next++];
        const ResolvedRun *run = &S.exp->runs[r];
        const SweepContext *ctx = S.ctx;
        RunIdentity id = {run->hash, S.exp->name, run->variant, run->config_json, run->settings.train.seed,
                          ctx->git_revision, ctx->host, ctx->environment, ctx->recorded_threads};
        int started, rc = store_begin_run(ctx->store, &id, &started);
        if (rc) return rc;
        if (!started) {   /* finished meanwhile by another sweep */
            S.summary->skipped++;
            S.finished++;
            continue;
        }
        Job job;
        job.index = r;
        snprintf(job.data_dir, sizeof job.data_dir, "%s", S.dirs[r]);
        fprintf(stderr, "sweep %s: run %s %s seed %llu to rank %d\n", S.exp->name, run->hash, run->variant,
                (unsigned long long)run->settings.train.seed, rank);
        S.working[rank] = r;
        S.outstanding++;
        return dist_send(rank, TAG_JOB, &job, sizeof job);
    }
    return send_stop(rank);
}

static int record_result(int rank, const char *buf, long bytes) {
    ResultHeader h;
    if (bytes < (long)sizeof h) return error_set(ERR_FAILURE, "rank %d sent a truncated result", rank);
    memcpy(&h, buf, sizeof h);
    long need = (long)sizeof h + (long)h.n_metrics * (long)sizeof(Metric) + h.n_curve * (long)sizeof(StepRecord);
    if (h.n_metrics < 0 || h.n_curve < 0 || need != bytes || h.index != S.working[rank])
        return error_set(ERR_FAILURE, "rank %d sent a malformed result", rank);
    const ResolvedRun *run = &S.exp->runs[h.index];
    RunReport report;
    memset(&report, 0, sizeof report);
    report.outcome = (RunOutcome)h.outcome;
    report.seconds = h.seconds;
    snprintf(report.error, sizeof report.error, "%s", h.error);
    const Metric *metrics = (const Metric *)(buf + sizeof h);
    for (int i = 0; i < h.n_metrics; i++) metrics_add(&report.metrics, metrics[i].name, metrics[i].value, metrics[i].unit);
    /* copied: the curve sits at an offset that need not be aligned for doubles */
    StepRecord *curve = malloc(sizeof(StepRecord) * (size_t)(h.n_curve > 0 ? h.n_curve : 1));
    int rc = curve ? OK : error_set(ERR_FAILURE, "out of memory");
    if (curve) memcpy(curve, buf + sizeof h + (size_t)h.n_metrics * sizeof(Metric), sizeof(StepRecord) * (size_t)h.n_curve);
    /* busy: another process holds the run's folder and will record it */
    if (rc == OK && report.outcome != OUTCOME_BUSY)
        rc = store_finish_run(S.ctx->store, run->hash, outcome_name(report.outcome), report.error, curve, h.n_curve,
                              &report.metrics);
    if (rc == OK) {
        sweep_tally(S.summary, report.outcome);
        announce(rank, run, &report);
    }
    free(curve);
    run_report_free(&report);
    S.working[rank] = -1;
    S.outstanding--;
    return rc;
}

void sweep_dist_service(void) {
    int source;
    if (!S.on || S.rc) return;
    while (S.rc == OK && dist_poll(TAG_RESULT, &source)) {
        void *buf;
        long bytes;
        if ((S.rc = dist_recv(TAG_RESULT, &buf, &bytes, &source))) break;
        S.rc = record_result(source, buf, bytes);
        free(buf);
        if (S.rc == OK) S.rc = dispatch(source);
    }
}

int sweep_dist_pending(const SweepContext *ctx, const ExperimentConfig *exp, const int *pending,
                       char (*dirs)[4096], int n_pending, SweepSummary *summary) {
    int size = dist_world_size();
    memset(&S, 0, sizeof S);
    S.ctx = ctx;
    S.exp = exp;
    S.dirs = dirs;
    S.summary = summary;
    S.n_pending = n_pending;
    S.queue = malloc(sizeof(int) * (size_t)(n_pending + 1));
    S.working = malloc(sizeof(int) * (size_t)size);
    if (!S.queue || !S.working) {
        free(S.queue); free(S.working);
        return error_set(ERR_FAILURE, "out of memory");
    }
    for (int r = 0; r < exp->n_runs; r++)
        if (pending[r]) S.queue[S.n_queue++] = r;
    sort_exp = exp;
    qsort(S.queue, (size_t)S.n_queue, sizeof *S.queue, by_cost);
    for (int w = 0; w < size; w++) S.working[w] = -1;
    S.on = 1;
    if (K > 1)
        fprintf(stderr, "sweep %s: %d pending runs over %d groups of %d ranks (rank 0's group trains too)\n",
                exp->name, n_pending, size / K, K);
    else
        fprintf(stderr, "sweep %s: %d pending runs over %d ranks (rank 0 trains too)\n", exp->name, n_pending, size);
    SweepContext mine = *ctx;   /* rank 0 answers the others between its own steps */
    mine.between_steps = sweep_dist_service;
    mine.before_training = sweep_dist_group_train;
    for (int w = K; w < size && S.rc == OK; w += K) S.rc = dispatch(w);
    while (S.rc == OK) {
        sweep_dist_service();
        if (S.rc) break;
        if (S.next < S.n_queue) {   /* rank 0 takes the next run itself */
            int r = S.queue[S.next++];
            RunReport report;
            fprintf(stderr, "sweep %s: run %s %s seed %llu on rank 0\n", exp->name, exp->runs[r].hash,
                    exp->runs[r].variant, (unsigned long long)exp->runs[r].settings.train.seed);
            int rc = run_one(&mine, exp, &exp->runs[r], dirs[r], &report);
            if (rc == OK) {
                sweep_tally(summary, report.outcome);
                announce(0, &exp->runs[r], &report);
            } else if (S.rc == OK) {
                S.rc = rc;
            }
            run_report_free(&report);
        } else if (S.outstanding > 0) {
            nap();
        } else {
            break;
        }
    }
    S.on = 0;
    S.released = S.rc == OK;   /* every worker was told to stop */
    if (S.released) group_stop();
    free(S.queue);
    free(S.working);
    S.queue = S.working = NULL;
    return S.rc;
}

void sweep_dist_release(void) {
    if (!dist_world_active() || dist_world_rank() != 0) return;
    if (S.released) return;
    if (S.rc) {   /* workers may be training: the store cannot record them, end the job */
        fprintf(stderr, "meki sweep: rank 0 stops the job: %s\n", error_message());
        dist_abort(1);
    }
    Job job = {.index = -1};
    for (int w = K; w < dist_world_size(); w += K) dist_send(w, TAG_JOB, &job, sizeof job.index);
    group_stop();
    S.released = 1;
}

/* ---------- workers ---------- */

static int send_result(int index, const RunReport *report, const StepRecord *curve, long n_curve) {
    ResultHeader h;
    memset(&h, 0, sizeof h);
    h.index = index;
    h.outcome = (int)report->outcome;
    h.n_metrics = report->metrics.count;
    h.n_curve = n_curve;
    h.seconds = report->seconds;
    snprintf(h.error, sizeof h.error, "%s", report->error);
    size_t bytes = sizeof h + (size_t)h.n_metrics * sizeof(Metric) + (size_t)n_curve * sizeof(StepRecord);
    char *buf = malloc(bytes);
    if (!buf) return error_set(ERR_FAILURE, "out of memory for a result");
    memcpy(buf, &h, sizeof h);
    if (h.n_metrics) memcpy(buf + sizeof h, report->metrics.items, (size_t)h.n_metrics * sizeof(Metric));
    if (n_curve) memcpy(buf + sizeof h + (size_t)h.n_metrics * sizeof(Metric), curve, (size_t)n_curve * sizeof(StepRecord));
    int rc = dist_send(0, TAG_RESULT, buf, (long)bytes);
    free(buf);
    return rc;
}

int sweep_dist_worker(const SweepContext *ctx, const ExperimentConfig *exp) {
    SweepContext mine = *ctx;   /* a group's first rank: the rest of the group trains with it */
    mine.before_training = sweep_dist_group_train;
    for (;;) {
        Job job;
        int rc = receive_struct(TAG_JOB, &job, sizeof job);
        if (rc) return rc;
        if (job.index < 0) {
            group_stop();
            return OK;
        }
        if (job.index >= exp->n_runs) return error_set(ERR_FAILURE, "rank 0 sent run %d of %d", job.index, exp->n_runs);
        RunReport report;
        StepRecord *curve;
        long n_curve;
        run_execute(&mine, &exp->runs[job.index], job.data_dir, &report, &curve, &n_curve);
        rc = send_result(job.index, &report, curve, n_curve);
        free(curve);
        run_report_free(&report);
        if (rc) return rc;
    }
}
