/* A sweep over the ranks of an MPI job (mpirun -np N ./meki sweep FILE.ini). Rank 0
 * alone opens the database; it hands pending runs out one at a time (longest first),
 * trains runs itself between servicing the others, and records what workers send back
 * through the store exactly as a local run would be recorded. Workers train in
 * <db folder>/runs/<hash>/ (a shared file system) and send the outcome, figures and
 * curve. A run is recorded once, by rank 0, in one transaction: a job that dies leaves
 * its unfinished runs "running", and the next sweep resumes them from their checkpoints. */
#ifndef RUNNER_SWEEP_DIST_H
#define RUNNER_SWEEP_DIST_H
#include "runner/sweep.h"

/* Rank 0: runs the pending runs (pending[r] set; dirs[r] their data) over every rank. */
int sweep_dist_pending(const SweepContext *ctx, const ExperimentConfig *exp, const int *pending,
                       char (*dirs)[4096], int n_pending, SweepSummary *summary);
/* Other ranks: train what rank 0 sends until it says stop. ctx has no store. */
int sweep_dist_worker(const SweepContext *ctx, const ExperimentConfig *exp);
/* Rank 0: answers waiting workers (called between training steps). No-op otherwise. */
void sweep_dist_service(void);
/* --ranks-per-run k: groups of k ranks each train one run at a time (every rank, before
 * the sweep; ERR_INPUT when k does not divide the job's ranks). */
int sweep_dist_groups(int k);
/* This rank's part: 0 rank 0 (the database), 1 a group's first rank (takes runs from rank
 * 0, as sweep_dist_worker), 2 another rank of a group (sweep_dist_member). */
int sweep_dist_role(void);
/* A group's first rank, before it trains a run: the others train it with it. */
void sweep_dist_group_train(const char *hash, const char *data_dir);
/* The other ranks of a group: train what the group's first rank trains until it stops. */
int sweep_dist_member(const SweepContext *ctx, const ExperimentConfig *exp);
/* Every rank, after the sweep: tells workers to stop if rank 0 failed before handing out. */
void sweep_dist_release(void);
#endif
