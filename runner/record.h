/* Building run records (train/record.h): the one place that says what a record holds. */
#ifndef RUNNER_RECORD_H
#define RUNNER_RECORD_H
#include "runner/experiment.h"

/* The record of a run of settings s trained on the prepared folder data_dir with the
 * given thread count (<= 0: all cores); malloc'd. hash (17 bytes, may be NULL) gets the
 * run's identity hash: config_hash of run_settings_json(s), as the sweep's. ERR_INPUT
 * (NULL returned) when data_dir is not a prepared folder. */
char *run_record_json(const RunSettings *s, const char *data_dir, int threads, char *hash);
/* For a run not from an experiment file (./meki train --data DIR): the corpus of s is the
 * one DIR was prepared from, identified by the fingerprint ./meki data computed over
 * every byte of it (summary.txt). */
int run_settings_set_data_dir(RunSettings *s, const char *data_dir);
#endif
