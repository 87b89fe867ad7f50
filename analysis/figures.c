/* Sections built around a figure: Fig. 6 (loss vs ROM weights, log-linear fit per scale),
 * Fig. 7 (logit-lens KL per layer, dense vs MeKi) and the ROM-table dtype comparison. */
#include "analysis/analysis.h"
#include "train/zeroshot.h"
#include "util/error.h"
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_POINTS 64

static const char *const FIG6_PAPER[] = {"0.6B, m = 64–192", "1.7B, m = 192–448"};

/* One scale of Fig. 6: a row per memory width, and the points of the fit: every run
 * (not the means) with a loss and ROM weights > 0, the only ones with a place on a log
 * axis, so that the fit's residuals carry the seed noise too. */
typedef struct {
    char width[MAX_POINTS][24];
    Stat loss[MAX_POINTS];
    double rom[MAX_POINTS];
    int rows, widths;
    double fit_x[MAX_POINTS * 8], fit_y[MAX_POINTS * 8];
    int n;
} Fig6Scale;

static int fig6_collect(Report *r, const char *scale, Fig6Scale *p) {
    TextList widths = {0};
    const char *params[] = {scale};
    int rc = query_texts(r, "SELECT CAST(d_mem AS TEXT) FROM figures WHERE experiment = 'fig6' AND scale = ?1 "
                            "AND memory_kind = 'meki' AND d_mem IS NOT NULL GROUP BY d_mem ORDER BY d_mem",
                         params, 1, &widths);
    for (int i = 0; !rc && i < widths.count && p->rows < MAX_POINTS; i++) {
        Cond c[] = {{"scale", scale}, {"memory_kind", "meki"}, {"CAST(d_mem AS TEXT)", widths.items[i]}};
        Stat rom;
        Values loss = {0};
        if ((rc = query_values(r, "val_loss", "fig6", c, 3, &loss)) || (rc = query_stat(r, "rom_weights", "fig6", c, 3, &rom))) {
            values_free(&loss);
            break;
        }
        snprintf(p->width[p->rows], sizeof p->width[0], "%s", widths.items[i]);
        p->loss[p->rows] = stat_of(loss.x, loss.count), p->rom[p->rows++] = rom.mean;
        if (loss.count > 0 && rom.mean > 0) p->widths++;
        for (int k = 0; k < loss.count && rom.mean > 0 && p->n < MAX_POINTS * 8; k++)
            p->fit_x[p->n] = log10(rom.mean), p->fit_y[p->n++] = loss.x[k];
        values_free(&loss);
    }
    text_list_free(&widths);
    return rc;
}

static void fig6_print(Report *r, const char *scale, const Fig6Scale *p) {
    char a[64], b[64];
    for (int i = 0; i < p->rows; i++)
        fprintf(r->body, "| %s | %s | %s | %d | %s |\n", scale, p->width[i], format_count(a, sizeof a, p->rom[i]),
                p->loss[i].n, format_stat(b, sizeof b, p->loss[i], 4, 1));
}

/* Every run's point (block 1 of the data file). */
static int fig6_runs(Report *r, const char *scale, FILE *f) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT w.value, l.value, f.d_mem FROM figures f "
                           "JOIN figure_values w ON w.experiment = f.experiment AND w.hash = f.hash AND w.name = 'rom_weights' "
                           "JOIN figure_values l ON l.experiment = f.experiment AND l.hash = f.hash AND l.name = 'val_loss' "
                           "WHERE f.experiment = 'fig6' AND f.scale = ?1 AND f.memory_kind = 'meki' AND w.value > 0 "
                           "ORDER BY f.d_mem, f.seed", &st), step;
    if (rc) return rc;
    if ((rc = store_bind_texts(r->store, st, &scale, 1))) return store_finish(st, rc);
    while ((step = store_step(r->store, st)) == SQLITE_ROW)
        fprintf(f, "%.0f %.6f 0 %d\n", sqlite3_column_double(st, 0), sqlite3_column_double(st, 1),
                sqlite3_column_int(st, 2));
    return store_finish(st, step < 0 ? -step : OK);
}

