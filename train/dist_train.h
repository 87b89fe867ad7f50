/* Data-parallel training over the ranks of util/dist.h: each rank takes a contiguous
 * slice of the step's sequences, and one exchange per step sums the gradients (each
 * rank's scaled by its share of the global batch, so the sum is the global mean's).
 * Memory tables (MeKi/PLE/Engram tables, an untied embedding) send only the rows that
 * some rank touched. Without MPI every call is the one-process identity. */
#ifndef TRAIN_DIST_TRAIN_H
#define TRAIN_DIST_TRAIN_H
#include "train/checkpoint.h"
#include "models/model.h"

typedef struct {
    int rank, size, b0, b1, B;  /* this rank's sequences [b0, b1) of B */
    int dense;                  /* exchange whole tables (the reference path) */
    int *sparse;                /* per tensor: exchange touched rows only */
    float *stage;               /* packed gradients for the exchange */
    long stage_capacity;
    int32_t *ids;               /* scratch: touched row ids */
    long ids_capacity;
    long steps;                 /* exchanges done */
    double bytes_dense, bytes_sparse, seconds;  /* summed over steps: payload per rank */
} DistTrain;

/* Rank 0 has opened or created the model (rc its outcome); the others build the same
 * model and receive its weights, optimizer moments and state. Returns the common rc. */
int dist_train_open(DistTrain *d, Model *m, const ModelConfig *cfg, TrainState *state, int B, int dense,
                    int rc);
/* The global mean loss from this rank's mean over its slice. */
double dist_train_loss(const DistTrain *d, double local_loss);
/* Sums the ranks' gradients into every rank's m->params.grad. */
int dist_train_exchange(DistTrain *d, ParamSet *ps);
/* Rank 0's rc (after it alone wrote a file) on every rank. */
int dist_train_agree(int rc);
/* " | comm 1.2 MB/step (dense 3.4)" for the progress line, "" without MPI. */
const char *dist_train_progress(const DistTrain *d);
/* The exchange's figures for a training result (train/train.h): ranks (1 without MPI); per
 * step, when any was taken (else left as they are), seconds and bytes per rank. */
void dist_train_figures(const DistTrain *d, int *ranks, double *seconds, double *bytes_dense,
                        double *bytes_sparse);
void dist_train_close(DistTrain *d);
#endif
