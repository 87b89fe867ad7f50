/* The measurements a trained run's experiment asks for, after training: zero-shot tasks
 * and the logit lens on the checkpoint; for foldable memory, the deploy bundle for every
 * table dtype and its perplexity; the decode benchmark against the dense twin. */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H
#include "runner/experiment.h"
#include "runner/store.h"

/* dir holds the run's checkpoint; the bundle goes to dir/bundle. Adds metrics to m. */
int measure_run(const RunSettings *s, const char *data_dir, const char *dir, int threads, MetricList *m);
#endif