/* Means with their std (block 0) and every run (block 1), for the plot. */
static int fig6_data(Report *r, const char *scale, const Fig6Scale *p, const char *name) {
    FILE *f = plot_data_open(r, name);
    if (!f) return ERR_FAILURE;
    fprintf(f, "# ROM weights, val loss (nats), std, d_mem; block 0: means over seeds, block 1: runs\n");
    for (int i = 0; i < p->rows; i++)
        if (p->loss[i].n > 0 && p->rom[i] > 0)
            fprintf(f, "%.0f %.6f %.6f %s\n", p->rom[i], p->loss[i].mean,
                    isfinite(p->loss[i].std) ? p->loss[i].std : 0.0, p->width[i]);
    fprintf(f, "\n\n");
    int rc = fig6_runs(r, scale, f), closed = plot_data_close(r, f, name);
    return rc ? rc : closed;
}

static void fig6_finding(Report *r, const char *scale, int rank, const Fig6Scale *p, LineFit fit) {
    char claim[160];
    snprintf(claim, sizeof claim, "%s: val loss falls log-linearly with ROM weights", scale);
    Finding *f = report_add_finding(r, "Fig. 6", claim, rank < 2 ? FIG6_PAPER[rank] : "log-linear fall");
    f->seeds_needed = -2;   /* the power formula is for two sides; a fit needs more widths or seeds */
    snprintf(f->sides, sizeof f->sides, "%d runs, %d widths", p->n, p->widths);
    if (p->n < 3 || p->widths < 2) {
        snprintf(f->ours, sizeof f->ours, "%d run(s) at %d memory width(s): a fit with an interval needs 3 runs at "
                 "2 widths or more", p->n, p->widths);
        return;
    }
    double lo, hi, x_lo = p->fit_x[0], x_hi = p->fit_x[0];
    fit_slope_interval(fit, &lo, &hi);
    LackOfFit lof = lack_of_fit(p->fit_x, p->fit_y, p->n, fit);
    for (int i = 1; i < p->n; i++) x_lo = fmin(x_lo, p->fit_x[i]), x_hi = fmax(x_hi, p->fit_x[i]);
    double drop = -fit.slope * (x_hi - x_lo);
    char shape[96];
    if (isnan(lof.p)) snprintf(shape, sizeof shape, "shape untested (needs 3 widths, one with 2 seeds)");
    else snprintf(shape, sizeof shape, "lack of fit F(%d, %d) = %.2f, p %.2g", lof.df_lack, lof.df_pure, lof.f, lof.p);
    snprintf(f->ours, sizeof f->ours, "fitted fall %+.4f nats across the widths, R² %.3f; %s", -drop, fit.r2, shape);
    snprintf(f->difference, sizeof f->difference, "slope %+.4f nats / 10× ROM", fit.slope);
    if (isfinite(lo)) snprintf(f->interval, sizeof f->interval, "[%+.4f, %+.4f]", lo, hi);
    else snprintf(f->interval, sizeof f->interval, "none: no spread observed");
    if (fit.residual_std > 0) format_effect(f->effect, sizeof f->effect, fabs(drop) / fit.residual_std, "residual std (fall)");
    else snprintf(f->effect, sizeof f->effect, "unknown: no spread observed");
    f->p = fit_slope_p(fit);
    snprintf(f->test, sizeof f->test, "slope t, df %d, p %.2g", p->n - 2, f->p);
    /* the slope's interval decides the direction; "log-linear" also needs the line not to
     * miss the per-width means by more than the seeds' own spread (lack of fit at 5%) */
    if (!isfinite(lo)) f->verdict = VERDICT_INCONCLUSIVE;   /* points exactly on a line: no spread observed */
    else if (hi < 0) f->verdict = lof.p < 0.05 ? VERDICT_INCONCLUSIVE : VERDICT_REPRODUCED;
    else if (lo > 0) f->verdict = VERDICT_CONTRADICTED;
    else f->verdict = VERDICT_INCONCLUSIVE;
    f->verdict_adjusted = f->verdict;
}

