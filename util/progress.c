#include "util/progress.h"
#include "util/timer.h"
#include <stdio.h>
#include <unistd.h>

void progress_begin(Progress *p, const char *label, double total) {
    p->label = label;
    p->total = total;
    p->start_time = now_seconds();
    p->last_print = 0;
    p->on_terminal = isatty(fileno(stderr));
    p->interval = p->on_terminal ? 0.2 : 10.0;
    p->quiet = 0;
    p->printed = 0;
    p->base = 0;
}

void progress_begin_after(Progress *p, const char *label, double total, double quiet_seconds) {
    progress_begin(p, label, total);
    p->quiet = quiet_seconds;
}

void progress_begin_from(Progress *p, const char *label, double total, double done) {
    progress_begin(p, label, total);
    p->base = done;
}

double progress_eta(double elapsed, double done, double total) {
    return done > 0 ? elapsed * (total - done) / done : -1;
}

double progress_eta_at(const Progress *p, double done, double elapsed) {
    return progress_eta(elapsed, done - p->base, p->total - p->base);
}

static void format_duration(char *out, size_t n, double s) {
    if (s < 0 || s > 1e7) { snprintf(out, n, "--"); return; }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%dh%02dm", t / 3600, t / 60 % 60);
    else snprintf(out, n, "%dm%02ds", t / 60, t % 60);
}

void progress_update(Progress *p, double done, const char *detail) {
    double now = now_seconds();
    if (now - p->last_print < p->interval && done < p->total) return;
    double elapsed = now - p->start_time;
    if (elapsed < p->quiet) return;
    p->last_print = now;
    p->printed = 1;
    double eta = progress_eta_at(p, done, elapsed);
    char eta_text[32], elapsed_text[32];
    format_duration(eta_text, sizeof eta_text, eta);
    format_duration(elapsed_text, sizeof elapsed_text, elapsed);
    double pct = p->total > 0 ? 100.0 * done / p->total : 0;
    fprintf(stderr, "%s%s %5.1f%% %s | elapsed %s eta %s%s", p->on_terminal ? "\r" : "",
            p->label, pct, detail ? detail : "", elapsed_text, eta_text,
            p->on_terminal ? "\033[K" : "\n");
    fflush(stderr);
}

void progress_end(Progress *p) {
    if (p->on_terminal && p->printed) fprintf(stderr, "\n");
}
