/* The scaling section's paragraph on one law for dense and a memory kind (the fit in
 * analysis/scaling_shared.c): its parameters, the memory kind's multiplier at each measured
 * size and where it stops being told from 1, and the multiplier at the paper's models. */
#include "analysis/scaling_report.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { S_E, S_A, S_ALPHA, S_B, S_BETA, S_M, S_GAMMA, S_KAPPA, S_MULT, S_GAIN, S_SLOPE };

/* Value `what` of law l; at[0], at[1] are (N, D) for the multiplier and the gain. */
static double get(const SharedLaw *l, int what, const double *at) {
    switch (what) {
    case S_E: return l->law.E;
    case S_A: return l->law.A;
    case S_ALPHA: return l->law.alpha;
    case S_B: return l->law.B;
    case S_BETA: return l->law.beta;
    case S_M: return exp(l->mu);
    case S_GAMMA: return l->gamma;
    case S_KAPPA: return l->kappa;
    case S_MULT: return scaling_shared_multiplier(l, at[0], at[1]);
    case S_GAIN: return scaling_shared_predict(l, at[0], at[1], 0) - scaling_shared_predict(l, at[0], at[1], 1);
    case S_SLOPE: return l->gamma + l->kappa;
    }
    return NAN;
}

/* The point value of `what`, and its 95% bootstrap interval in lo, hi. */
static double value(const SharedFit *f, int what, double N, double D, double *lo, double *hi) {
    const double at[2] = {N, D};
    double *v = malloc(sizeof(double) * (size_t)(f->n_boot ? f->n_boot : 1));
    *lo = *hi = NAN;
    if (v) {
        for (int b = 0; b < f->n_boot; b++) v[b] = get(&f->boot[b], what, at);
        scaling_percentile_interval(v, f->n_boot, 0.95, lo, hi);
        free(v);
    }
    return get(&f->law, what, at);
}

static void mult_at(const void *fit, double N, double *lo, double *hi) {
    value(fit, S_MULT, N, 20 * N, lo, hi);
}

static double predict_dense(const void *law, double N, double D) { return scaling_shared_predict(law, N, D, 0); }
static double predict_memory(const void *law, double N, double D) { return scaling_shared_predict(law, N, D, 1); }

static double rms_residual(const SharedLaw *l, const KindRuns *dense, const KindRuns *m) {
    double *rd = scaling_residuals(dense, predict_dense, l), *rm = scaling_residuals(m, predict_memory, l), sum = 0;
    for (int i = 0; rd && rm && i < dense->n + m->n; i++) {
        double e = i < dense->n ? rd[i] : rm[i - dense->n];
        sum += e * e;
    }
    int ok = rd && rm;
    free(rd), free(rm);
    return ok ? sqrt(sum / (dense->n + m->n)) : NAN;
}

