/* The paper's tables in the paper's layout: Table 1 (scales x dense/MeKi), Table 2 (peers
 * at matched ROM), and the one-axis ablations (Tables 3 and 4, Fig. 5, projector, layers).
 * Numbers quoted from the paper are those restated in ../shared/docs/PAPER.md. */
#include "analysis/analysis.h"
#include "analysis/report.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 8

static const char *const PAPER_SCALES[] = {"0.6B", "1.7B", "4B"};

/* Table 1 of the paper: average zero-shot accuracy and decode tok/s on the phone. */
static const struct { double dense_avg, meki_avg, dense_tok_s, meki_tok_s; } PAPER_TABLE1[] = {
    {53.0, 55.5, 20.1, 19.9}, {56.0, 59.7, 13.8, 13.7}, {60.5, 63.0, 6.1, 6.1}};

/* Table 2 of the paper: PLE, Engram, MeKi average accuracy at the same ROM budget. */
static const struct { double ple, engram, meki; } PAPER_TABLE2[] = {{53.5, 53.7, 55.5}, {57.0, 57.9, 59.7}};

typedef struct {
    const char *label, *column, *value;
    double paper;               /* the paper's average accuracy, NAN when it gives none */
} Option;

typedef struct {
    int better, worse;          /* indices into options: the paper says better beats worse */
} Claim;

typedef struct {
    const char *experiment, *section, *paper_note;
    Option options[MAX_OPTIONS];
    int n_options;
    Claim claims[MAX_OPTIONS];
    int n_claims;
} Ablation;

static const Ablation ABLATIONS[] = {
    {"table3", "Table 3", "Table 3 of the paper (0.6B, average accuracy): both 55.5 > static 54.8 ≈ dynamic 54.7 > dense 53.0.",
     {{"dense", "memory_kind", "none", 53.0},
      {"static only", "meki_memory", "static", 54.8},
      {"dynamic only", "meki_memory", "dynamic", 54.7},
      {"both (MeKi)", "meki_memory", "both", 55.5}},
     4, {{3, 1}, {3, 2}, {1, 0}, {2, 0}}, 4},
    {"table4", "Table 4", "Table 4 of the paper (0.6B, average accuracy): parallel to the FFN is best.",
     {{"parallel to FFN", "meki_position", "parallel_ffn", 55.5},
      {"parallel to attention", "meki_position", "parallel_attn", 55.1},
      {"after attention", "meki_position", "after_attn", 54.9},
      {"after FFN", "meki_position", "after_ffn", 54.7}},
     4, {{0, 1}, {0, 2}, {0, 3}}, 3},
    {"fig5", "Fig. 5", "Figure 5 of the paper: additive-sigmoid fusion has the lowest validation loss curve "
                       "(PAPER.md gives no numbers).",
     {{"add_sigmoid", "meki_fusion", "add_sigmoid", NAN},
      {"mul_sigmoid", "meki_fusion", "mul_sigmoid", NAN},
      {"add_silu", "meki_fusion", "add_silu", NAN},
      {"mul_silu", "meki_fusion", "mul_silu", NAN}},
     4, {{0, 1}, {0, 2}, {0, 3}}, 3},
    {"projector", "Projector", "The paper: a plain linear projector is worse than SwiGLU, although both fold to "
                               "the same inference cost (PAPER.md gives no numbers).",
     {{"SwiGLU", "meki_projector", "swiglu", NAN}, {"linear", "meki_projector", "linear", NAN}},
     2, {{0, 1}}, 1},
};
#define N_ABLATIONS ((int)(sizeof ABLATIONS / sizeof ABLATIONS[0]))

static const char *paper_scale(int rank, int n_paper) { return rank < n_paper ? PAPER_SCALES[rank] : "–"; }

static int has_values(Report *r, const char *experiment, const char *column, int *has) {
    Stat s;
    int rc = query_stat(r, column, experiment, NULL, 0, &s);
    *has = s.n > 0;
    return rc;
}

