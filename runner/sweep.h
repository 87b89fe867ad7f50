/* The sweep driver (runner/sweep.c): every run of an experiment's grid (or of one shard of
 * it) goes through run_one (runner/run.h), here one after another or, under MPI, spread over
 * the ranks by runner/sweep_dist.c, which the caller passes in. */
#ifndef RUNNER_SWEEP_H
#define RUNNER_SWEEP_H
#include "runner/run.h"

typedef struct {
    int grid, selected, done, skipped, busy, failed, diverged;
    double seconds;
} SweepSummary;

/* Shard k of n takes the runs whose position in exp->runs is k modulo n. */
int sweep_selects(int position, int shard_index, int shard_count);
/* A run's relative cost for the sweep's ETA: its training tokens times an estimate of the
 * backbone's training FLOPs per token (the memory variants' extra work is left out). */
double sweep_run_work(const RunSettings *settings);
/* The part of it still to do for the run in run_dir: all of it, or what an interrupted
 * attempt with a checkpoint left (by the tokens its curve.log reached). */
double sweep_work_left(const RunSettings *settings, const char *run_dir);
/* Counts a run's outcome in the summary. */
void sweep_tally(SweepSummary *summary, RunOutcome outcome);
/* Runs the pending runs (pending[r] set; dirs[r] their prepared data), counting outcomes in
 * summary: sweep_dist_pending (runner/sweep_dist.h) under MPI. */
typedef int (*SweepPending)(const SweepContext *ctx, const ExperimentConfig *exp, const int *pending,
                            char (*dirs)[4096], int n_pending, SweepSummary *summary);
/* Prepares the data the pending runs need, then runs them with distribute, or (NULL) here
 * in order with a progress line. Returns OK when every selected run was handled (whatever
 * its outcome). */
int sweep_run(const SweepContext *ctx, const ExperimentConfig *exp, int shard_index, int shard_count,
              SweepPending distribute, SweepSummary *summary);
#endif
