/* The scaling-law section: any experiment whose runs of one memory kind span 3 or more
 * model sizes and 3 or more token budgets gets L(N, D) fitted per kind (analysis/scaling.c),
 * MeKi's (or any memory kind's) effective dense parameters, and both laws extrapolated to
 * the paper's model sizes, each with a bootstrap interval; plots of loss against compute
 * with each kind's compute-optimal frontier, the fit's residuals and the multiplier. */
#include "analysis/analysis.h"
#include "analysis/scaling.h"
#include "analysis/scaling_report.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The paper's models (docs/PAPER.md): RAM parameters, and 50,000 steps of 256 x 4096
 * tokens. Dense and MeKi have the same RAM parameters; MeKi adds ROM weights. */
const PaperModel SCALING_PAPER[] = {
    {"0.6B", 0.60e9, 50000.0 * 256 * 4096, 53.0, 55.5, "MeKi-0.6B (55.5) sits between dense 0.6B (53.0) and dense 1.7B (56.0)", 1.75 / 0.60},
    {"1.7B", 1.75e9, 50000.0 * 256 * 4096, 56.0, 59.7, "MeKi-1.7B (59.7) sits between dense 1.7B (56.0) and dense 4B (60.5)", 4.12 / 1.75},
};
const int SCALING_N_PAPER = (int)(sizeof SCALING_PAPER / sizeof SCALING_PAPER[0]);


static int gather(Report *r, const char *experiment, KindRuns *kinds, int *n_kinds) {
    TextList rows = {0};
    int rc = query_texts(r,
                         "SELECT f.memory_kind || ' ' || printf('%.17g', n.value) || ' ' || printf('%.17g', f.train_tokens) "
                         "|| ' ' || printf('%.17g', l.value) || ' ' || printf('%.17g', coalesce(w.value, 0)) "
                         "FROM run_figures f JOIN metrics n ON n.hash = f.hash AND n.name = 'ram_params' "
                         "JOIN metrics l ON l.hash = f.hash AND l.name = 'val_loss' "
                         "LEFT JOIN metrics w ON w.hash = f.hash AND w.name = 'rom_weights' "
                         "WHERE f.experiment = ?1 AND l.value IS NOT NULL AND f.train_tokens IS NOT NULL "
                         "ORDER BY f.memory_kind, n.value, f.train_tokens",
                         &experiment, 1, &rows);
    *n_kinds = 0;
    for (int i = 0; !rc && i < rows.count; i++) {
        char kind[32];
        double N, D, L, rom;
        if (sscanf(rows.items[i], "%31s %lf %lf %lf %lf", kind, &N, &D, &L, &rom) != 5) continue;
        KindRuns *k = NULL;
        for (int j = 0; j < *n_kinds && !k; j++)
            if (!strcmp(kinds[j].kind, kind)) k = &kinds[j];
        if (!k) {
            if (*n_kinds == MAX_KINDS) continue;
            k = &kinds[(*n_kinds)++];
            memset(k, 0, sizeof *k);
            snprintf(k->kind, sizeof k->kind, "%s", kind);
        }
        if (k->n == k->capacity) {
            int cap = k->capacity ? 2 * k->capacity : 32;
            ScalingPoint *p = realloc(k->points, sizeof *p * (size_t)cap);
            double *w = p ? realloc(k->rom, sizeof *w * (size_t)cap) : NULL;
            if (p) k->points = p;
            if (w) k->rom = w;
            if (!p || !w) { rc = error_set(ERR_FAILURE, "scaling section: out of memory"); break; }
            k->capacity = cap;
        }
        k->points[k->n] = (ScalingPoint){N, D, L};
        k->rom[k->n++] = rom;
    }
    text_list_free(&rows);
    return rc;
}

static void interval_of(const ScalingFit *f, double (*get)(const ScalingLaw *, void *), void *arg, double *lo,
                        double *hi) {
    double *v = malloc(sizeof(double) * (size_t)(f->n_boot ? f->n_boot : 1));
    if (!v) { *lo = *hi = NAN; return; }
    for (int b = 0; b < f->n_boot; b++) v[b] = get(&f->boot[b], arg);
    scaling_percentile_interval(v, f->n_boot, 0.95, lo, hi);
    free(v);
}

static double get_param(const ScalingLaw *l, void *arg) {
    const double v[5] = {l->E, l->A, l->alpha, l->B, l->beta};
    return v[*(int *)arg];
}

