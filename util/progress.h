/* Progress for long work: a rewritten line on a terminal, plain periodic lines otherwise. */
#ifndef UTIL_PROGRESS_H
#define UTIL_PROGRESS_H

typedef struct {
    const char *label;
    double total, start_time, last_print;
    int on_terminal;
    double interval;   /* seconds between plain lines when not on a terminal */
} Progress;

void progress_begin(Progress *p, const char *label, double total);
/* done: work units finished; detail: extra text such as "loss 3.21 12k tok/s". */
void progress_update(Progress *p, double done, const char *detail);
void progress_end(Progress *p);
#endif