void scaling_write_shared(Report *r, const KindRuns *dense, const KindRuns *m) {
    const char *k = m->kind;
    if (!m->shared_fitted) {
        fprintf(r->body, "**One law for dense and %s:** not fitted: %s.\n\n", k, m->shared_why);
        return;
    }
    const SharedFit *f = &m->shared;
    char t[32], u[32], cells[8][96];
    fprintf(r->body, "**One law for dense and %s.** Per-kind laws give each kind its own data term, so far from "
                     "the runs their multiplier reads the difference of two data terms (∞ where %s's is the "
                     "lower). Here dense and %s share E, A, alpha, B and beta, and %s's N counts m times over, "
                     "log m = mu + gamma (log N − log N_c) + kappa (log D − log D_c), centred on %s's runs (N_c "
                     "%s, D_c %s): m is its effective-parameter multiplier, gamma and kappa how it moves with "
                     "size and with tokens. Same fit and bootstrap as above (runs resampled within each kind; "
                     "starts from the pooled law's best minima at m = 1/e, 1 and e).\n\n"
                     "| law | runs | E | A | alpha | B | beta | m at the centre | gamma | kappa | log-residual RMS |\n"
                     "|---|---|---|---|---|---|---|---|---|---|---|\n",
            k, k, k, k, k, format_count(t, sizeof t, exp(f->law.cN)), format_count(u, sizeof u, exp(f->law.cD)));
    for (int p = S_E; p <= S_KAPPA; p++) {
        double lo, hi, v = value(f, p, 0, 0, &lo, &hi);
        scaling_fmt_range(cells[p], sizeof cells[p], v, lo, hi, 4);
    }
    fprintf(r->body, "| dense and %s | %d + %d | %s | %s | %s | %s | %s | %s | %s | %s | %.4f |\n\n", k, dense->n, m->n,
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], rms_residual(&f->law, dense, m));

    ScalingGrid grid;
    scaling_table_grid(m, &grid);
    const double *Ns = grid.N;
    int nN = grid.nN;
    double lo, hi;
    /* the per-kind effective parameters' grid, read through this law */
    fprintf(r->body, "%s's multiplier m under this law at each of its sizes and budgets:\n\n", k);
    scaling_table_head(r, &grid);
    for (int i = 0; i < nN; i++) {
        fprintf(r->body, "| N %s |", format_count(t, sizeof t, Ns[i]));
        for (int j = 0; j < grid.ncols; j++) {
            char cell[96];
            double x = value(f, S_MULT, Ns[i], scaling_table_D(&grid, i, j), &lo, &hi);
            scaling_fmt_range(cell, sizeof cell, x, lo, hi, -1);
            fprintf(r->body, " %s |", cell);
        }
        fprintf(r->body, "\n");
    }
    fprintf(r->body, "\nAt 20 tokens per RAM parameter (ahead: the interval above 1, behind: below it):");
    for (int i = 0; i < nN; i++) {
        double x = value(f, S_MULT, Ns[i], 20 * Ns[i], &lo, &hi);
        char cell[96];
        scaling_fmt_range(cell, sizeof cell, x, lo, hi, -1);
        fprintf(r->body, "%s N %s %s %s", i ? ";" : "", format_count(t, sizeof t, Ns[i]), cell,
                scaling_gain_reading(lo - 1, hi - 1));
    }
    double slope = value(f, S_SLOPE, 0, 0, &lo, &hi);
    fprintf(r->body, ". Along D = 20 N, m grows as N^%.3f [%.3f, %.3f] (gamma + kappa)", slope, lo, hi);
    int step;
    double fade = scaling_fade(Ns[0], mult_at, f, 1, &step);
    if (isnan(fade)) fprintf(r->body, "; from the smallest measured size to 10^11.5 parameters its interval excludes 1.\n\n");
    else if (step == 0) fprintf(r->body, "; at the smallest measured size its interval already includes 1.\n\n");
    else fprintf(r->body, "; from the smallest measured size up, its interval first includes 1 at N ≈ %s%s.\n\n",
                 format_count(t, sizeof t, fade), fade > Ns[nN - 1] ? " (beyond the measured sizes: an extrapolation)" : "");

    fprintf(r->body, "At the paper's models under this law (the multiplier's interval is the bootstrap's confidence "
                     "interval; the gain's a 95%% prediction interval for one new pair of runs, as above):\n\n"
                     "| paper model | %s's multiplier | gain (nats) | paper's bracket | inside? |\n|---|---|---|---|---|\n", k);
    double *pd = malloc(sizeof(double) * (size_t)(f->n_boot ? f->n_boot : 1)), *pm = malloc(sizeof(double) * (size_t)(f->n_boot ? f->n_boot : 1));
    for (int p = 0; pd && pm && p < SCALING_N_PAPER; p++) {
        const PaperModel *paper = &SCALING_PAPER[p];
        double xlo, xhi, glo, ghi;
        double x = value(f, S_MULT, paper->N, paper->D, &xlo, &xhi), g = get(&f->law, S_GAIN, (double[]){paper->N, paper->D});
        for (int b = 0; b < f->n_boot; b++)
            pd[b] = predict_dense(&f->boot[b], paper->N, paper->D), pm[b] = predict_memory(&f->boot[b], paper->N, paper->D);
        scaling_prediction_interval(pd, f->oob[0], f->n_oob[0], pm, f->oob[1], f->n_oob[1], f->n_boot, &glo, &ghi);
        char xs[96], gs[96];
        scaling_fmt_range(xs, sizeof xs, x, xlo, xhi, -1);
        scaling_fmt_range(gs, sizeof gs, g, glo, ghi, 3);
        const char *inside = isnan(xlo) ? "–" : (xhi <= 1 || xlo >= paper->hi) ? "no" : "overlaps";
        fprintf(r->body, "| %s | %s | %s | 1 to %.2f: %s | %s |\n", paper->name, xs, gs, paper->hi, paper->bracket, inside);
    }
    fprintf(r->body, "\n");
    free(pd), free(pm);
}

int scaling_shared_plot_block(FILE *h, const KindRuns *m, int first) {
    if (!m->shared_fitted) return 0;
    fprintf(h, "%s\"%s (one law)\"\n", first ? "" : "\n\n", m->kind);
    for (double ln = 4; ln <= 10; ln += 0.25) {
        double N = pow(10, ln), lo, hi, x = value(&m->shared, S_MULT, N, 20 * N, &lo, &hi);
        if (isfinite(x)) fprintf(h, "%.6g %.6f %.6f %.6f\n", N, x, isfinite(lo) ? lo : x, isfinite(hi) ? hi : x);
    }
    return 1;
}