/* Stats of the figures a comparison table shows for one cell (a set of conditions), and
 * the per-seed values the verdicts compare. */
typedef struct {
    Stat loss, ppl, zero_shot, rom, dense_tok_s, folded_tok_s, ratio;
    Values loss_v, zero_shot_v, ratio_v;
} Cell;

static int values_query(Report *r, const char *metric, const char *experiment, const Cond *conds, int n, Values *v,
                        Stat *stat) {
    int rc = query_values(r, metric, experiment, conds, n, v);
    *stat = stat_of(v->x, rc ? 0 : v->count);
    return rc;
}

static int cell_query(Report *r, const char *experiment, const Cond *conds, int n, Cell *c) {
    int rc;
    if ((rc = values_query(r, "val_loss", experiment, conds, n, &c->loss_v, &c->loss)) ||
        (rc = query_stat(r, "val_ppl", experiment, conds, n, &c->ppl)) ||
        (rc = values_query(r, "zero_shot_avg", experiment, conds, n, &c->zero_shot_v, &c->zero_shot)) ||
        (rc = query_stat(r, "rom_weights", experiment, conds, n, &c->rom)) ||
        (rc = query_stat(r, "dense_decode_tok_s", experiment, conds, n, &c->dense_tok_s)) ||
        (rc = query_stat(r, "folded_decode_tok_s", experiment, conds, n, &c->folded_tok_s)))
        return rc;
    return values_query(r, "folded_over_dense", experiment, conds, n, &c->ratio_v, &c->ratio);
}

static void cells_free(Cell *cells, int n) {
    for (int i = 0; i < n; i++) {
        values_free(&cells[i].loss_v);
        values_free(&cells[i].zero_shot_v);
        values_free(&cells[i].ratio_v);
    }
}

/* Val loss, and zero-shot when measured: the paper's "a beats b" on both. */
static void add_comparisons(Report *r, const char *section, const char *claim, const char *paper, const char *a_name,
                            const Cell *a, const char *b_name, const Cell *b, int has_zero_shot) {
    char text[160];
    snprintf(text, sizeof text, "%s (val loss)", claim);
    finding_compare(report_add_finding(r, section, text, paper), a_name, &a->loss_v, b_name, &b->loss_v, 1, "nats", 4,
                    1);
    if (!has_zero_shot || !a->zero_shot.n || !b->zero_shot.n) return;   /* no row for a figure never measured */
    snprintf(text, sizeof text, "%s (zero-shot avg)", claim);
    finding_compare(report_add_finding(r, section, text, paper), a_name, &a->zero_shot_v, b_name, &b->zero_shot_v, 0,
                    "%", 1, 100);
}

static void table1_row(Report *r, const char *scale, int rank, const Cell *dense, const Cell *meki, int zs, int dec) {
    char a[64], b[64], c[64], d[64];
    FILE *o = r->body;
    fprintf(o, "| %s | %s | %s | %s | %s | %s ", scale, paper_scale(rank, 3),
            format_stat(a, sizeof a, dense->loss, 4, 1), format_stat(b, sizeof b, meki->loss, 4, 1),
            format_stat(c, sizeof c, dense->ppl, 2, 1), format_stat(d, sizeof d, meki->ppl, 2, 1));
    if (zs) fprintf(o, "| %s | %s ", format_stat(a, sizeof a, dense->zero_shot, 1, 100),
                    format_stat(b, sizeof b, meki->zero_shot, 1, 100));
    if (dec) fprintf(o, "| %s | %s | %s ", format_stat(a, sizeof a, meki->dense_tok_s, 1, 1),
                     format_stat(b, sizeof b, meki->folded_tok_s, 1, 1), format_stat(c, sizeof c, meki->ratio, 3, 1));
    fprintf(o, "| %s ", format_count(a, sizeof a, meki->rom.mean));
    if (rank < 3)
        fprintf(o, "| %.1f / %.1f | %.1f / %.1f |\n", PAPER_TABLE1[rank].dense_avg, PAPER_TABLE1[rank].meki_avg,
                PAPER_TABLE1[rank].dense_tok_s, PAPER_TABLE1[rank].meki_tok_s);
    else
        fprintf(o, "| – | – |\n");
}