/* The effective-parameter multiplier of memory law m against dense law d at (N, D), and
 * the same over paired bootstrap resamples (dense's b-th with the memory kind's b-th; the
 * two resample independent runs, so pairing by index is an independent draw). */
static double multiplier(const ScalingLaw *d, const ScalingLaw *m, double N, double D) {
    return scaling_params_for_loss(d, scaling_predict(m, N, D), D) / N;
}

static void multiplier_interval(const ScalingFit *d, const ScalingFit *m, double N, double D, double *lo, double *hi) {
    int n = d->n_boot < m->n_boot ? d->n_boot : m->n_boot;
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!v) { *lo = *hi = NAN; return; }
    for (int b = 0; b < n; b++) v[b] = multiplier(&d->boot[b], &m->boot[b], N, D);
    scaling_percentile_interval(v, n, 0.95, lo, hi);   /* INFINITY sorts last: an open upper end */
    free(v);
}

static void gain_interval(const ScalingFit *d, const ScalingFit *m, double N, double D, double *lo, double *hi) {
    int n = d->n_boot < m->n_boot ? d->n_boot : m->n_boot;
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!v) { *lo = *hi = NAN; return; }
    for (int b = 0; b < n; b++) v[b] = scaling_predict(&d->boot[b], N, D) - scaling_predict(&m->boot[b], N, D);
    scaling_percentile_interval(v, n, 0.95, lo, hi);
    free(v);
}

static void fmt_mult(char *out, size_t size, double x) {
    if (isinf(x)) snprintf(out, size, "∞");
    else if (isnan(x)) snprintf(out, size, "–");
    else snprintf(out, size, fabs(x) < 100 ? "%.2f" : "%.3g", x);   /* 1.5e+05, not 150385.09 */
}

void scaling_fmt_range(char *out, size_t size, double v, double lo, double hi, int digits) {
    char a[32], b[32], c[32];
    if (digits < 0) {
        fmt_mult(a, sizeof a, v), fmt_mult(b, sizeof b, lo), fmt_mult(c, sizeof c, hi);
        snprintf(out, size, "%s [%s, %s]", a, b, c);
    } else snprintf(out, size, "%.*g [%.*g, %.*g]", digits, v, digits, lo, digits, hi);
}

static double predict_kind(const void *law, double N, double D) { return scaling_predict(law, N, D); }

static int write_fit_table(Report *r, KindRuns *kinds, int n_kinds) {
    fprintf(r->body, "L(N, D) = E + A / N^alpha + B / D^beta per memory kind, N = RAM parameters (a MeKi table "
                     "and projector are ROM once folded: their weights are shown beside), D = training tokens, "
                     "L = final validation loss (nats per token). Fitted as Hoffmann et al. (2022), approach 3: "
                     "Huber loss (delta 1e-3) of log-space residuals minimised by BFGS from a grid of 4^5 starting "
                     "points, run to a tight stop as Besiroglu et al. (2024) found necessary; 95%% intervals are "
                     "percentiles of %d refits on runs resampled with replacement.\n\n"
                     "| kind | runs | sizes (N) | budgets (D) | ROM weights | E | A | alpha | B | beta | log-residual RMS |\n"
                     "|---|---|---|---|---|---|---|---|---|---|---|\n", N_BOOT);
    for (int k = 0; k < n_kinds; k++) {
        KindRuns *kr = &kinds[k];
        if (!kr->fitted) {
            fprintf(r->body, "| %s | %d | %d | %d | – | not fitted: %s | | | | | |\n", kr->kind, kr->n,
                    kr->fit.distinct_N, kr->fit.distinct_D, kr->why);
            continue;
        }
        char cells[5][96], rom[32];
        for (int p = 0; p < 5; p++) {
            double lo, hi;
            interval_of(&kr->fit, get_param, &p, &lo, &hi);
            scaling_fmt_range(cells[p], sizeof cells[p], get_param(&kr->fit.law, &p), lo, hi, 4);
        }
        double rss = 0, rom_max = 0, *res = scaling_residuals(kr, predict_kind, &kr->fit.law);
        if (!res) return ERR_FAILURE;
        for (int i = 0; i < kr->n; i++) {
            rss += res[i] * res[i];
            if (kr->rom[i] > rom_max) rom_max = kr->rom[i];
        }
        free(res);
        format_count(rom, sizeof rom, rom_max);
        fprintf(r->body, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %.4f |\n", kr->kind, kr->n,
                kr->fit.distinct_N, kr->fit.distinct_D, rom_max > 0 ? rom : "0", cells[0], cells[1], cells[2],
                cells[3], cells[4], sqrt(rss / kr->n));
    }
    fprintf(r->body, "\n");
    return OK;
}