static int fig6_plot(Report *r, const char *scale, const Fig6Scale *p, LineFit fit) {
    char clean[200], name[220], title[300], extra[200];
    sanitize_name(clean, sizeof clean, scale);
    snprintf(name, sizeof name, "fig6_%s", clean);
    int rc = fig6_data(r, scale, p, name);
    if (rc) return rc;
    snprintf(title, sizeof title, "Final validation loss vs ROM weights, scale %s (%d runs at %d widths; bars: ± std "
             "over seeds where n ≥ 2)", scale, p->n, p->widths);
    snprintf(extra, sizeof extra, "fit_a=%.10g; fit_b=%.10g; fit_r2=%.6g", fit.intercept, fit.slope,
             isfinite(fit.r2) ? fit.r2 : 0);
    return plot_draw(r, "fig6.gp", name, title, extra);
}

int section_fig6(Report *r) {
    TextList scales = {0};
    int rc = query_scales(r, "fig6", &scales);
    int n = rc ? 0 : scales.count;
    Fig6Scale *points = calloc((size_t)(n ? n : 1), sizeof *points);
    if (!points) { text_list_free(&scales); return error_set(ERR_FAILURE, "out of memory"); }
    fprintf(r->body, "Paper: final validation loss falls log-linearly with the ROM weights (L·V·m) as m grows "
                     "(0.6B: m ∈ {64, 96, 128, 160, 192}; 1.7B: m ∈ {192, …, 448}). Here: least-squares fit of "
                     "every run's val loss against log10(ROM weights) per scale, with the slope's 95%% interval "
                     "from its standard error (Student's t, n − 2 degrees of freedom, n runs). Reproduced when "
                     "the whole interval is below zero and the line fits the per-width means (lack-of-fit F "
                     "test against the seeds' spread at each width, p ≥ 0.05; untested below 3 widths or "
                     "without a width run twice, as the finding says); contradicted when the interval is above "
                     "zero; inconclusive otherwise, and when the points lie exactly on a line (no spread). No seed count is given for an inconclusive fit: the power formula "
                     "is for two-sided comparisons; more widths or seeds narrow the interval.\n\n| scale | m (d_mem) | ROM weights | seeds | val loss (nats) |\n"
                     "|---|---|---|---|---|\n");
    for (int i = 0; !rc && i < n; i++)
        if (!(rc = fig6_collect(r, scales.items[i], &points[i]))) fig6_print(r, scales.items[i], &points[i]);
    fprintf(r->body, "\n");
    for (int i = 0; !rc && i < n; i++) {
        LineFit fit = fit_line(points[i].fit_x, points[i].fit_y, points[i].n);
        fig6_finding(r, scales.items[i], i, &points[i], fit);
        if (points[i].n >= 2) rc = fig6_plot(r, scales.items[i], &points[i], fit);
    }
    free(points);
    text_list_free(&scales);
    return rc;
}

#define LENS_ZERO 1e-6   /* the last layer's lens is the model's own head under some readings: KL 0 up to rounding for both */

/* One layer of one reading: MeKi against dense over seeds. */
typedef struct {
    Stat dense, memory;          /* KL of the dense and the MeKi runs */
    Finding row;                /* the comparison's text (finding_compare) */
    Comparison c;
    int trivial;                /* both KLs 0: the model's own head, no comparison */
    double p_adjusted;          /* Holm over the reading's compared layers */
} LensLayer;

