/* Plots: each writes its data to plots/<name>.dat (kept, so a figure can be redrawn or
 * checked by hand) and runs one of the analysis/ gnuplot scripts on it. gnuplot's messages go to
 * plots/gnuplot.log; a plot that fails is named in the report, never fatal. */
#include "analysis/analysis.h"
#include "analysis/report.h"
#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CURVES 12   /* beyond this a legend stops being readable */

extern char **environ;

void gnuplot_quote(char *out, size_t size, const char *text) {
    size_t used = 0;
    if (size < 3) { if (size) out[0] = 0; return; }
    out[used++] = '\'';
    for (const char *c = text; *c && used + 3 < size; c++) {
        if (*c == '\'') out[used++] = '\'';   /* '' is a quote inside a single-quoted string */
        out[used++] = *c;
    }
    out[used++] = '\'';
    out[used] = 0;
}

void plot_embed(Report *r, const char *png_name, const char *caption, int drawn) {
    if (drawn) fprintf(r->body, "![%s](plots/%s)\n\n", caption, png_name);
    else if (r->gnuplot_state != 0) fprintf(r->body, "*Plot `%s` (%s) could not be drawn: see plots/gnuplot.log.*\n\n",
                                            png_name, caption);
}

/* Runs gnuplot with stdout to /dev/null and stderr appended to plots/gnuplot.log.
 * Returns the exit status, 127 when gnuplot cannot be started, -1 on a spawn error. */
static int spawn_gnuplot(Report *r, char *const argv[]) {
    char log[4200];
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int status;
    snprintf(log, sizeof log, "%s/gnuplot.log", r->plots_dir);
    if (posix_spawn_file_actions_init(&actions)) return -1;
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc) return rc == ENOENT || rc == EACCES ? 127 : -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int plot_run(Report *r, const char *script, const char *assignments, const char *png_path) {
    if (r->gnuplot_state == 0) return 0;
    char script_path[4200], dir[4300], all[20000];
    const char *program = r->options->gnuplot ? r->options->gnuplot : "gnuplot";
    snprintf(script_path, sizeof script_path, "%s/%s", r->options->analysis_dir, script);
    gnuplot_quote(dir, sizeof dir, r->options->analysis_dir);
    snprintf(all, sizeof all, "gpdir=%s; %s", dir, assignments);
    char *argv[] = {(char *)program, "-e", all, script_path, NULL};
    unlink(png_path);   /* an old PNG must not pass for a new one */
    int status = spawn_gnuplot(r, argv);
    if (status == 127) { r->gnuplot_state = 0; return 0; }
    r->gnuplot_state = 1;
    if (status == 0 && access(png_path, F_OK) == 0) { r->plots++; return 1; }
    r->plot_failures++;
    unlink(png_path);   /* gnuplot opens the output before it fails: no half-drawn file */
    return 0;
}

/* The same figure as SVG beside the PNG (for papers): the script again with vector=1 and
 * the .svg as output. Returns 1 when drawn; a failure is counted, the PNG stays. */
static int plot_vector(Report *r, const char *script, const char *assignments, const char *png_path) {
    char svg[4200], q_svg[4300], all[20000];
    size_t n = strlen(png_path);
    if (r->gnuplot_state != 1 || n < 4) return 0;
    snprintf(svg, sizeof svg, "%.*s.svg", (int)(n - 4), png_path);
    gnuplot_quote(q_svg, sizeof q_svg, svg);
    /* a later outfile assignment overrides the PNG's */
    snprintf(all, sizeof all, "%s; vector=1; outfile=%s", assignments, q_svg);
    int plots = r->plots, drawn = plot_run(r, script, all, svg);
    r->plots = plots;   /* plots counts figures, not files */
    return drawn;
}

/* A title quoted for gnuplot and broken into lines of at most TITLE_LINE characters
 * ('line one'."\n".'line two'): a longer one ran off the 800-pixel figure's edge. */
enum { TITLE_LINE = 90 };
static void title_lines(char *out, size_t size, const char *title) {
    char line[600], quoted[1300];
    size_t used = 0, len = strlen(title), start = 0;
    out[0] = 0;
    while (start < len && used + 8 < size) {
        size_t end = len;
        if (len - start > TITLE_LINE) {   /* break at the last space that fits, else hard */
            end = start + TITLE_LINE;
            while (end > start && title[end] != ' ') end--;
            if (end == start) end = start + TITLE_LINE;
        }
        snprintf(line, sizeof line, "%.*s", (int)(end - start), title + start);
        gnuplot_quote(quoted, sizeof quoted, line);
        int n = snprintf(out + used, size - used, "%s%s", used ? ".\"\\n\"." : "", quoted);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
        start = end;
        while (start < len && title[start] == ' ') start++;
    }
    if (!used) gnuplot_quote(out, size, title);
}