static void table1_findings(Report *r, const char *scale, int rank, const Cell *dense, const Cell *meki, int zs,
                            int dec) {
    char claim[160], paper[96];
    snprintf(claim, sizeof claim, "%s: MeKi beats dense", scale);
    if (rank < 3) snprintf(paper, sizeof paper, "%s: %.1f → %.1f avg acc", PAPER_SCALES[rank],
                           PAPER_TABLE1[rank].dense_avg, PAPER_TABLE1[rank].meki_avg);
    else snprintf(paper, sizeof paper, "MeKi better at every scale");
    add_comparisons(r, "Table 1", claim, paper, "MeKi", meki, "dense", dense, zs);
    if (!dec) return;
    snprintf(claim, sizeof claim, "%s: folded MeKi decodes at ≥ 95%% of dense speed", scale);
    if (rank < 3) snprintf(paper, sizeof paper, "%s: %.1f vs %.1f tok/s", PAPER_SCALES[rank],
                           PAPER_TABLE1[rank].meki_tok_s, PAPER_TABLE1[rank].dense_tok_s);
    finding_bound(report_add_finding(r, "Table 1", claim, paper), "folded/dense", &meki->ratio_v, 0.95, 1, "", 3, 1);
}

#define MAX_SCALES 8

/* Cells of a scales x kinds table: cells[scale * n_kinds + kind]. */
static int grid_query(Report *r, const char *experiment, const TextList *scales, const char *const *kinds,
                      int n_kinds, Cell *cells) {
    int rc = OK;
    for (int i = 0; i < scales->count && i < MAX_SCALES && !rc; i++)
        for (int k = 0; k < n_kinds && !rc; k++) {
            Cond c[] = {{"scale", scales->items[i]}, {"memory_kind", kinds[k]}};
            rc = cell_query(r, experiment, c, 2, &cells[i * n_kinds + k]);
        }
    return rc;
}

/* The experiment's scales and whether zero-shot and decode figures were measured. */
static int grid_setup(Report *r, const char *experiment, TextList *scales, int *zs, int *dec) {
    int rc = query_scales(r, experiment, scales);
    if (!rc) rc = has_values(r, experiment, "zero_shot_avg", zs);
    if (!rc) rc = has_values(r, experiment, "folded_over_dense", dec);
    if (!rc && scales->count > MAX_SCALES)
        fprintf(r->body, "Only the %d smallest of %d scales are tabulated.\n\n", MAX_SCALES, scales->count);
    return rc;
}

int section_table1(Report *r) {
    static const char *const kinds[] = {"none", "meki"};
    TextList scales = {0};
    Cell cells[MAX_SCALES * 2] = {0};
    int zs, dec, rc = grid_setup(r, "table1", &scales, &zs, &dec);
    if (!rc) rc = grid_query(r, "table1", &scales, kinds, 2, cells);
    if (rc) { cells_free(cells, MAX_SCALES * 2); text_list_free(&scales); return rc; }
    int n = scales.count < MAX_SCALES ? scales.count : MAX_SCALES;
    fprintf(r->body, "Paper: MeKi beats dense at every scale (average zero-shot accuracy) at about the same decode "
                     "speed; MeKi-1.7B (59.7) comes close to dense 4B (60.5). Decode speeds here are the in-process "
                     "dense twin and folded MeKi of the MeKi runs.\n\n");
    fprintf(r->body, "| scale | paper scale | dense val loss | MeKi val loss | dense ppl | MeKi ppl %s%s| MeKi ROM "
                     "weights | paper avg acc dense / MeKi | paper tok/s dense / MeKi |\n|---|---|---|---|---|---%s%s|---|---|---|\n",
            zs ? "| dense zero-shot % | MeKi zero-shot % " : "",
            dec ? "| dense tok/s | MeKi tok/s | MeKi / dense " : "", zs ? "|---|---" : "", dec ? "|---|---|---" : "");
    for (int i = 0; i < n; i++) table1_row(r, scales.items[i], i, &cells[2 * i], &cells[2 * i + 1], zs, dec);
    fprintf(r->body, "\n");
    for (int i = 0; i < n; i++) table1_findings(r, scales.items[i], i, &cells[2 * i], &cells[2 * i + 1], zs, dec);
    cells_free(cells, MAX_SCALES * 2);
    text_list_free(&scales);
    return OK;
}