static int lens_layer(Report *r, const char *reading, const char *layer, FILE *data, LensLayer *l) {
    Cond dense_c[] = {{"memory_kind", "none"}, {"reading", reading}, {"CAST(layer AS TEXT)", layer}};
    Cond meki_c[] = {{"memory_kind", "meki"}, {"reading", reading}, {"CAST(layer AS TEXT)", layer}};
    Values dense_v = {0}, meki_v = {0};
    int rc;
    if ((rc = query_values_in(r, "lens_kl", "kl", "fig7", dense_c, 3, &dense_v)) ||
        (rc = query_values_in(r, "lens_kl", "kl", "fig7", meki_c, 3, &meki_v))) {
        values_free(&dense_v), values_free(&meki_v);
        return rc;
    }
    l->dense = stat_of(dense_v.x, dense_v.count), l->memory = stat_of(meki_v.x, meki_v.count);
    finding_compare(&l->row, "MeKi", &meki_v, "dense", &dense_v, 1, "nats", 4, 1);
    l->c = compare_samples(sample_of(&meki_v), sample_of(&dense_v), 1);
    l->trivial = l->dense.n && l->memory.n && fabs(l->dense.mean) < LENS_ZERO && fabs(l->memory.mean) < LENS_ZERO;
    if (l->trivial) l->c.p = NAN;   /* not a member of the layers' family */
    fprintf(data, "%s %.6f %.6f %.6f %.6f\n", layer, l->dense.n ? l->dense.mean : NAN,
            isfinite(l->dense.std) ? l->dense.std : 0, l->memory.n ? l->memory.mean : NAN,
            isfinite(l->memory.std) ? l->memory.std : 0);
    values_free(&dense_v), values_free(&meki_v);
    return OK;
}

static void lens_row(Report *r, const char *layer, const LensLayer *l) {
    char a[64], b[64];
    if (l->trivial) {
        fprintf(r->body, "| %s | %s | %s | 0 (the model's own head) | – | – | – | – | – |\n", layer,
                format_stat(a, sizeof a, l->dense, 4, 1), format_stat(b, sizeof b, l->memory, 4, 1));
        return;
    }
    Verdict adjusted = isnan(l->p_adjusted) ? l->row.verdict : verdict_adjusted(l->row.verdict, l->p_adjusted);
    char p[32] = "–";
    if (!isnan(l->p_adjusted)) snprintf(p, sizeof p, "%.2g", l->p_adjusted);
    fprintf(r->body, "| %s | %s | %s | %s %s | %s | %s | %s | %s | %s |\n", layer,
            format_stat(a, sizeof a, l->dense, 4, 1), format_stat(b, sizeof b, l->memory, 4, 1), l->row.difference,
            l->row.interval, l->row.effect, l->row.sides, verdict_name(l->row.verdict, 0), p,
            verdict_name(adjusted, 0));
}

/* "Lower at every layer" is an intersection of per-layer claims: reproduced when every
 * layer's own interval is below zero (an intersection-union test needs no adjustment);
 * contradicted when any layer is above zero after Holm's correction over the layers (a
 * union of tests, which does); inconclusive otherwise. Its p for the report's family:
 * the largest layer p when reproduced, the smallest adjusted p of a contradicting layer
 * when contradicted. */
