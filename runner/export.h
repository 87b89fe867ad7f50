/* CSV exports of the results store for analysis tools (./meki db export). NULL figures are
 * empty fields. Each returns OK or ERR_FAILURE with the message set. */
#ifndef RUNNER_EXPORT_H
#define RUNNER_EXPORT_H
#include "runner/store.h"
#include <stdio.h>

/* One row per run: hash, experiment, variant, seed, status, error, git_revision, host,
 * threads, started_at, finished_at; then params.<key> for every leaf of the identity JSON
 * (runs.config_json, e.g. params.model.d_model, params.train.lr, params.corpus_hash),
 * sorted by key; then one column per metric name headed "name [unit]"; last config_json. */
int export_runs_csv(Store *store, FILE *out);
/* The learning curves: hash, experiment, variant, seed, status, step, tokens, train_loss,
 * val_loss, lr, tok_s; a run listed by two experiments appears under each. */
int export_curves_csv(Store *store, FILE *out);
#endif
