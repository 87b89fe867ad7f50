#include "train/record.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "util/error.h"
#include "util/fileio.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A walk over the JSON we write ourselves (objects of strings, numbers, true, false,
 * null; arrays are passed over whole): each scalar is handed to visit with its dotted
 * path. Returns 0 on a malformed text. */
typedef void (*Visit)(void *user, const char *path, const char *value);

typedef struct { const char *p; } Cursor;

static void skip_space(Cursor *c) { while (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r') c->p++; }

static int read_string(Cursor *c, char *out, size_t size) {
    size_t n = 0;
    if (*c->p != '"') return 0;
    c->p++;
    while (*c->p && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            ch = *c->p++;
            if (ch == 'n') ch = '\n';
            else if (ch == 't') ch = '\t';
            else if (ch == 'u') {   /* our writer escapes only control characters this way */
                unsigned v = 0;
                if (sscanf(c->p, "%4x", &v) != 1) return 0;
                c->p += 4;
                ch = (char)v;
            } else if (!ch) return 0;
        }
        if (n + 1 < size) out[n++] = ch;
    }
    if (*c->p != '"') return 0;
    c->p++;
    out[n] = 0;
    return 1;
}

static int walk_value(Cursor *c, const char *path, Visit visit, void *user);

static int walk_object(Cursor *c, const char *path, Visit visit, void *user) {
    c->p++;
    skip_space(c);
    while (*c->p && *c->p != '}') {
        char key[256], child[1024];
        if (!read_string(c, key, sizeof key)) return 0;
        skip_space(c);
        if (*c->p++ != ':') return 0;
        snprintf(child, sizeof child, "%s%s%s", path, *path ? "." : "", key);
        if (!walk_value(c, child, visit, user)) return 0;
        skip_space(c);
        if (*c->p == ',') c->p++, skip_space(c);
    }
    if (*c->p != '}') return 0;
    c->p++;
    return 1;
}

static int walk_value(Cursor *c, const char *path, Visit visit, void *user) {
    skip_space(c);
    if (*c->p == '{') return walk_object(c, path, visit, user);
    if (*c->p == '"') {
        char value[4096];
        if (!read_string(c, value, sizeof value)) return 0;
        visit(user, path, value);
        return 1;
    }
    if (*c->p == '[') {   /* not written by us: skipped whole */
        int depth = 0;
        do {
            if (*c->p == '[') depth++;
            else if (*c->p == ']') depth--;
            else if (!*c->p) return 0;
            c->p++;
        } while (depth);
        return 1;
    }
    const char *start = c->p;
    while (*c->p && !strchr(",}] \n\t\r", *c->p)) c->p++;
    if (c->p == start) return 0;
    char value[128];
    snprintf(value, sizeof value, "%.*s", (int)(c->p - start), start);
    visit(user, path, value);
    return 1;
}

static int walk(const char *text, Visit visit, void *user) {
    Cursor c = {text};
    skip_space(&c);
    return *c.p == '{' && walk_value(&c, "", visit, user);
}

typedef struct { const char *path; char *out; size_t size; int found; } Lookup;

static void visit_lookup(void *user, const char *path, const char *value) {
    Lookup *l = user;
    if (!l->found && !strcmp(path, l->path)) snprintf(l->out, l->size, "%s", value), l->found = 1;
}

int record_get(const char *record, const char *path, char *out, size_t size) {
    Lookup l = {path, out, size, 0};
    if (size) out[0] = 0;
    if (!record || !walk(record, visit_lookup, &l)) return 0;
    return l.found;
}

/* The identity's scalars and the tokenizer hash: what two runs must share to be one. */
static int compared(const char *path) {
    return !strncmp(path, "identity.", 9) || !strcmp(path, "data.tokenizer_hash");
}

typedef struct {
    const char *other;          /* the other record */
    char *out;
    size_t size, used;
    int count, old_side;        /* old_side: this walk is over the old record */
} Diff;

static void add_difference(Diff *d, const char *key, const char *old_value, const char *new_value) {
    const char *shown = !strncmp(key, "identity.", 9) ? key + 9 : key;
    if (d->used < d->size)
        d->used += (size_t)snprintf(d->out + d->used, d->size - d->used, "%s%s %s -> %s", d->count ? "; " : "",
                                    shown, old_value, new_value);
    d->count++;
}

static void visit_diff(void *user, const char *path, const char *value) {
    Diff *d = user;
    char other[4096];
    if (!compared(path)) return;
    int present = record_get(d->other, path, other, sizeof other);
    if (d->old_side) {
        if (!present) add_difference(d, path, value, "(absent)");
        else if (strcmp(value, other)) add_difference(d, path, value, other);
    } else if (!present) {
        add_difference(d, path, "(absent)", value);
    }
}

int record_identity_diff(const char *old_record, const char *new_record, char *out, size_t size) {
    Diff d = {new_record, out, size, 0, 0, 1};
    if (size) out[0] = 0;
    if (!walk(old_record, visit_diff, &d)) add_difference(&d, "record", "(unreadable)", "(new)");
    d.other = old_record;
    d.old_side = 0;
    walk(new_record, visit_diff, &d);
    return d.count;
}

int record_data_dir(const char *record, const char *given, const char *default_dir, char *out, size_t size) {
    char recorded_dir[4096], recorded_tok[64], corpus[256], summary[4200], actual[17];
    if (!record || !record_get(record, "data.dir", recorded_dir, sizeof recorded_dir)) {
        if (!given)
            fprintf(stderr, "note: the model carries no run record (made before records); using %s\n", default_dir);
        snprintf(out, size, "%s", given ? given : default_dir);
        return OK;
    }
    record_get(record, "data.tokenizer_hash", recorded_tok, sizeof recorded_tok);
    record_get(record, "data.corpus", corpus, sizeof corpus);
    const char *dir = given ? given : recorded_dir;
    snprintf(summary, sizeof summary, "%s/summary.txt", dir);
    if (!given && !file_exists(summary))
        return error_set(ERR_INPUT, "the data folder the model was trained on, %s (corpus %s), is gone: "
                         "prepare it again with ./meki data, or give --data", recorded_dir, corpus);
    int rc = dataset_tokenizer_id(dir, actual);
    if (rc) return rc;
    /* a model trained on token shards has no tokenizer to compare: a folder given with one
     * is taken on the user's word (decode and export still check its vocabulary size) */
    int shards_model = !strcmp(recorded_tok, "none") && given && strcmp(actual, "none");
    if (recorded_tok[0] && strcmp(actual, recorded_tok) && !shards_model)
        return error_set(ERR_INPUT, "%s has tokenizer %s but the model was trained with tokenizer %s "
                         "(%s, corpus %s): wrong data", dir, actual, recorded_tok, recorded_dir, corpus);
    snprintf(out, size, "%s", dir);
    return OK;
}

int record_write(const char *path, const char *record) {
    AtomicFile af;
    if (atomic_open(&af, path)) return ERR_FAILURE;
    if (atomic_write(&af, record, strlen(record)) || atomic_write(&af, "\n", 1)) {
        atomic_abort(&af);
        return ERR_FAILURE;
    }
    return atomic_commit(&af);
}
