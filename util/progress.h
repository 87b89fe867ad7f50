/* Progress for long work: a rewritten line on a terminal, plain periodic lines otherwise. */
#ifndef UTIL_PROGRESS_H
#define UTIL_PROGRESS_H

typedef struct {
    const char *label;
    double total, start_time, last_print;
    int on_terminal;
    double interval;   /* seconds between plain lines when not on a terminal */
    double quiet;      /* no line before this many seconds (progress_begin_after) */
    int printed;
    double base;       /* units already done when timing began (a resumed run) */
} Progress;

void progress_begin(Progress *p, const char *label, double total);
/* The same, printing nothing until quiet_seconds have passed: short phases stay silent. */
void progress_begin_after(Progress *p, const char *label, double total, double quiet_seconds);
/* The same for work resumed with done units already finished: the rate, and so the ETA,
   counts only the units done since, not the ones a killed run did before. */
void progress_begin_from(Progress *p, const char *label, double total, double done);
/* Seconds left when done of total units took elapsed seconds, at that rate; -1 before any. */
double progress_eta(double elapsed, double done, double total);
/* Seconds left for p at done units after elapsed seconds: the rate since p began. */
double progress_eta_at(const Progress *p, double done, double elapsed);
/* done: work units finished; detail: extra text such as "loss 3.21 12k tok/s". */
void progress_update(Progress *p, double done, const char *detail);
void progress_end(Progress *p);
#endif
