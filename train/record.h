/* Run records: one JSON object that says what produced a model, built by
 * runner/record.c, stored in every checkpoint's metadata (key "meki.record"), written as
 * the run folder's config.json and carried into every bundle folded from it
 * (record.json). Its "identity" object is the run's identity (what decides its results);
 * "data" names the prepared folder and its tokenizer; the rest (operational settings,
 * revision, build flags) is there to read. This file reads records. */
#ifndef TRAIN_RECORD_H
#define TRAIN_RECORD_H
#include <stddef.h>

#define RECORD_META_KEY "meki.record"

/* The value at a dotted path ("data.dir", "identity.train.lr") as text (strings
 * unescaped, numbers as written); 0 when absent. */
int record_get(const char *record, const char *path, char *out, size_t size);
/* The settings whose value differs between two records' identities (and the tokenizer
 * hash), as "key old -> new" items joined by "; " in out; returns how many. */
int record_identity_diff(const char *old_record, const char *new_record, char *out, size_t size);
/* The prepared data folder for a model whose record is record (may be NULL: a model from
 * before records, then the default folder default_dir is used with a note on stderr).
 * given: the --data flag or NULL. Without it: the recorded folder, ERR_INPUT naming it and
 * its corpus when it is gone; with it, or when the recorded one was rebuilt since:
 * ERR_INPUT naming both tokenizer hashes when they differ. */
int record_data_dir(const char *record, const char *given, const char *default_dir, char *out, size_t size);
/* Writes record (plus a newline) to path atomically. */
int record_write(const char *path, const char *record);
#endif