static void lens_finding(Report *r, const char *reading, const LensLayer *layers, int n) {
    char claim[160];
    snprintf(claim, sizeof claim, "MeKi's logit-lens KL is lower at every layer (reading %s)", reading);
    Finding *f = report_add_finding(r, "Fig. 7", claim, "Fig. 7: lower at every layer");
    int compared = 0, lower = 0, raw[3] = {0}, contradicted = 0, unknown_seeds = 0, seeds = 0, pairs_min = 0,
        pairs_max = 0;
    double difference = 0, dense = 0, effect_min = NAN, p_max = NAN, p_contra = NAN;
    for (int i = 0; i < n; i++) {
        const LensLayer *l = &layers[i];
        if (l->trivial || l->row.verdict == VERDICT_NOT_MEASURED) continue;
        int pairs = l->c.paired ? l->c.pairs : l->c.n_a < l->c.n_b ? l->c.n_a : l->c.n_b;
        if (!compared || pairs < pairs_min) pairs_min = pairs;
        if (pairs > pairs_max) pairs_max = pairs;
        if (!compared || !(l->c.effect >= effect_min)) effect_min = l->c.effect;
        if (!compared || l->row.seeds_needed > seeds) seeds = l->row.seeds_needed;
        compared++;
        lower += l->memory.mean < l->dense.mean;
        raw[l->row.verdict]++;
        unknown_seeds += l->row.verdict == VERDICT_INCONCLUSIVE && l->row.seeds_needed < 0;
        if (!isnan(l->p_adjusted) && verdict_adjusted(l->row.verdict, l->p_adjusted) == VERDICT_CONTRADICTED) {
            contradicted++;
            if (isnan(p_contra) || l->p_adjusted < p_contra) p_contra = l->p_adjusted;
        }
        /* the largest layer p (NAN if any layer has none): an intersection-union test's p */
        p_max = compared == 1 ? l->c.p : isnan(p_max) || isnan(l->c.p) ? NAN : fmax(p_max, l->c.p);
        difference += l->memory.mean - l->dense.mean, dense += l->dense.mean;
    }
    if (!compared) {
        snprintf(f->ours, sizeof f->ours, "no layer measured for both dense and MeKi");
        return;
    }
    snprintf(f->ours, sizeof f->ours, "MeKi lower at %d of %d layers (means); interval below zero at %d, above at %d "
             "(%d after Holm over the layers)", lower, compared, raw[VERDICT_REPRODUCED], raw[VERDICT_CONTRADICTED],
             contradicted);
    snprintf(f->difference, sizeof f->difference, "mean %+.4f nats (%+.1f%%)", difference / compared,
             dense > 0 ? 100 * difference / dense : NAN);
    snprintf(f->interval, sizeof f->interval, "per layer: Fig. 7 table");
    char effect[48];
    format_effect(effect, sizeof effect, effect_min, "std");
    if (isfinite(effect_min) && effect_min > 0) snprintf(f->effect, sizeof f->effect, "≥ %s", effect);
    else snprintf(f->effect, sizeof f->effect, "unknown (1 seed or no spread)");
    if (pairs_min == pairs_max) snprintf(f->sides, sizeof f->sides, "%d per side, %d layers", pairs_min, compared);
    else snprintf(f->sides, sizeof f->sides, "%d–%d per side, %d layers", pairs_min, pairs_max, compared);
    snprintf(f->test, sizeof f->test, "every layer; Holm over %d layers", compared);
    if (contradicted) f->verdict = VERDICT_CONTRADICTED, f->p = p_contra;
    else if (raw[VERDICT_REPRODUCED] == compared) f->verdict = VERDICT_REPRODUCED, f->p = p_max;
    else f->verdict = VERDICT_INCONCLUSIVE, f->p = p_max;
    f->verdict_adjusted = f->verdict;
    f->seeds_needed = f->verdict == VERDICT_INCONCLUSIVE ? (unknown_seeds ? -1 : seeds) : 0;
}

static const char *lens_description(const char *reading) {
    for (int i = 0; i < LENS_READINGS; i++)
        if (!strcmp(LENS_READING[i].name, reading)) return LENS_READING[i].description;
    return "a reading this build does not know";
}

/* One reading of the lens: its table, finding and plot (fig7_lens for after_block, the
 * first definition, fig7_lens_<reading> for the others). */
