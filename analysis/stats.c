/* Statistics over seeds, the log-linear fit of Fig. 6, and the comparison behind every
 * verdict in the report. */
#include "analysis/analysis.h"
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

LineFit fit_line(const double *x, const double *y, int n) {
    LineFit f = {n, NAN, NAN, NAN, NAN};
    if (n < 2) return f;
    double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n, my /= n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0) return f;
    f.slope = sxy / sxx;
    f.intercept = my - f.slope * mx;
    f.r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 1.0;
    double sse = 0;
    for (int i = 0; i < n; i++) {
        double e = y[i] - f.intercept - f.slope * x[i];
        sse += e * e;
    }
    if (n > 2) f.residual_std = sqrt(sse / (n - 2));
    return f;
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

char *format_ratio(char *out, size_t size, double ratio, int exceeded, const char *noise) {
    const char *space = *noise ? " " : "";
    /* beyond 1000x the noise is as good as zero: a long number would only mislead */
    if (ratio > 1000) snprintf(out, size, "> 1000×%s%s (exceeds)", space, noise);
    else snprintf(out, size, "%.1f×%s%s (%s)", ratio, space, noise, exceeded ? "exceeds" : "within");
    return out;
}

/* The seed noise of a difference between two variants: the pooled sample std. */
static double pooled_std(Stat a, Stat b) {
    if (a.n < 2 || b.n < 2 || !isfinite(a.std) || !isfinite(b.std)) return NAN;
    return sqrt((a.std * a.std + b.std * b.std) / 2);
}

void finding_compare(Finding *f, const char *a_name, Stat a, const char *b_name, Stat b, int lower_is_better,
                     const char *unit, int digits, double scale) {
    char sa[64], sb[64];
    if (a.n == 0 || b.n == 0) {
        snprintf(f->ours, sizeof f->ours, "%s %s, %s %s", a_name, a.n ? "measured" : "not measured", b_name,
                 b.n ? "measured" : "not measured");
        snprintf(f->gap, sizeof f->gap, "–");
        snprintf(f->noise, sizeof f->noise, "–");
        f->verdict = -1, f->noise_exceeded = -1;
        return;
    }
    snprintf(f->ours, sizeof f->ours, "%s %s vs %s %s %s", a_name, format_stat(sa, sizeof sa, a, digits, scale),
             b_name, format_stat(sb, sizeof sb, b, digits, scale), unit);
    double difference = a.mean - b.mean;
    double better = lower_is_better ? -difference : difference;   /* > 0: the claim holds */
    /* a difference of accuracies in percent is in points; the relative change is in % */
    snprintf(f->gap, sizeof f->gap, "%+.*f %s (%+.1f%%)", digits, difference * scale, strcmp(unit, "%") ? unit : "points",
             b.mean != 0 ? 100 * difference / fabs(b.mean) : NAN);
    double noise = pooled_std(a, b);
    if (isfinite(noise) && noise > 0) {
        f->noise_exceeded = fabs(difference) > noise;
        format_ratio(f->noise, sizeof f->noise, fabs(difference) / noise, f->noise_exceeded, "");
    } else if (isfinite(noise)) {   /* identical seeds: any gap is beyond the noise */
        f->noise_exceeded = difference != 0;
        snprintf(f->noise, sizeof f->noise, "std 0 (%s)", f->noise_exceeded ? "exceeds" : "within");
    } else {
        f->noise_exceeded = -1;
        snprintf(f->noise, sizeof f->noise, "unknown (1 seed)");
    }
    f->verdict = better > 0;
}

void finding_threshold(Finding *f, const char *name, Stat s, double threshold, int below_is_good, const char *unit,
                       int digits, double scale) {
    char text[64];
    if (s.n == 0) {
        snprintf(f->ours, sizeof f->ours, "%s not measured", name);
        snprintf(f->gap, sizeof f->gap, "–");
        snprintf(f->noise, sizeof f->noise, "–");
        f->verdict = -1, f->noise_exceeded = -1;
        return;
    }
    double gap = s.mean - threshold;
    snprintf(f->ours, sizeof f->ours, "%s %s%s", name, format_stat(text, sizeof text, s, digits, scale), unit);
    snprintf(f->gap, sizeof f->gap, "%+.*f%s from the bound %.*f%s", digits, gap * scale, unit, digits,
             threshold * scale, unit);
    if (s.n > 1 && isfinite(s.std) && s.std > 0) {
        f->noise_exceeded = fabs(gap) > s.std;
        format_ratio(f->noise, sizeof f->noise, fabs(gap) / s.std, f->noise_exceeded, "");
    } else {
        f->noise_exceeded = -1;
        snprintf(f->noise, sizeof f->noise, s.n > 1 ? "std 0" : "unknown (1 seed)");
    }
    f->verdict = below_is_good ? s.mean <= threshold : s.mean >= threshold;
}