/* Common assignments: data file, output file and title, all quoted for gnuplot. */
static void base_assignments(Report *r, char *out, size_t size, const char *name, const char *title,
                             char *png_path, size_t png_size) {
    char data[4200], png[4200], q_data[4300], q_png[4300], q_title[2000];
    snprintf(data, sizeof data, "%s/%s.dat", r->plots_dir, name);
    snprintf(png, sizeof png, "%s/%s.png", r->plots_dir, name);
    snprintf(png_path, png_size, "%s", png);
    gnuplot_quote(q_data, sizeof q_data, data);
    gnuplot_quote(q_png, sizeof q_png, png);
    title_lines(q_title, sizeof q_title, title);
    snprintf(out, size, "datafile=%s; outfile=%s; plottitle=%s", q_data, q_png, q_title);
}

FILE *plot_data_open(Report *r, const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.dat", r->plots_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) error_set(ERR_FAILURE, "cannot write %s: %s", path, strerror(errno));
    return f;
}

int plot_data_close(Report *r, FILE *f, const char *name) {
    if (fclose(f) != 0) return error_set(ERR_FAILURE, "cannot write %s/%s.dat", r->plots_dir, name);
    return OK;
}

/* Draws name.png from name.dat with script and extra assignments, and embeds it. */
int plot_draw(Report *r, const char *script, const char *name, const char *title, const char *extra) {
    char assignments[16384], png[4200];
    base_assignments(r, assignments, sizeof assignments, name, title, png, sizeof png);
    size_t used = strlen(assignments);
    if (extra && *extra) snprintf(assignments + used, sizeof assignments - used, "; %s", extra);
    char file[300];
    snprintf(file, sizeof file, "%s.png", name);
    int drawn = plot_run(r, script, assignments, png);
    plot_embed(r, file, title, drawn);
    if (drawn && plot_vector(r, script, assignments, png)) fprintf(r->body, "(Vector copy: `plots/%s.svg`.)\n\n", name);
    return OK;
}

/* A legend label for a quoted field of a data file: no double quote may end it early. */
static void data_label(char *out, size_t size, const char *variant) {
    short_label(out, size, variant);
    for (char *c = out; *c; c++)
        if (*c == '"') *c = '\'';
}

/* One data block per variant ("label" line, then tokens mean std), blocks separated by
 * two blank lines so that gnuplot's index selects a variant. */
static int write_curve_blocks(Report *r, sqlite3_stmt *st, FILE *f, int *blocks, char *dashes, size_t size) {
    char previous[512] = "", label[512];
    int step;
    while ((step = store_step(r->store, st)) == SQLITE_ROW) {
        const char *variant = (const char *)sqlite3_column_text(st, 0);
        if (strcmp(variant, previous)) {
            if (*blocks) fprintf(f, "\n\n");
            data_label(label, sizeof label, variant);
            fprintf(f, "\"%s\"\n", label);
            snprintf(previous, sizeof previous, "%s", variant);
            /* dense baselines dashed, so that they stand apart whatever their colour */
            size_t used = strlen(dashes);
            snprintf(dashes + used, size - used, "%s%d", used ? " " : "", strstr(variant, "memory.kind=none") ? 2 : 1);
            ++*blocks;
        }
        double std = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 3);
        fprintf(f, "%.0f %.6f %.6f\n", sqlite3_column_double(st, 1), sqlite3_column_double(st, 2), std);
    }
    return step < 0 ? -step : OK;
}

static int curve_data(Report *r, const char *experiment, FILE *f, int *blocks, char *dashes, size_t size) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT c.variant, c.tokens, c.val_loss_mean, c.val_loss_std FROM curve_summary c "
                           "LEFT JOIN variants v ON v.experiment = c.experiment AND v.variant = c.variant "
                           "WHERE c.experiment = ?1 ORDER BY " VARIANT_ORDER ", c.step", &st);
    if (rc) return rc;
    if (!(rc = store_bind_texts(r->store, st, &experiment, 1))) rc = write_curve_blocks(r, st, f, blocks, dashes, size);
    return store_finish(st, rc);
}