/* v to 2 significant digits when that is within 1% of it, else 3: a budget rounded up to
 * whole steps, 2.505 tokens per parameter, is 2.5, while 1.25 stays 1.25. */
static double nice_ratio(double v) {
    char t[32];
    snprintf(t, sizeof t, "%.2g", v);
    double two = strtod(t, NULL);
    if (fabs(two - v) <= 0.01 * v) return two;
    snprintf(t, sizeof t, "%.3g", v);
    return strtod(t, NULL);
}

/* Distinct values of the runs' N, D or D / N (nice_ratio), at most max, ascending. */
int scaling_distinct(double *out, int max, const ScalingPoint *p, int n, int of) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        double v = of == OF_N ? p[i].N : of == OF_D ? p[i].D : p[i].D / p[i].N;
        if (of == OF_RATIO) v = nice_ratio(v);
        int at = 0;
        while (at < k && out[at] < v) at++;
        if ((at < k && out[at] == v) || k == max) continue;
        memmove(out + at + 1, out + at, sizeof *out * (size_t)(k - at));
        out[at] = v;
        k++;
    }
    return k;
}

/* A gain interval (dense - the memory kind) read: the memory kind ahead, behind, or neither. */
const char *scaling_gain_reading(double lo, double hi) {
    return lo > 0 ? "ahead" : hi < 0 ? "behind" : "not resolved";
}

/* Multiplier at each fitted size, per budget: by tokens per parameter when the grid scales
 * its budgets with size (fewer distinct ratios than budgets), else by budget. Then the gain
 * at 20 tokens per parameter at each measured size, and where its interval first includes
 * zero from the smallest size up. */
int scaling_table_grid(const KindRuns *m, ScalingGrid *g) {
    double ratios[SCALING_MAX_COLS];
    g->nN = scaling_distinct(g->N, SCALING_MAX_COLS, m->points, m->n, OF_N);
    g->ncols = scaling_distinct(g->cols, SCALING_MAX_COLS, m->points, m->n, OF_D);
    int nR = scaling_distinct(ratios, SCALING_MAX_COLS, m->points, m->n, OF_RATIO);
    g->by_ratio = nR < g->ncols;
    if (g->by_ratio) {
        memcpy(g->cols, ratios, sizeof ratios);
        g->ncols = nR;
    }
    return g->ncols;
}

void scaling_table_head(Report *r, const ScalingGrid *g) {
    char t[32];
    fprintf(r->body, "| N \\ %s |", g->by_ratio ? "tokens per parameter" : "D");
    for (int j = 0; j < g->ncols; j++)
        if (g->by_ratio) fprintf(r->body, " %g |", g->cols[j]);
        else fprintf(r->body, " D %s |", format_count(t, sizeof t, g->cols[j]));
    fprintf(r->body, "\n|---|");
    for (int j = 0; j < g->ncols; j++) fprintf(r->body, "---|");
    fprintf(r->body, "\n");
}

double scaling_table_D(const ScalingGrid *g, int i, int j) {
    return g->by_ratio ? g->cols[j] * g->N[i] : g->cols[j];
}

double scaling_fade(double N0, void (*interval)(const void *, double, double *, double *), const void *ctx, double null,
                    int *step) {
    for (*step = 0; log10(N0) + 0.05 * *step <= 11.5; ++*step) {
        double N = N0 * pow(10, 0.05 * *step), lo, hi;
        interval(ctx, N, &lo, &hi);
        if (lo <= null && null <= hi) return N;
    }
    return NAN;
}

typedef struct { const KindRuns *dense, *m; } PerKind;
static void gain_at(const void *ctx, double N, double *lo, double *hi) {
    const PerKind *pk = ctx;
    gain_interval(&pk->dense->fit, &pk->m->fit, N, 20 * N, lo, hi);
}

