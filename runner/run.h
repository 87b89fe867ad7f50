/* One run of a sweep (runner/run.c): its context, its outcome, and run_one, which trains it
 * into <runs_dir>/<hash>/ (resuming from that folder's checkpoint after an interruption),
 * measures it and records the outcome in the store in one transaction. */
#ifndef RUNNER_RUN_H
#define RUNNER_RUN_H
#include "runner/experiment.h"
#include "runner/store.h"

typedef struct {
    Store *store;
    char runs_dir[4096];        /* one folder per run hash */
    int threads;                /* given to training; <= 0: all cores */
    int recorded_threads;       /* the thread count actually used, for the runs table */
    int quiet;                  /* no progress output from the run itself */
    int retry_diverged;         /* run diverged runs again (they are final otherwise) */
    char git_revision[128], host[256], environment[17];
    /* what a trained run's experiment asks to measure (zero-shot, bundles, decode speed):
     * bench/measure.c's measure_run, set by the command, since the benchmarks sit above
     * the runner. Required. */
    int (*measure)(const RunSettings *s, const char *data_dir, const char *dir, int threads, MetricList *m);
    /* MPI's part, set by runner/sweep_dist.c on the contexts it runs with (NULL: nothing):
     * called between training steps (rank 0 answers the other ranks), and before a run
     * trains (the rest of this rank's group joins in). */
    void (*between_steps)(void);
    void (*before_training)(const char *hash, const char *data_dir);
} SweepContext;

/* Fills ctx for a store opened at db_path: runs go to dirname(db_path)/runs; records
 * this machine in the environment table. */
int sweep_context_init(SweepContext *ctx, Store *store, const char *db_path, int threads, int quiet);

/* The folder of the run folders of the database at db_path: dirname(db_path)/runs. */
void sweep_runs_dir(const char *db_path, char *out, size_t size);
/* 1 if a live process holds the lock of run hash's folder (a sweep trains it now), else 0:
 * a run marked running that nobody holds was left by an interrupted sweep (a kill, a lost
 * MPI rank) and is resumed by running the sweep again. */
int sweep_run_held(const char *runs_dir, const char *hash);

/* Whether a run with this stored status is finished: done, or diverged (training is
 * deterministic, so running it again would diverge again) unless retry_diverged. */
int sweep_finished(const SweepContext *ctx, const char *status);

typedef enum { OUTCOME_DONE, OUTCOME_SKIPPED, OUTCOME_BUSY, OUTCOME_FAILED, OUTCOME_DIVERGED } RunOutcome;

typedef struct {
    RunOutcome outcome;
    char error[512];            /* why it failed or diverged; why it was passed over */
    MetricList metrics;
    double seconds;
} RunReport;

const char *outcome_name(RunOutcome outcome);
void run_report_free(RunReport *report);

/* One run: skipped if finished; passed over (OUTCOME_BUSY) if another process holds its
 * folder's lock; else trained and recorded. A failed or diverged training is an outcome,
 * not an error: the return value is non-OK only when the store cannot record it. */
int run_one(const SweepContext *ctx, const ExperimentConfig *exp, const ResolvedRun *run,
            const char *data_dir, RunReport *report);

/* run_one without the store (an MPI worker's half): trains the run in its folder and
 * hands back the outcome, figures and curve (malloc'd) for rank 0 to record. */
int run_execute(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir, RunReport *report,
                StepRecord **curve, long *n_curve);
/* Trains run as one of the other ranks of a group (sweep --ranks-per-run): rank 0 of the
 * group trains the same run with the same arguments, writes the folder and records it. */
void run_follow(const SweepContext *ctx, const ResolvedRun *run, const char *data_dir);
#endif