/* "n = 3 seeds per variant", "n = 1–3 seeds per variant" or "one seed per variant, no spread",
 * from the finished runs of the experiment's variants, for captions. */
static int seeds_phrase(Report *r, const char *experiment, char *out, size_t size) {
    double lo, hi;
    int rc = query_number(r, "SELECT min(n) FROM variants WHERE experiment = ?1", &experiment, 1, &lo);
    if (!rc) rc = query_number(r, "SELECT max(n) FROM variants WHERE experiment = ?1", &experiment, 1, &hi);
    if (rc || !isfinite(lo)) snprintf(out, size, "n unknown");
    else if (hi <= 1) snprintf(out, size, "one seed per variant (n = 1), no spread");
    else if (lo == hi) snprintf(out, size, "n = %.0f seeds per variant", lo);
    else snprintf(out, size, "n = %.0f–%.0f seeds per variant", lo, hi);
    return rc;
}

int plot_curves(Report *r, const char *experiment) {
    double variants;
    int rc = query_number(r, "SELECT count(DISTINCT variant) FROM curve_summary WHERE experiment = ?1", &experiment, 1,
                          &variants);
    if (rc || !(variants >= 1)) return rc;
    if (variants > MAX_CURVES) {
        fprintf(r->body, "*%.0f variants: too many for one readable loss-curve plot; none drawn.*\n\n", variants);
        return OK;
    }
    char clean[200], name[220], title[300], extra[128], dashes[64] = "";
    sanitize_name(clean, sizeof clean, experiment);
    snprintf(name, sizeof name, "curves_%s", clean);
    FILE *f = plot_data_open(r, name);
    if (!f) return ERR_FAILURE;
    int blocks = 0;
    rc = curve_data(r, experiment, f, &blocks, dashes, sizeof dashes);
    int closed = plot_data_close(r, f, name);
    if (rc || (rc = closed) || blocks == 0) return rc;
    char seeds[96];
    if ((rc = seeds_phrase(r, experiment, seeds, sizeof seeds))) return rc;
    snprintf(title, sizeof title, "Validation loss during training: %s (mean over seeds; %s)", experiment, seeds);
    snprintf(extra, sizeof extra, "nblocks=%d; dashes='%s'", blocks, dashes);
    return plot_draw(r, "curves.gp", name, title, extra);
}

/* The variants of experiment ?1 with a decode speed: dense twin d, folded f and unfolded u MeKi. */
#define DECODE_JOINS                                                                                              \
    "FROM variants v "                                                                                            \
    "LEFT JOIN variant_stats d ON d.experiment = v.experiment AND d.variant = v.variant AND d.name = 'dense_decode_tok_s' " \
    "LEFT JOIN variant_stats f ON f.experiment = v.experiment AND f.variant = v.variant AND f.name = 'folded_decode_tok_s' " \
    "LEFT JOIN variant_stats u ON u.experiment = v.experiment AND u.variant = v.variant AND u.name = 'unfolded_decode_tok_s' " \
    "WHERE v.experiment = ?1 AND coalesce(d.mean, f.mean, u.mean) IS NOT NULL"

/* Decode speed per variant: dense twin, folded and unfolded MeKi, mean and std. */
static int decode_data(Report *r, const char *experiment, FILE *f, int *rows, int present[3]) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT v.variant, d.mean, d.std, f.mean, f.std, u.mean, u.std " DECODE_JOINS
                           " ORDER BY " VARIANT_ORDER, &st), step;
    if (rc) return rc;
    if ((rc = store_bind_texts(r->store, st, &experiment, 1))) return store_finish(st, rc);
    fprintf(f, "# variant dense std folded std unfolded std (tok/s; NaN: not measured)\n");
    while ((step = store_step(r->store, st)) == SQLITE_ROW) {
        char label[256];
        data_label(label, sizeof label, (const char *)sqlite3_column_text(st, 0));
        fprintf(f, "\"%s\"", label);
        for (int c = 1; c <= 6; c++) {
            int missing = sqlite3_column_type(st, c) == SQLITE_NULL;
            if (c % 2 && !missing) present[c / 2] = 1;
            fprintf(f, missing ? (c % 2 ? " NaN" : " 0") : " %.3f", sqlite3_column_double(st, c));
        }
        fprintf(f, "\n");
        ++*rows;
    }
    return store_finish(st, step < 0 ? -step : OK);
}