static int lens_reading(Report *r, const char *reading) {
    TextList layers = {0};
    const char *params[] = {reading};
    int rc = query_texts(r, "SELECT CAST(layer AS TEXT) FROM lens_kl WHERE experiment = 'fig7' AND reading = ?1 "
                            "GROUP BY layer ORDER BY layer", params, 1, &layers);
    char plot[96];
    if (!strcmp(reading, "after_block")) snprintf(plot, sizeof plot, "fig7_lens");
    else snprintf(plot, sizeof plot, "fig7_lens_%s", reading);
    fprintf(r->body, "**Reading %s**: %s.\n\n", reading, lens_description(reading));
    FILE *data = NULL;
    if (!rc && layers.count && !(data = plot_data_open(r, plot))) rc = ERR_FAILURE;
    LensLayer *rows = calloc((size_t)(layers.count ? layers.count : 1), sizeof *rows);
    if (!rows) rc = error_set(ERR_FAILURE, "out of memory");
    int n = 0;
    if (data) fprintf(data, "# layer, dense KL mean, std, MeKi KL mean, std (nats)\n");
    for (; data && !rc && n < layers.count; n++) rc = lens_layer(r, reading, layers.items[n], data, &rows[n]);
    if (data) {
        int closed = plot_data_close(r, data, plot);
        if (!rc) rc = closed;
    }
    if (!rc && data) {
        /* Holm over the layers compared (the model's own head is no member) */
        double p[n > 0 ? n : 1], adjusted[n > 0 ? n : 1];
        for (int i = 0; i < n; i++) p[i] = rows[i].c.p;
        holm_adjust(p, n, adjusted);
        int members = 0;
        for (int i = 0; i < n; i++) rows[i].p_adjusted = adjusted[i], members += !isnan(p[i]);
        fprintf(r->body, "| layer | dense KL (nats) | MeKi KL (nats) | MeKi − dense [95%% CI] | effect | n | verdict | "
                         "p (Holm over the %d layers) | verdict after Holm |\n|---|---|---|---|---|---|---|---|---|\n",
                members);
        for (int i = 0; i < n; i++) lens_row(r, layers.items[i], &rows[i]);
        fprintf(r->body, "\n");
    }
    if (!rc) lens_finding(r, reading, rows, n);
    if (!rc && data) {
        char title[200], count[32];
        int lo = 0, hi = 0;
        for (int i = 0; i < n; i++) {
            int k = rows[i].c.paired ? rows[i].c.pairs : rows[i].c.n_a < rows[i].c.n_b ? rows[i].c.n_a : rows[i].c.n_b;
            if (!i || k < lo) lo = k;
            if (k > hi) hi = k;
        }
        if (lo == hi) snprintf(count, sizeof count, "%d", lo);
        else snprintf(count, sizeof count, "%d–%d", lo, hi);
        snprintf(title, sizeof title, "Logit lens (%s): KL per layer (mean ± std, n = %s seeds per side)", reading, count);
        rc = plot_draw(r, "lens.gp", plot, title, "");
    }
    free(rows);
    text_list_free(&layers);
    return rc;
}

int section_fig7(Report *r) {
    TextList readings = {0};
    /* the harness's first definition first, then the others in name order */
    int rc = query_texts(r, "SELECT reading FROM lens_kl WHERE experiment = 'fig7' GROUP BY reading "
                            "ORDER BY reading != 'after_block', reading", NULL, 0, &readings);
    fprintf(r->body, "Paper: the KL divergence between the final head applied to each layer's output and the "
                     "model's final distribution is lower for MeKi than for dense at every layer (MeKi layers "
                     "reach a usable prediction earlier). The paper does not say which hidden state it reads "
                     "(before or after that layer's memory), whether the final norm precedes the head, nor the "
                     "KL's direction, so each reading is shown with its own finding.\n\n");
    if (!rc && readings.count == 0) fprintf(r->body, "No logit-lens figures recorded (`[eval] logit_lens = on`).\n\n");
    for (int i = 0; !rc && i < readings.count; i++) rc = lens_reading(r, readings.items[i]);
    text_list_free(&readings);
    return rc;
}