static void table2_row(Report *r, const char *scale, int rank, const Cell *c, int zs) {
    char a[64], b[64], d[64];
    FILE *o = r->body;
    fprintf(o, "| %s | %s | %s | %s | %s ", scale, paper_scale(rank, 2), format_stat(a, sizeof a, c[0].loss, 4, 1),
            format_stat(b, sizeof b, c[1].loss, 4, 1), format_stat(d, sizeof d, c[2].loss, 4, 1));
    if (zs) fprintf(o, "| %s | %s | %s ", format_stat(a, sizeof a, c[0].zero_shot, 1, 100),
                    format_stat(b, sizeof b, c[1].zero_shot, 1, 100), format_stat(d, sizeof d, c[2].zero_shot, 1, 100));
    fprintf(o, "| %s / ", format_count(a, sizeof a, c[0].rom.mean));
    fprintf(o, "%s / ", format_count(a, sizeof a, c[1].rom.mean));
    fprintf(o, "%s ", format_count(a, sizeof a, c[2].rom.mean));
    if (rank < 2) fprintf(o, "| %.1f / %.1f / %.1f |\n", PAPER_TABLE2[rank].ple, PAPER_TABLE2[rank].engram,
                          PAPER_TABLE2[rank].meki);
    else fprintf(o, "| – |\n");
}

static void table2_findings(Report *r, const char *scale, int rank, const Cell *c, int zs) {
    char claim[160], paper[96];
    snprintf(claim, sizeof claim, "%s: MeKi beats Engram", scale);
    if (rank < 2) snprintf(paper, sizeof paper, "%s: %.1f vs %.1f avg acc", PAPER_SCALES[rank],
                           PAPER_TABLE2[rank].meki, PAPER_TABLE2[rank].engram);
    else snprintf(paper, sizeof paper, "MeKi > Engram > PLE");
    add_comparisons(r, "Table 2", claim, paper, "MeKi", &c[2], "Engram", &c[1], zs);
    snprintf(claim, sizeof claim, "%s: Engram beats PLE", scale);
    if (rank < 2) snprintf(paper, sizeof paper, "%s: %.1f vs %.1f avg acc", PAPER_SCALES[rank],
                           PAPER_TABLE2[rank].engram, PAPER_TABLE2[rank].ple);
    add_comparisons(r, "Table 2", claim, paper, "Engram", &c[1], "PLE", &c[0], zs);
}