static void write_effective(Report *r, const KindRuns *dense, const KindRuns *m) {
    ScalingGrid grid;
    scaling_table_grid(m, &grid);
    const double *Ns = grid.N;
    int nN = grid.nN;
    fprintf(r->body, "**%s's effective parameters.** At each of its sizes and budgets, the dense size that the "
                     "dense law says reaches %s's predicted loss at the same tokens, over %s's size (1: no gain; ∞: "
                     "below any dense size's loss at that budget; –: an interval end the dense law cannot "
                     "reach), with its 95%% bootstrap interval:\n\n",
            m->kind, m->kind, m->kind);
    scaling_table_head(r, &grid);
    char t[32];
    for (int i = 0; i < nN; i++) {
        fprintf(r->body, "| N %s |", format_count(t, sizeof t, Ns[i]));
        for (int j = 0; j < grid.ncols; j++) {
            double lo, hi, D = scaling_table_D(&grid, i, j);
            char cell[96];
            multiplier_interval(&dense->fit, &m->fit, Ns[i], D, &lo, &hi);
            scaling_fmt_range(cell, sizeof cell, multiplier(&dense->fit.law, &m->fit.law, Ns[i], D), lo, hi, -1);
            fprintf(r->body, " %s |", cell);
        }
        fprintf(r->body, "\n");
    }
    fprintf(r->body, "\nGain at 20 tokens per RAM parameter (dense − %s predicted loss, nats; %s ahead: the interval "
                     "above zero, behind: below it) at each measured size:", m->kind, m->kind);
    for (int i = 0; i < nN; i++) {
        double lo, hi, N = Ns[i];
        gain_interval(&dense->fit, &m->fit, N, 20 * N, &lo, &hi);
        fprintf(r->body, "%s N %s %+.4f [%+.4f, %+.4f] %s", i ? ";" : "", format_count(t, sizeof t, N),
                scaling_predict(&dense->fit.law, N, 20 * N) - scaling_predict(&m->fit.law, N, 20 * N), lo, hi,
                scaling_gain_reading(lo, hi));
    }
    int step;
    PerKind pk = {dense, m};
    double fade = scaling_fade(Ns[0], gain_at, &pk, 0, &step);
    if (isnan(fade)) fprintf(r->body, ". From the smallest measured size to 10^11.5 parameters the interval excludes zero.\n\n");
    else if (step == 0) fprintf(r->body, ". The interval includes zero already at the smallest measured size: there "
                                          "the two laws do not tell the variants apart.\n\n");
    else fprintf(r->body, ". From the smallest measured size up, the interval first includes zero at N ≈ %s%s.\n\n",
                 format_count(t, sizeof t, fade), fade > Ns[nN - 1] ? " (beyond the measured sizes: an extrapolation)" : "");
}

double *scaling_residuals(const KindRuns *kr, double (*predict)(const void *ctx, double N, double D), const void *ctx) {
    double *res = malloc(sizeof(double) * (size_t)(kr->n ? kr->n : 1));
    for (int i = 0; res && i < kr->n; i++)
        res[i] = log(kr->points[i].L / predict(ctx, kr->points[i].N, kr->points[i].D));
    return res;
}

static void write_prediction(Report *r, const KindRuns *dense, const KindRuns *m) {
    fprintf(r->body, "**Extrapolated to the paper's models** (50B tokens each: 50,000 steps of 256 x 4096). The "
                     "paper reports zero-shot accuracy, not loss, so the check is on the multiplier: MeKi's "
                     "accuracy sits between two dense sizes, which brackets its effective-parameter multiplier. "
                     "Loss and gain intervals are 95%% prediction intervals for one new run (each bootstrap law's "
                     "prediction times e^r, r drawn from the log residuals of the runs each resample left out: "
                     "the parameters' uncertainty and the runs' scatter about the law); the multiplier's is the bootstrap's "
                     "confidence interval. Neither holds the error of extrapolating a law fitted 2-4 orders of "
                     "magnitude below.\n\n"
                     "| paper model | dense loss | %s loss | gain | multiplier | paper's bracket | inside? |\n"
                     "|---|---|---|---|---|---|---|\n", m->kind);
    int nb = dense->fit.n_boot < m->fit.n_boot ? dense->fit.n_boot : m->fit.n_boot;
    double *pd = malloc(sizeof(double) * (size_t)(nb ? nb : 1)), *pm = malloc(sizeof(double) * (size_t)(nb ? nb : 1));
    for (int p = 0; pd && pm && p < SCALING_N_PAPER; p++) {
        const PaperModel *paper = &SCALING_PAPER[p];
        double dlo, dhi, mlo, mhi, glo, ghi, xlo, xhi;
        for (int b = 0; b < nb; b++)
            pd[b] = scaling_predict(&dense->fit.boot[b], paper->N, paper->D),
            pm[b] = scaling_predict(&m->fit.boot[b], paper->N, paper->D);
        const ScalingFit *fd = &dense->fit, *fm = &m->fit;
        scaling_prediction_interval(pd, fd->oob, fd->n_oob, NULL, NULL, 0, nb, &dlo, &dhi);
        scaling_prediction_interval(pm, fm->oob, fm->n_oob, NULL, NULL, 0, nb, &mlo, &mhi);
        scaling_prediction_interval(pd, fd->oob, fd->n_oob, pm, fm->oob, fm->n_oob, nb, &glo, &ghi);
        multiplier_interval(&dense->fit, &m->fit, paper->N, paper->D, &xlo, &xhi);
        double dl = scaling_predict(&dense->fit.law, paper->N, paper->D), ml = scaling_predict(&m->fit.law, paper->N, paper->D);
        char a[96], b[96], g[96], x[96];
        scaling_fmt_range(a, sizeof a, dl, dlo, dhi, 4), scaling_fmt_range(b, sizeof b, ml, mlo, mhi, 4);
        scaling_fmt_range(g, sizeof g, dl - ml, glo, ghi, 3);
        scaling_fmt_range(x, sizeof x, multiplier(&dense->fit.law, &m->fit.law, paper->N, paper->D), xlo, xhi, -1);
        /* overlap of [xlo, xhi] with the paper's (1, hi) */
        const char *inside = isnan(xlo) ? "–" : (xhi <= 1 || xlo >= paper->hi) ? "no" : "overlaps";
        fprintf(r->body, "| %s | %s | %s | %s | %s | 1 to %.2f: %s | %s |\n", paper->name, a, b, g, x, paper->hi,
                paper->bracket, inside);
    }
    fprintf(r->body, "\n");
    free(pd), free(pm);
}