int plot_decode(Report *r, const char *experiment) {
    char clean[200], name[220], title[300];
    sanitize_name(clean, sizeof clean, experiment);
    snprintf(name, sizeof name, "decode_%s", clean);
    double measured;
    int rc = query_number(r, "SELECT count(*) " DECODE_JOINS, &experiment, 1, &measured);
    if (rc || !(measured >= 1)) return rc;
    FILE *f = plot_data_open(r, name);
    if (!f) return ERR_FAILURE;
    int rows = 0, present[3] = {0};
    rc = decode_data(r, experiment, f, &rows, present);
    int closed = plot_data_close(r, f, name);
    if (rc || (rc = closed) || rows == 0) return rc;
    char extra[96];
    /* a series never measured is left out rather than drawn as an empty slot */
    snprintf(extra, sizeof extra, "has_dense=%d; has_folded=%d; has_unfolded=%d", present[0], present[1], present[2]);
    char seeds[96];
    if ((rc = seeds_phrase(r, experiment, seeds, sizeof seeds))) return rc;
    snprintf(title, sizeof title, "Decode speed by variant: %s (mean ± std over seeds; %s)", experiment, seeds);
    return plot_draw(r, "decode.gp", name, title, extra);
}

/* ---- decode parity: folded / dense against the preset ------------------------------ */

enum { PARITY_COMBOS = 7 };   /* parity_figures' positions */

/* One row per scale, smallest model first: label, then mean and std of each combination
 * (NaN: not measured). present[c]: combination c has a value somewhere. */
static int parity_data(Report *r, const char *experiment, FILE *f, int *rows, int present[PARITY_COMBOS]) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT scale, position, ratio FROM parity_figures WHERE experiment = ?1 "
                           "ORDER BY d_model, n_layers, scale, position", &st), step;
    if (rc) return rc;
    if ((rc = store_bind_texts(r->store, st, &experiment, 1))) return store_finish(st, rc);
    fprintf(f, "# scale, then mean and std of folded / dense decode speed for each of %d weights / table "
               "dtype combinations (parity_figures' positions)\n", PARITY_COMBOS);
    char scale[128] = "";
    double values[PARITY_COMBOS][64];
    int counts[PARITY_COMBOS] = {0}, any = 0;
    for (;;) {
        step = store_step(r->store, st);
        const char *next = step == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (any && (!next || strcmp(next, scale))) {   /* the scale before is complete */
            fprintf(f, "\"%s\"", scale);
            for (int c = 0; c < PARITY_COMBOS; c++) {
                Stat s = stat_of(values[c], counts[c]);
                if (!counts[c]) fprintf(f, " NaN 0");
                else fprintf(f, " %.4f %.4f", s.mean, isnan(s.std) ? 0.0 : s.std);
                present[c] |= counts[c] > 0;
                counts[c] = 0;
            }
            fprintf(f, "\n");
            ++*rows;
            any = 0;
        }
        if (!next) break;
        snprintf(scale, sizeof scale, "%s", next);
        int c = sqlite3_column_int(st, 1);
        if (c >= 0 && c < PARITY_COMBOS && counts[c] < 64) values[c][counts[c]++] = sqlite3_column_double(st, 2);
        any = 1;
    }
    return store_finish(st, step < 0 ? -step : OK);
}

int plot_parity(Report *r, const char *experiment) {
    char clean[200], name[220], title[300];
    double measured;
    int rc = query_number(r, "SELECT count(*) FROM parity_figures WHERE experiment = ?1", &experiment, 1, &measured);
    if (rc || !(measured >= 1)) return rc;
    sanitize_name(clean, sizeof clean, experiment);
    snprintf(name, sizeof name, "parity_%s", clean);
    FILE *f = plot_data_open(r, name);
    if (!f) return ERR_FAILURE;
    int rows = 0, present[PARITY_COMBOS] = {0};
    rc = parity_data(r, experiment, f, &rows, present);
    int closed = plot_data_close(r, f, name);
    if (rc || (rc = closed) || rows == 0) return rc;
    char extra[128] = "columns='", seeds[96];
    for (int c = 0; c < PARITY_COMBOS; c++)   /* the data columns of the combinations measured */
        if (present[c]) snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%d ", 2 + 2 * c);
    strncat(extra, "'", sizeof extra - strlen(extra) - 1);
    if ((rc = seeds_phrase(r, experiment, seeds, sizeof seeds))) return rc;
    snprintf(title, sizeof title, "Folded / dense decode speed by preset: %s (mean ± std over seeds; %s)",
             experiment, seeds);
    return plot_draw(r, "parity.gp", name, title, extra);
}