int section_table2(Report *r) {
    static const char *const kinds[] = {"ple", "engram", "meki"};
    TextList scales = {0};
    Cell cells[MAX_SCALES * 3] = {0};
    int zs, dec, rc = grid_setup(r, "table2", &scales, &zs, &dec);
    if (!rc) rc = grid_query(r, "table2", &scales, kinds, 3, cells);
    if (rc) { cells_free(cells, MAX_SCALES * 3); text_list_free(&scales); return rc; }
    int n = scales.count < MAX_SCALES ? scales.count : MAX_SCALES;
    fprintf(r->body, "Paper: at the same ROM budget MeKi > Engram > PLE in average accuracy at both scales.\n\n"
                     "| scale | paper scale | PLE val loss | Engram val loss | MeKi val loss %s| ROM weights PLE / "
                     "Engram / MeKi | paper avg acc PLE / Engram / MeKi |\n|---|---|---|---|---%s|---|---|\n",
            zs ? "| PLE zero-shot % | Engram zero-shot % | MeKi zero-shot % " : "", zs ? "|---|---|---" : "");
    for (int i = 0; i < n; i++) table2_row(r, scales.items[i], i, &cells[3 * i], zs);
    fprintf(r->body, "\n");
    for (int i = 0; i < n; i++) table2_findings(r, scales.items[i], i, &cells[3 * i], zs);
    cells_free(cells, MAX_SCALES * 3);
    text_list_free(&scales);
    return OK;
}

/* The layers experiment has no paper numbers: its options are the layer sets it ran. */
static int layers_ablation(Report *r, Ablation *a, TextList *values) {
    memset(a, 0, sizeof *a);
    a->experiment = "layers", a->section = "Layers";
    a->paper_note = "PAPER.md reports no numbers for this ablation; the paper's MeKi puts memory in every layer. "
                    "No verdict: the table only shows which layer sets helped here.";
    int rc = query_texts(r, "SELECT DISTINCT meki_layers FROM figures WHERE experiment = 'layers' "
                            "ORDER BY meki_layers = 'all' DESC, meki_layers", NULL, 0, values);
    for (int i = 0; i < values->count && a->n_options < MAX_OPTIONS; i++)
        a->options[a->n_options++] = (Option){values->items[i], "meki_layers", values->items[i], NAN};
    return rc;
}

static void ablation_row(Report *r, const Option *o, const Cell *c, int zs) {
    char a[64], b[64], d[64];
    fprintf(r->body, "| %s | ", o->label);
    if (isfinite(o->paper)) fprintf(r->body, "%.1f ", o->paper);
    else fprintf(r->body, "– ");
    fprintf(r->body, "| %d | %s | %s ", c->loss.n, format_stat(a, sizeof a, c->loss, 4, 1),
            format_stat(b, sizeof b, c->ppl, 2, 1));
    if (zs) fprintf(r->body, "| %s ", format_stat(d, sizeof d, c->zero_shot, 1, 100));
    fprintf(r->body, "| %s |\n", format_count(a, sizeof a, c->rom.mean));
}

/* One table of the ablation (at one scale, or over all when scale is NULL) and its claims. */
static int ablation_table(Report *r, const Ablation *a, const char *scale, int zs) {
    Cell cells[MAX_OPTIONS] = {0};
    char section[64];
    int rc = OK;
    snprintf(section, sizeof section, scale ? "%s (%s)" : "%s", a->section, scale);
    if (scale) fprintf(r->body, "Scale `%s`:\n\n", scale);
    fprintf(r->body, "| variant | paper avg acc | seeds | val loss (nats) | val ppl %s| ROM weights |\n"
                     "|---|---|---|---|---%s|---|\n", zs ? "| zero-shot avg % " : "", zs ? "|---" : "");
    for (int i = 0; i < a->n_options && !rc; i++) {
        Cond c[] = {{a->options[i].column, a->options[i].value}, {"scale", scale}};
        if (!(rc = cell_query(r, a->experiment, c, scale ? 2 : 1, &cells[i])))
            ablation_row(r, &a->options[i], &cells[i], zs);
    }
    fprintf(r->body, "\n");
    for (int i = 0; i < a->n_claims && !rc; i++) {
        const Option *better = &a->options[a->claims[i].better], *worse = &a->options[a->claims[i].worse];
        char claim[160], paper[96] = "lower loss curve (no numbers)";
        snprintf(claim, sizeof claim, "%s beats %s", better->label, worse->label);
        if (isfinite(better->paper)) snprintf(paper, sizeof paper, "%.1f vs %.1f avg acc", better->paper, worse->paper);
        add_comparisons(r, section, claim, paper, better->label, &cells[a->claims[i].better], worse->label,
                        &cells[a->claims[i].worse], zs);
    }
    cells_free(cells, MAX_OPTIONS);
    return rc;
}

