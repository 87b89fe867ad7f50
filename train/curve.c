#include "train/curve.h"
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

void curve_record(CurveLog *c, const StepRecord *r) {
    curve_add(c, r);
    if (!c->file) return;
    fprintf(c->file, "%ld %ld %.17g %.17g %.17g %.17g\n", r->step, r->tokens, r->train_loss, r->val_loss, r->lr,
            r->tok_s);
    fflush(c->file);
}

void curve_on_train_step(void *user, const StepRecord *r) { curve_record(user, r); }

/* Loads the records of an interrupted attempt; a torn last line (kill -9) is ignored. */
void curve_open(CurveLog *c, const char *dir) {
    char path[4300], line[512];
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/curve.log", dir);
    FILE *old = fopen(path, "r");
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
    c->file = fopen(path, "w");
    for (long i = 0; c->file && i < c->count; i++) {
        const StepRecord *r = &c->items[i];
        fprintf(c->file, "%ld %ld %.17g %.17g %.17g %.17g\n", r->step, r->tokens, r->train_loss, r->val_loss,
                r->lr, r->tok_s);
    }
    if (c->file) fflush(c->file);
}

void curve_close(CurveLog *c) {
    if (c->file) fclose(c->file);
    free(c->items);
    memset(c, 0, sizeof *c);
}
