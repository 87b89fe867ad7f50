/* Statistics over seeds, the log-linear fit of Fig. 6, and the comparison behind every
 * verdict in the report. */
#include "analysis/analysis.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

Stat stat_of(const double *x, int n) {
    Stat s = {n, NAN, NAN};
    if (n == 0) return s;
    double sum = 0, squares = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    s.mean = sum / n;
    /* Deviations from the mean (two passes), as the views do: stable for losses near 4. */
    for (int i = 0; i < n; i++) squares += (x[i] - s.mean) * (x[i] - s.mean);
    if (n > 1) s.std = sqrt(squares / (n - 1));
    return s;
}

/* Least squares by GSL (gsl_fit_linear); the slope's standard error from its covariance. */
LineFit fit_line(const double *x, const double *y, int n) {
    LineFit f = {n, NAN, NAN, NAN, NAN, NAN};
    if (n < 2) return f;
    double mx = 0, sxx = 0, my = 0, syy = 0;
    for (int i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n, my /= n;
    for (int i = 0; i < n; i++) sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
    if (!(sxx > 0)) return f;
    double cov00, cov01, cov11, sse;
    gsl_fit_linear(x, 1, y, 1, (size_t)n, &f.intercept, &f.slope, &cov00, &cov01, &cov11, &sse);
    f.r2 = syy > 0 ? 1 - sse / syy : 1.0;
    if (n > 2) f.residual_std = sqrt(sse / (n - 2)), f.slope_se = sqrt(cov11);
    return f;
}

/* Pure error from the points that share an x (seeds of one width); what the line leaves
 * beyond it is lack of fit, F-tested on (groups - 2, n - groups) degrees of freedom. */
LackOfFit lack_of_fit(const double *x, const double *y, int n, LineFit fit) {
    LackOfFit l = {0, 0, NAN, NAN};
    if (!isfinite(fit.slope)) return l;
    double sse = 0, pure = 0;
    int groups = 0;
    for (int i = 0; i < n; i++) {
        double e = y[i] - fit.intercept - fit.slope * x[i];
        sse += e * e;
        int first = 1;
        for (int j = 0; j < i && first; j++) first = x[j] != x[i];
        if (!first) continue;
        groups++;
        double sum = 0;
        int count = 0;
        for (int j = i; j < n; j++)
            if (x[j] == x[i]) sum += y[j], count++;
        for (int j = i; j < n; j++)
            if (x[j] == x[i]) pure += (y[j] - sum / count) * (y[j] - sum / count);
    }
    l.df_lack = groups - 2, l.df_pure = n - groups;
    if (l.df_lack < 1 || l.df_pure < 1 || !(pure > 0)) return l;
    l.f = ((sse - pure) / l.df_lack) / (pure / l.df_pure);
    l.p = gsl_cdf_fdist_Q(fmax(l.f, 0), l.df_lack, l.df_pure);
    return l;
}

char *format_stat(char *out, size_t size, Stat s, int digits, double scale) {
    if (s.n == 0 || !isfinite(s.mean)) snprintf(out, size, "–");
    else if (s.n == 1 || !isfinite(s.std)) snprintf(out, size, "%.*f (n=1)", digits, s.mean * scale);
    else snprintf(out, size, "%.*f ± %.*f", digits, s.mean * scale, digits, s.std * scale);
    return out;
}

char *format_count(char *out, size_t size, double value) {
    static const char *const suffixes[] = {"", "k", "M", "G", "T"};
    if (!isfinite(value)) { snprintf(out, size, "–"); return out; }
    int i = 0;
    while (fabs(value) >= 1000 && i < 4) value /= 1000, i++;
    snprintf(out, size, i ? "%.3g%s" : "%.0f%s", value, suffixes[i]);
    return out;
}

char *format_bytes(char *out, size_t size, double bytes) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (!isfinite(bytes)) { snprintf(out, size, "–"); return out; }
    int i = 0;
    while (fabs(bytes) >= 1024 && i < 4) bytes /= 1024, i++;
    snprintf(out, size, i ? "%.3g %s" : "%.0f %s", bytes, units[i]);
    return out;
}

Sample sample_of(const Values *v) {
    Sample s = {v ? v->x : NULL, v ? v->seed : NULL, v ? v->count : 0};
    return s;
}

void fit_slope_interval(LineFit fit, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (fit.n < 3 || !(fit.slope_se > 0)) return;
    /* Student's t with the fit's n - 2 degrees of freedom */
    double half = t_quantile(0.975, fit.n - 2) * fit.slope_se;
    *lo = fit.slope - half, *hi = fit.slope + half;
}

double fit_slope_p(LineFit fit) {
    if (fit.n < 3 || !(fit.slope_se > 0)) return NAN;
    return 2 * gsl_cdf_tdist_Q(fabs(fit.slope) / fit.slope_se, fit.n - 2);
}

int format_runs(char *out, size_t size, const char *name, const Values *v) {
    const RunCounts *c = &v->runs;
    out[0] = 0;
    if (!c->counted) return 0;
    int total = c->done + c->failed + c->diverged + c->running, used = 0;
    int with_value = c->done - c->no_value, unstarted = c->planned > total ? c->planned - total : 0;
    if (c->planned >= 0) used = snprintf(out, size, "%s: %d of %d planned done", name, with_value, c->planned);
    else used = snprintf(out, size, "%s: %d done", name, with_value);
    const struct { int n; const char *what; } extra[] = {{c->failed, "failed"}, {c->diverged, "diverged"},
        {c->running, "running or interrupted"}, {c->no_value, "done without a value (NaN or not recorded)"},
        {unstarted, "not started"}};
    for (int i = 0; i < 5; i++)
        if (extra[i].n > 0 && used >= 0 && (size_t)used < size)
            used += snprintf(out + used, size - (size_t)used, ", %d %s", extra[i].n, extra[i].what);
    return c->failed + c->diverged + c->running + c->no_value + unstarted > 0;
}