/* The dense baseline, when the experiment trained one, heads the table for reference
 * (the paper's 0.6B dense scores 53.0 in Tables 1 and 3); it takes part in no claim
 * the ablation does not name. */
static int add_dense_row(Report *r, Ablation *a) {
    for (int i = 0; i < a->n_options; i++)
        if (!strcmp(a->options[i].column, "memory_kind")) return OK;
    double dense = 0;
    int rc = query_number(r, "SELECT count(*) FROM figures WHERE experiment = ?1 AND memory_kind = 'none'",
                          &a->experiment, 1, &dense);
    if (rc || !(dense > 0) || a->n_options == MAX_OPTIONS) return rc;
    memmove(&a->options[1], &a->options[0], (size_t)a->n_options * sizeof a->options[0]);
    a->options[0] = (Option){"dense", "memory_kind", "none", strcmp(a->experiment, "table4") ? NAN : 53.0};
    a->n_options++;
    for (int i = 0; i < a->n_claims; i++) a->claims[i].better++, a->claims[i].worse++;
    return OK;
}

int section_ablation(Report *r, const char *experiment) {
    Ablation a;
    TextList values = {0}, scales = {0};
    int rc = OK, zs = 0, found = 0;
    for (int i = 0; i < N_ABLATIONS && !found; i++)
        if (!strcmp(ABLATIONS[i].experiment, experiment)) a = ABLATIONS[i], found = 1;
    if (!found && !strcmp(experiment, "layers")) rc = layers_ablation(r, &a, &values), found = 1;
    if (!found) return error_set(ERR_FAILURE, "no table layout for experiment %s", experiment);
    if (!rc) rc = add_dense_row(r, &a);
    if (!rc) rc = query_scales(r, experiment, &scales);
    if (!rc) rc = has_values(r, experiment, "zero_shot_avg", &zs);
    if (!rc) fprintf(r->body, "%s\n\n", a.paper_note);
    for (int i = 0; !rc && i < scales.count; i++)
        rc = ablation_table(r, &a, scales.count > 1 ? scales.items[i] : NULL, zs);
    text_list_free(&values);
    text_list_free(&scales);
    return rc;
}

/* The per-variant table's columns: metric, header, digits, scale (100: percent), how shown
 * (0 mean ± std, 1 a count, 2 bytes), and whether it appears only where measured. */
static const struct { const char *metric, *header; int digits; double scale; int how, optional; } GENERIC_COLUMNS[] = {
    {"val_loss", "val loss (nats)", 4, 1, 0, 0}, {"val_ppl", "val ppl", 2, 1, 0, 0},
    {"zero_shot_avg", "zero-shot avg %", 1, 100, 0, 1}, {"train_tok_s", "train tok/s", 0, 1, 0, 0},
    {"mfu", "MFU %", 1, 100, 0, 1}, {"ram_params", "RAM params", 0, 1, 1, 0}, {"rom_weights", "ROM weights", 0, 1, 1, 0},
    {"rom_bytes", "ROM table bytes", 0, 1, 2, 1}, {"dense_decode_tok_s", "dense decode tok/s", 1, 1, 0, 1},
    {"folded_decode_tok_s", "folded decode tok/s", 1, 1, 0, 1}, {"peak_rss_bytes", "peak RSS", 0, 1, 2, 1}};
#define N_GENERIC_COLUMNS ((int)(sizeof GENERIC_COLUMNS / sizeof GENERIC_COLUMNS[0]))