typedef struct {
    Stat ppl, bytes, change, tok_s;
    Values change_v;            /* per run, with seeds, for the bound findings */
} DtypeRow;

static int dtype_row(Report *r, const char *dtype, FILE *data, DtypeRow *row) {
    Cond c[] = {{"dtype", dtype}};
    int rc;
    if ((rc = query_stat_in(r, "dtype_figures", "bundle_val_ppl", "quant", c, 1, &row->ppl)) ||
        (rc = query_stat_in(r, "dtype_figures", "rom_bytes", "quant", c, 1, &row->bytes)) ||
        (rc = query_values_in(r, "dtype_figures", "ppl_change", "quant", c, 1, &row->change_v)) ||
        (rc = query_stat_in(r, "dtype_figures", "decode_tok_s", "quant", c, 1, &row->tok_s)))
        return rc;
    row->change = stat_of(row->change_v.x, row->change_v.count);
    char a[64], b[64], d[64], e[64];
    fprintf(r->body, "| %s | %s | %d | %s | %s%s | %s |\n", dtype, format_bytes(a, sizeof a, row->bytes.mean),
            row->ppl.n, format_stat(b, sizeof b, row->ppl, 3, 1), format_stat(d, sizeof d, row->change, 2, 100),
            row->change.n ? " %" : "", format_stat(e, sizeof e, row->tok_s, 1, 1));
    if (row->bytes.n && row->ppl.n)
        fprintf(data, "%s %.6f %.6f %.6f %.6f %.6f\n", dtype, row->bytes.mean / (1024.0 * 1024.0), row->ppl.mean,
                isfinite(row->ppl.std) ? row->ppl.std : 0, row->tok_s.n ? row->tok_s.mean : NAN,
                isfinite(row->tok_s.std) ? row->tok_s.std : 0);
    return OK;
}

static void quant_findings(Report *r, const char *const *dtypes, const DtypeRow *rows, int n) {
    static const struct { const char *dtype; double bound; } BOUNDS[] = {{"q8_0", 0.005}, {"q4_0", 0.03}};
    for (int b = 0; b < 2; b++) {
        char claim[160], paper[96];
        snprintf(claim, sizeof claim, "%s table: perplexity within %.1f%% of f32", BOUNDS[b].dtype, 100 * BOUNDS[b].bound);
        snprintf(paper, sizeof paper, "harness target (no paper number)");
        const Values none = {0}, *change = &none;
        for (int i = 0; i < n; i++)
            if (!strcmp(dtypes[i], BOUNDS[b].dtype)) change = &rows[i].change_v;
        finding_bound(report_add_finding(r, "Quant", claim, paper), "ppl change", change, BOUNDS[b].bound, 0, "%",
                          2, 100);
    }
}

/* Issue 18: the decode's RAM weights dtypes of the runs measured with [bench]
 * weights_dtypes, beside the table dtypes: speeds, bytes, and the f32 table's perplexity. */
