/* Decode speed measured in fresh processes, one after another: `meki bench decode` run as a
 * child, its JSON line read back. One process's page placement moves a small model's
 * folded / dense ratio by about +-3% even over 8 placements (tiny, 10 calls, 0.966-1.033,
 * 2026-12-07), while its own rounds agree with each other: the process, not the round, is
 * the sample, and a figure that should not depend on it is a median over several. */
#ifndef BENCH_DECODE_PROCESSES_H
#define BENCH_DECODE_PROCESSES_H
#include "bench/decode_bench.h"

enum { DECODE_MAX_PROCESSES = 15 };

typedef struct {
    int processes;
    double over_dense[DECODE_MAX_PROCESSES];   /* each process's median of per-round ratios */
    /* medians over the processes */
    double median_over_dense, dense_tok_s, folded_tok_s, dense_cpu_tok_s, folded_cpu_tok_s;
} DecodeProcessFigures;

/* The executable a child runs (`EXE bench decode ...`): the running meki, set by main.
 * NULL (the default, as in a test binary) leaves decode_in_processes unavailable. */
void decode_processes_set_executable(const char *exe);
const char *decode_processes_executable(void);

/* Runs o (warm folded and dense only: no checkpoint, no cold variants; one thread) in
 * `processes` fresh processes. ERR_FAILURE, naming the executable, if one cannot be
 * started, fails, or prints no figures. */
int decode_in_processes(const DecodeBenchOptions *o, int processes, DecodeProcessFigures *out);
#endif
