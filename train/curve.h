/* The learning curve of one run, DIR/curve.log: one line per step record, appended as the
 * run goes, so that a run resumed from its checkpoint keeps the points before it. Written
 * by sweeps (each run's folder) and by ./meki train (--out). */
#ifndef TRAIN_CURVE_H
#define TRAIN_CURVE_H
#include "train/train.h"
#include <stdio.h>

typedef struct {
    StepRecord *items;
    long count, capacity;
    FILE *file;                 /* <run>/curve.log, one line per step record, appended */
    char path[4300];
} CurveLog;

/* Loads the records of an interrupted attempt from dir/curve.log (a torn last line is
 * dropped) and opens it for appending; without a writable file the curve is kept in memory. */
void curve_open(CurveLog *c, const char *dir);
/* Adds r and appends it; a step already recorded (a resumed run repeats the steps after its
 * checkpoint) replaces the records from it on, and the file is rewritten whole. */
void curve_record(CurveLog *c, const StepRecord *r);
/* A StepCallback (train/train.h) with user = the CurveLog. */
void curve_on_train_step(void *user, const StepRecord *r);
void curve_close(CurveLog *c);
#endif