/* An axis's value from the run's identity (the resolved configuration), which says what
 * ran whatever the label's spelling; the label's value when the identity has no such key
 * (model.preset names a shape; the corpus suffix of the views). */
static int axis_value(Report *r, const char *config, const char *key, const char *label, char *out, size_t size) {
    char section[64] = "", name[64] = "", paths[4][160];
    const char *dot = strchr(key, '.');
    snprintf(out, size, "%s", label);
    if (!dot || !config || !strcmp(key, "model.preset")) return OK;
    snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
    snprintf(name, sizeof name, "%s", dot + 1);
    if (!strcmp(key, "memory.kind")) snprintf(paths[0], sizeof paths[0], "$.model.memory");
    else snprintf(paths[0], sizeof paths[0], "$.\"%s\".\"%s\"", section, name);
    snprintf(paths[1], sizeof paths[1], "$.model.\"%s\".\"%s\"", section, name);   /* meki.d_mem and the like */
    snprintf(paths[2], sizeof paths[2], "$.model.\"%s\"", name);
    snprintf(paths[3], sizeof paths[3], "$.measure.\"%s\"", name);                  /* eval.*, bench.* */
    int first = !strcmp(section, "model") ? 2 : !strcmp(section, "eval") || !strcmp(section, "bench") ? 3 : 0;
    const char *params[] = {config, paths[first], first ? paths[first] : paths[1]};
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT coalesce(json_extract(?1, ?2), json_extract(?1, ?3))", &st), step;
    if (rc || (rc = store_bind_texts(r->store, st, params, 3))) return store_finish(st, rc);
    if ((step = store_step(r->store, st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, size, "%s", !strcmp(key, "memory.kind") && !strcmp(text, "none") ? "none (dense)" : text);
    }
    return store_finish(st, step < 0 ? -step : OK);
}

static int generic_row(Report *r, const char *experiment, const char *variant, const char *config, int n,
                       const TextList *axes, const int *shown) {
    char text[256], label[128];
    int rc;
    if (!axes->count) fprintf(r->body, "| %s ", variant);
    for (int a = 0; a < axes->count; a++) {
        label_value(label, sizeof label, variant, axes->items[a]);
        if ((rc = axis_value(r, config, axes->items[a], label, text, sizeof text))) return rc;
        fprintf(r->body, "| %s ", text[0] ? text : "–");
    }
    fprintf(r->body, "| %d ", n);
    for (int i = 0; i < N_GENERIC_COLUMNS; i++) {
        Stat s;
        if (!shown[i]) continue;
        if ((rc = query_variant_stat(r, experiment, variant, GENERIC_COLUMNS[i].metric, &s))) return rc;
        if (GENERIC_COLUMNS[i].how == 1) format_count(text, sizeof text, s.n ? s.mean : NAN);
        else if (GENERIC_COLUMNS[i].how == 2) format_bytes(text, sizeof text, s.n ? s.mean : NAN);
        else format_stat(text, sizeof text, s, GENERIC_COLUMNS[i].digits, GENERIC_COLUMNS[i].scale);
        fprintf(r->body, "| %s ", text);
    }
    fprintf(r->body, "|\n");
    return OK;
}

/* Every metric recorded for the experiment, by name, folded away under the table: a metric
 * the runner starts recording appears here with no change to the report. */
static int all_metrics(Report *r, const char *experiment) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "SELECT s.name, s.unit, s.variant, s.n, s.mean, s.std FROM variant_stats s "
                                     "JOIN variants v ON v.experiment = s.experiment AND v.variant = s.variant "
                                     "WHERE s.experiment = ?1 ORDER BY s.name, " VARIANT_ORDER, &st), step, rows = 0;
    if (rc || (rc = store_bind_texts(r->store, st, &experiment, 1))) return store_finish(st, rc);
    while ((step = store_step(r->store, st)) == SQLITE_ROW) {
        if (!rows++) fprintf(r->body, "<details><summary>Every recorded metric of <code>%s</code> (mean, ± sample std "
                                      "where n ≥ 2)</summary>\n\n| metric | unit | variant | seeds | value |\n"
                                      "|---|---|---|---|---|\n", experiment);
        char value[64];
        int n = sqlite3_column_int(st, 3);
        if (n > 1 && sqlite3_column_type(st, 5) != SQLITE_NULL)
            snprintf(value, sizeof value, "%.6g ± %.2g", sqlite3_column_double(st, 4), sqlite3_column_double(st, 5));
        else snprintf(value, sizeof value, "%.6g", sqlite3_column_double(st, 4));
        fprintf(r->body, "| %s | %s | %s | %d | %s |\n", (const char *)sqlite3_column_text(st, 0),
                sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "",
                (const char *)sqlite3_column_text(st, 2), n, value);
    }
    if (rows) fprintf(r->body, "\n</details>\n\n");
    return store_finish(st, step < 0 ? -step : OK);
}