/* Data for the plots: per kind, its runs (compute, loss, N, log residual) and its frontier. */
static int write_plots(Report *r, const char *experiment, KindRuns *kinds, int n_kinds, const KindRuns *dense) {
    char name[160], res[160], mult[160], safe[96];
    sanitize_name(safe, sizeof safe, experiment);
    snprintf(name, sizeof name, "scaling_%s", safe);
    snprintf(res, sizeof res, "scaling_residuals_%s", safe);
    snprintf(mult, sizeof mult, "scaling_multiplier_%s", safe);
    FILE *f = plot_data_open(r, name), *g = f ? plot_data_open(r, res) : NULL, *h = g ? plot_data_open(r, mult) : NULL;
    if (!h) {
        if (f) fclose(f);
        if (g) fclose(g);
        return ERR_FAILURE;
    }
    int blocks = 0, mblocks = 0, failed = 0;
    char labels[512] = "";
    for (int k = 0; k < n_kinds; k++) {
        KindRuns *kr = &kinds[k];
        if (!kr->fitted) continue;
        double cmin = INFINITY, cmax = 0;
        fprintf(f, "%s\"%s runs\"\n", blocks ? "\n\n" : "", kr->kind);
        fprintf(g, "%s\"%s\"\n", blocks ? "\n\n" : "", kr->kind);
        double *resid = scaling_residuals(kr, predict_kind, &kr->fit.law);
        if (!resid) {
            failed = 1;
            break;
        }
        for (int i = 0; i < kr->n; i++) {
            double C = 6 * kr->points[i].N * kr->points[i].D;
            cmin = fmin(cmin, C), cmax = fmax(cmax, C);
            fprintf(f, "%.6g %.6f\n", C, kr->points[i].L);
            fprintf(g, "%.6g %.6f\n", kr->points[i].N, resid[i]);
        }
        free(resid);
        /* the compute-optimal frontier min over N of L(N, C / 6N), a decade beyond the runs each way */
        fprintf(f, "\n\n\"%s frontier\"\n", kr->kind);
        for (double lc = log10(cmin) - 1; lc <= log10(cmax) + 1; lc += 0.05) {
            double C = pow(10, lc), best = INFINITY;
            for (double ln = 3; ln <= 12; ln += 0.01) {
                double N = pow(10, ln), D = C / (6 * N);
                if (D >= 1) best = fmin(best, scaling_predict(&kr->fit.law, N, D));
            }
            if (isfinite(best)) fprintf(f, "%.6g %.6f\n", C, best);
        }
        size_t used = strlen(labels);
        snprintf(labels + used, sizeof labels - used, "%s%s", used ? " " : "", kr->kind);
        blocks += 2;
        if (dense && kr != dense) {
            fprintf(h, "%s\"%s\"\n", mblocks ? "\n\n" : "", kr->kind);
            for (double ln = 4; ln <= 10; ln += 0.25) {
                double N = pow(10, ln), lo, hi, x = multiplier(&dense->fit.law, &kr->fit.law, N, 20 * N);
                multiplier_interval(&dense->fit, &kr->fit, N, 20 * N, &lo, &hi);
                if (isfinite(x)) fprintf(h, "%.6g %.6f %.6f %.6f\n", N, x, isfinite(lo) ? lo : x, isfinite(hi) ? hi : x);
            }
            mblocks++;
        }
    }
    for (int k = 0; !failed && dense && k < n_kinds; k++)
        if (&kinds[k] != dense) mblocks += scaling_shared_plot_block(h, &kinds[k], mblocks == 0);
    int rc = plot_data_close(r, f, name), rc2 = plot_data_close(r, g, res), rc3 = plot_data_close(r, h, mult);
    if (failed || rc || rc2 || rc3) return ERR_FAILURE;
    char extra[600], title[200];
    snprintf(extra, sizeof extra, "nblocks = %d; labels = '%s'", blocks / 2, labels);
    snprintf(title, sizeof title, "%s: validation loss against training compute (6 N D), fitted frontier per kind", experiment);
    if ((rc = plot_draw(r, "scaling.gp", name, title, extra))) return rc;
    snprintf(title, sizeof title, "%s: log residual of the fitted law per run", experiment);
    if ((rc = plot_draw(r, "scaling_residuals.gp", res, title, extra))) return rc;
    if (mblocks) {
        snprintf(extra, sizeof extra, "nblocks = %d", mblocks);
        snprintf(title, sizeof title, "%s: effective dense parameters / N at 20 tokens per parameter (95%% interval)",
                 experiment);
        rc = plot_draw(r, "scaling_multiplier.gp", mult, title, extra);
    }
    return rc;
}