static int weights_table(Report *r) {
    TextList dtypes = {0};
    int rc = query_texts(r, "SELECT dtype FROM weights_figures WHERE experiment = 'quant' GROUP BY dtype "
                            "ORDER BY min(position)", NULL, 0, &dtypes);
    if (!rc && dtypes.count)
        fprintf(r->body, "RAM weights dtype of the decode (`[bench] weights_dtypes`; block matrices and head in it, "
                         "the f32 table): each dtype's speeds come from its own benchmark after f32's, so their "
                         "ratio carries the machine's drift between the two; changes vs f32 are per run, then "
                         "averaged.\n\n"
                         "| RAM weights | RAM weight bytes | seeds | folded decode tok/s | dense decode tok/s | "
                         "folded tok/s vs f32 | bundle val ppl | change vs f32 |\n|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; !rc && i < dtypes.count; i++) {
        Cond c[] = {{"dtype", dtypes.items[i]}};
        Stat folded, dense, bytes, ratio, ppl, change;
        if ((rc = query_stat_in(r, "weights_figures", "folded_tok_s", "quant", c, 1, &folded)) ||
            (rc = query_stat_in(r, "weights_figures", "dense_tok_s", "quant", c, 1, &dense)) ||
            (rc = query_stat_in(r, "weights_figures", "ram_bytes", "quant", c, 1, &bytes)) ||
            (rc = query_stat_in(r, "weights_figures", "tok_s_ratio", "quant", c, 1, &ratio)) ||
            (rc = query_stat_in(r, "weights_figures", "ppl", "quant", c, 1, &ppl)) ||
            (rc = query_stat_in(r, "weights_figures", "ppl_change", "quant", c, 1, &change)))
            break;
        char a[64], b[64], d[64], e[64], g[64], h[64];
        fprintf(r->body, "| %s | %s | %d | %s | %s | %s | %s | %s%s |\n", dtypes.items[i],
                format_bytes(a, sizeof a, bytes.n ? bytes.mean : NAN), ppl.n > folded.n ? ppl.n : folded.n,
                format_stat(b, sizeof b, folded, 1, 1), format_stat(d, sizeof d, dense, 1, 1),
                format_stat(e, sizeof e, ratio, 3, 1), format_stat(g, sizeof g, ppl, 3, 1),
                format_stat(h, sizeof h, change, 2, 100), change.n ? " %" : "");
    }
    if (!rc && dtypes.count) fprintf(r->body, "\n");
    text_list_free(&dtypes);
    return rc;
}

int section_quant(Report *r) {
    TextList dtypes = {0};
    DtypeRow rows[8] = {0};
    int rc = query_texts(r, "SELECT dtype FROM dtype_summary WHERE experiment = 'quant' ORDER BY position", NULL, 0,
                         &dtypes), has_decode = 0;
    fprintf(r->body, "PAPER.md gives no quantisation numbers; the harness's own targets are a q8_0 table within 0.5%% "
                     "and a q4_0 table within 3%% of the f32 table's perplexity, for a 4x and about 6x smaller ROM "
                     "table. Change vs f32 is per run, then averaged.\n\n");
    if (!rc && dtypes.count == 0) fprintf(r->body, "No folded-bundle figures recorded (`[bench] table_dtypes`).\n\n");
    FILE *data = NULL;
    if (!rc && dtypes.count && !(data = plot_data_open(r, "quant"))) rc = ERR_FAILURE;
    if (data) {
        fprintf(data, "# dtype, ROM table MiB, val ppl mean, std, decode tok/s mean, std\n");
        fprintf(r->body, "| table dtype | ROM bytes | seeds | bundle val ppl | change vs f32 | decode tok/s |\n"
                         "|---|---|---|---|---|---|\n");
    }
    int n = dtypes.count < 8 ? dtypes.count : 8;
    for (int i = 0; data && !rc && i < n; i++)
        if (!(rc = dtype_row(r, dtypes.items[i], data, &rows[i]))) has_decode += rows[i].tok_s.n > 0;
    if (data) {
        int closed = plot_data_close(r, data, "quant");
        if (!rc) rc = closed;
        fprintf(r->body, "\n");
    }
    if (!rc) rc = weights_table(r);
    if (!rc) quant_findings(r, (const char *const *)dtypes.items, rows, n);
    if (!rc && data)
        rc = plot_draw(r, "quant.gp", "quant", rows[0].ppl.n > 1 ? "ROM table dtype: perplexity and decode speed vs "
                       "table size (mean ± std over the runs, n in the table)" : "ROM table dtype: perplexity and decode "
                       "speed vs table size (one run, n = 1)",
                       has_decode > 1 ? "has_decode=1" : "has_decode=0");   /* one dtype: no trend to draw */
    for (int i = 0; i < 8; i++) values_free(&rows[i].change_v);
    text_list_free(&dtypes);
    return rc;
}