int section_generic(Report *r, const char *experiment) {
    TextList variants = {0}, configs = {0}, counts = {0}, axes = {0};
    int shown[N_GENERIC_COLUMNS], rc = OK;
    for (int i = 0; i < N_GENERIC_COLUMNS && !rc; i++) {
        shown[i] = 1;
        if (GENERIC_COLUMNS[i].optional) rc = has_values(r, experiment, GENERIC_COLUMNS[i].metric, &shown[i]);
    }
    static const char *const SQL[] = {
        "SELECT variant FROM variants v WHERE experiment = ?1 ORDER BY " VARIANT_ORDER,
        "SELECT (SELECT u.config_json FROM figures f JOIN runs u ON u.hash = f.hash WHERE f.experiment = v.experiment "
        "AND f.variant = v.variant ORDER BY f.hash LIMIT 1) FROM variants v WHERE experiment = ?1 ORDER BY " VARIANT_ORDER,
        "SELECT n FROM variants v WHERE experiment = ?1 ORDER BY " VARIANT_ORDER};
    if (!rc) rc = query_texts(r, SQL[0], &experiment, 1, &variants);
    if (!rc) rc = query_texts(r, SQL[1], &experiment, 1, &configs);
    if (!rc) rc = query_texts(r, SQL[2], &experiment, 1, &counts);
    if (!rc && (configs.count != variants.count || counts.count != variants.count))
        rc = error_set(ERR_FAILURE, "%s: a variant without a finished run's configuration", experiment);
    if (!rc) label_axes(&variants, &axes);
    if (!rc) {
        fprintf(r->body, "Every variant of `%s`, one column per swept axis (values from the runs' resolved "
                         "configurations); n = finished seeds:\n\n", experiment);
        if (!axes.count) fprintf(r->body, "| variant ");
        for (int a = 0; a < axes.count; a++) fprintf(r->body, "| %s ", axes.items[a]);
        fprintf(r->body, "| n ");
        for (int i = 0; i < N_GENERIC_COLUMNS; i++)
            if (shown[i]) fprintf(r->body, "| %s ", GENERIC_COLUMNS[i].header);
        fprintf(r->body, "|\n");
        for (int a = 0; a < (axes.count ? axes.count : 1) + 1; a++) fprintf(r->body, "|---");
        for (int i = 0; i < N_GENERIC_COLUMNS; i++)
            if (shown[i]) fprintf(r->body, "|---");
        fprintf(r->body, "|\n");
    }
    for (int v = 0; !rc && v < variants.count; v++)
        rc = generic_row(r, experiment, variants.items[v], configs.items[v], atoi(counts.items[v]), &axes, shown);
    if (!rc) fprintf(r->body, "\n");
    text_list_free(&variants), text_list_free(&configs), text_list_free(&counts), text_list_free(&axes);
    return rc ? rc : all_metrics(r, experiment);
}
