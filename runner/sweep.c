/* The sweep: the pending runs of an experiment (or of one shard of it), their data prepared
 * once, run one after another here or spread over MPI ranks by the caller's distribute. */
#include "runner/sweep.h"
#include "train/checkpoint.h"
#include "data/dataset.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/timer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sweep_selects(int position, int shard_index, int shard_count) {
    return shard_count <= 1 || position % shard_count == shard_index;
}


/* ---------- the sweep ---------- */

static int same_data(const RunSettings *a, const RunSettings *b) {
    if (a->model.vocab_size != b->model.vocab_size || a->data.n_files != b->data.n_files ||
        strcmp(a->data.tokenizer, b->data.tokenizer) || strcmp(a->data.builtin, b->data.builtin))
        return 0;
    for (int i = 0; i < a->data.n_files; i++)
        if (strcmp(a->data.files[i], b->data.files[i])) return 0;
    return 1;
}

static int prepare_data(const RunSettings *s, char *dir, size_t size) {
    DataSummary summary;
    int rc = run_settings_prepare_data(s, &summary);
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

void sweep_tally(SweepSummary *summary, RunOutcome outcome) {
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
            sweep_tally(summary, report.outcome);
            report_run(&progress, k, work_done, run, &report);
        }
        run_report_free(&report);   /* and on a store failure stop rather than waste runs */
    }
    free(left);
    return rc;
}

int sweep_run(const SweepContext *ctx, const ExperimentConfig *exp, int shard_index, int shard_count,
              SweepPending distribute, SweepSummary *summary) {
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
        rc = (distribute ? distribute : run_pending)(ctx, exp, pending, dirs, n_pending, summary);
    free(pending);
    free(dirs);
    summary->seconds = now_seconds() - start;
    return rc;
}