/* An effect in seed stds: two digits, whole numbers from 10, and no long number past 1000
 * (where the noise is as good as zero). */
void format_effect(char *out, size_t size, double effect, const char *noise) {
    if (effect > 1000) snprintf(out, size, "> 1000× %s", noise);
    else if (effect >= 10) snprintf(out, size, "%.0f× %s", effect, noise);
    else snprintf(out, size, "%.2g× %s", effect, noise);
}

void finding_numbers(Finding *f, Comparison c, const char *unit, int digits, double scale) {
    const char *space = *unit && strcmp(unit, "%") ? " " : "";
    const char *noise = c.paired ? "std of paired differences" : "seed std";
    if (c.verdict == VERDICT_NOT_MEASURED) {
        snprintf(f->difference, sizeof f->difference, "–");
        snprintf(f->interval, sizeof f->interval, "–");
        snprintf(f->effect, sizeof f->effect, "–");
    } else {
        snprintf(f->difference, sizeof f->difference, "%+.*f%s%s%s", digits, c.difference * scale, space, unit,
                 f->bound ? " to the bound" : "");
        if (isfinite(c.lo))
            snprintf(f->interval, sizeof f->interval, "[%+.*f, %+.*f]", digits, c.lo * scale, digits, c.hi * scale);
        else if (c.no_spread) snprintf(f->interval, sizeof f->interval, "none: no spread observed");
        else snprintf(f->interval, sizeof f->interval, "none: one seed on a side");
        if (c.no_spread) snprintf(f->effect, sizeof f->effect, "unknown: no spread observed");
        else if (isfinite(c.effect)) format_effect(f->effect, sizeof f->effect, c.effect, noise);
        else snprintf(f->effect, sizeof f->effect, "unknown");
    }
    if (f->bound) snprintf(f->sides, sizeof f->sides, "%d", c.n_a);
    else if (c.paired && (c.n_a > c.pairs || c.n_b > c.pairs))
        snprintf(f->sides, sizeof f->sides, "%d pairs (unpaired: +%d / +%d)", c.pairs, c.n_a - c.pairs,
                 c.n_b - c.pairs);
    else if (c.paired) snprintf(f->sides, sizeof f->sides, "%d pairs", c.pairs);
    else snprintf(f->sides, sizeof f->sides, "%d / %d", c.n_a, c.n_b);
    if (c.verdict == VERDICT_NOT_MEASURED || !isfinite(c.lo)) snprintf(f->test, sizeof f->test, "–");
    else if (f->bound) snprintf(f->test, sizeof f->test, "one-sample t, df %.0f, p %.2g", c.df, c.p);
    else if (c.paired) snprintf(f->test, sizeof f->test, "paired by seed, df %.0f, p %.2g", c.df, c.p);
    else snprintf(f->test, sizeof f->test, "Welch, df %.1f, p %.2g", c.df, c.p);
    f->verdict = f->verdict_adjusted = c.verdict;
    f->p = c.p, f->p_adjusted = NAN;
    f->seeds_needed = c.verdict != VERDICT_INCONCLUSIVE ? 0 : c.no_spread ? -3 : c.seeds_needed;
}

void finding_compare(Finding *f, const char *a_name, const Values *a, const char *b_name, const Values *b,
                     int lower_is_better, const char *unit, int digits, double scale) {
    char sa[64], sb[64];
    Stat stat_a = stat_of(a->x, a->count), stat_b = stat_of(b->x, b->count);
    if (a->count == 0 || b->count == 0)
        snprintf(f->ours, sizeof f->ours, "%s %s, %s %s", a_name, a->count ? "measured" : "not measured", b_name,
                 b->count ? "measured" : "not measured");
    else
        snprintf(f->ours, sizeof f->ours, "%s %s vs %s %s %s", a_name, format_stat(sa, sizeof sa, stat_a, digits, scale),
                 b_name, format_stat(sb, sizeof sb, stat_b, digits, scale), unit);
    /* a difference of accuracies in percent is in points */
    finding_numbers(f, compare_samples(sample_of(a), sample_of(b), lower_is_better), strcmp(unit, "%") ? unit : "points",
                    digits, scale);
    char ra[80], rb[80];
    f->runs_missing = format_runs(ra, sizeof ra, a_name, a) | format_runs(rb, sizeof rb, b_name, b);
    if (ra[0] || rb[0]) snprintf(f->runs, sizeof f->runs, "%s%s%s", ra, ra[0] && rb[0] ? "; " : "", rb);
}

void finding_bound(Finding *f, const char *name, const Values *s, double bound, int above_is_good, const char *unit,
                   int digits, double scale) {
    char text[64];
    const char *space = *unit && strcmp(unit, "%") ? " " : "";
    f->bound = 1;
    if (s->count == 0) snprintf(f->ours, sizeof f->ours, "%s not measured", name);
    else snprintf(f->ours, sizeof f->ours, "%s %s%s%s against the bound %.*f%s%s", name,
                  format_stat(text, sizeof text, stat_of(s->x, s->count), digits, scale), space, unit, digits,
                  bound * scale, space, unit);
    finding_numbers(f, compare_bound(sample_of(s), bound, above_is_good), unit, digits, scale);
    f->runs_missing = format_runs(f->runs, sizeof f->runs, name, s);
}
