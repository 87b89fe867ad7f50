/* Re-parameterisation and deploy bundles. A bundle is a folder with weights.safetensors
 * (the RAM weights of the folded model and its config) and one ROM table file per dtype,
 * table.<dtype>.rom, holding every memory layer's folded table (formats/romtable.h). */
#ifndef DEPLOY_FOLD_H
#define DEPLOY_FOLD_H
#include "models/model.h"
#include "formats/romtable.h"

/* Creates folded (inference form) from trained: copies the RAM weights, computes the
 * folded tables in memory. ERR_INPUT for a model without foldable memory. */
int model_fold(const Model *trained, Model *folded);
/* Writes weights.safetensors and table.<dtype>.rom for each dtype in dtypes[n]. */
int bundle_write(const Model *folded, const char *dir, const TableDtype *dtypes, int n);
/* Loads a bundle: weights, and the table of that dtype mapped read-only. The header and
 * sizes are checked; the data's checksum is not (reading it would make every page of the
 * table resident, which is what a deploy must not pay): bundle_write verifies each table it
 * wrote, and bundle_verify (./meki verify) checks a bundle on demand. */
int bundle_load(Model *m, const char *dir, TableDtype dtype);
/* Reads the whole table of that dtype against its checksum (ERR_INPUT if corrupted). */
int bundle_verify(const char *dir, TableDtype dtype);
int bundle_table_path(char *out, int size, const char *dir, TableDtype dtype);
/* Bytes an f32 ROM table of the folded model's tables would hold, without the header page:
 * the reference for the size of the other dtypes. */
double bundle_f32_table_bytes(const Model *folded);
#endif