int section_scaling(Report *r, const char *experiment, int always) {
    KindRuns kinds[MAX_KINDS];
    int n_kinds = 0, rc = gather(r, experiment, kinds, &n_kinds), any = 0;
    for (int k = 0; !rc && k < n_kinds; k++) {
        KindRuns *kr = &kinds[k];
        /* scaling_fit counts the sizes and budgets and refuses too few before any work */
        ScalingOptions o = {.grid = 4, .n_boot = N_BOOT, .seed = 1};
        if (scaling_fit(kr->points, kr->n, &o, &kr->fit) == OK) kr->fitted = any = 1;
        else if (kr->fit.distinct_N < 3 || kr->fit.distinct_D < 3)
            snprintf(kr->why, sizeof kr->why, "%d model size(s) and %d budget(s); a law needs 3 or more of each",
                     kr->fit.distinct_N, kr->fit.distinct_D);
        else snprintf(kr->why, sizeof kr->why, "%s", error_message());
    }
    if (!rc && (any || always)) {
        fprintf(r->body, "### Scaling law\n\n");
        if (!any) fprintf(r->body, "No memory kind of `%s` has runs at 3 or more model sizes and 3 or more token "
                                   "budgets, so no law is fitted.\n\n", experiment);
        rc = write_fit_table(r, kinds, n_kinds);
        KindRuns *dense = NULL;
        for (int k = 0; !rc && k < n_kinds; k++)
            if (kinds[k].fitted && !strcmp(kinds[k].kind, "none")) dense = &kinds[k];
        for (int k = 0; dense && k < n_kinds; k++) {
            KindRuns *kr = &kinds[k];
            if (kr == dense) continue;
            if (kr->fitted) {
                write_effective(r, dense, kr);
                write_prediction(r, dense, kr);
            }
            ScalingOptions o = {.grid = 4, .n_boot = N_BOOT, .seed = 1};
            if (scaling_fit_shared(dense->points, dense->n, kr->points, kr->n, &o, &kr->shared) == OK)
                kr->shared_fitted = 1;
            else snprintf(kr->shared_why, sizeof kr->shared_why, "%s", error_message());
            scaling_write_shared(r, dense, kr);
        }
        if (!rc && any) rc = write_plots(r, experiment, kinds, n_kinds, dense);
    }
    for (int k = 0; k < n_kinds; k++) {
        scaling_fit_free(&kinds[k].fit);
        scaling_shared_free(&kinds[k].shared);
        free(kinds[k].points), free(kinds[k].rom);
    }
    return rc;
}
