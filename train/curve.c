#include "train/curve.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdlib.h>
#include <string.h>

/* A run resumed from a checkpoint repeats the steps after it: a record for step s replaces
 * every record from s on. */
static void curve_add(CurveLog *c, const StepRecord *r) {
    while (c->count > 0 && c->items[c->count - 1].step >= r->step) c->count--;
    if (c->count == c->capacity) {
        long capacity = c->capacity ? c->capacity * 2 : 256;
        StepRecord *items = realloc(c->items, (size_t)capacity * sizeof *items);
        if (!items) return;   /* out of memory: the curve loses a point, the run goes on */
        c->items = items;
        c->capacity = capacity;
    }
    c->items[c->count++] = *r;
}

static void curve_line(FILE *f, const StepRecord *r) {
    fprintf(f, "%ld %ld %.17g %.17g %.17g %.17g\n", r->step, r->tokens, r->train_loss, r->val_loss, r->lr, r->tok_s);
}

/* Writes the records whole (atomically: a kill leaves the old file) and reopens it for
 * appending; without a file (no folder, a full disk) the curve lives on in memory. */
static void curve_rewrite(CurveLog *c) {
    if (c->file) fclose(c->file);
    c->file = NULL;
    AtomicFile af;
    if (atomic_open(&af, c->path)) { error_clear(); return; }
    for (long i = 0; i < c->count; i++) curve_line(af.file, &c->items[i]);
    if (atomic_commit(&af)) { error_clear(); return; }
    c->file = fopen(c->path, "a");
}

void curve_record(CurveLog *c, const StepRecord *r) {
    long before = c->count;
    curve_add(c, r);
    if (c->count <= before) {   /* a resumed run repeats steps: appending would list them twice */
        curve_rewrite(c);
        return;
    }
    if (!c->file) return;
    curve_line(c->file, r);
    fflush(c->file);
}

void curve_on_train_step(void *user, const StepRecord *r) { curve_record(user, r); }

/* Loads the records of an interrupted attempt; a torn last line (kill -9) is ignored. */
void curve_open(CurveLog *c, const char *dir) {
    char line[512];
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s/curve.log", dir);
    FILE *old = fopen(c->path, "r");
    while (old && fgets(line, sizeof line, old)) {
        StepRecord r;
        if (!strchr(line, '\n') ||
            sscanf(line, "%ld %ld %lf %lf %lf %lf", &r.step, &r.tokens, &r.train_loss, &r.val_loss, &r.lr,
                   &r.tok_s) != 6)
            break;
        curve_add(c, &r);
    }
    if (old) fclose(old);
    /* rewrite it whole: drops a torn line, so later appends start on a line boundary */
    curve_rewrite(c);
}

void curve_close(CurveLog *c) {
    if (c->file) fclose(c->file);
    free(c->items);
    memset(c, 0, sizeof *c);
}
