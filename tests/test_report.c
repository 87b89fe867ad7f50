/* The report generator over a small database of SYNTHETIC runs (made-up test data, not
 * results): table rows with mean ± std, verdicts for constructed cases (reproduced beyond
 * the seed noise, reproduced within it, not reproduced), "not run yet" for absent
 * experiments, failures in the header, the views, plots when gnuplot is present, and the
 * command's exit codes. The schema is results/schema.sql, read from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analysis/analysis.h"
#include "analysis/report.h"
#include "util/error.h"
#include "util/fileio.h"
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs of the paper fixture: table1 12, table3 6, fig6 5, quant 2, table2 6, fig5 4,
 * projector 4, layers 2, and table4's failed one. */
#define N_RUNS (12 + 6 + 10 + 8 + 2 + 6 + 4 + 4 + 2 + 1)   /* fig6: 10 tiny, 8 small */

typedef struct {
    char dir[64], db[128], out[128];
    sqlite3 *handle;
    int next_hash, no_schema;
    char *report;
} Fixture;

typedef struct {
    const char *name;
    double value;
} Figure;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) { return remove(path); }

static void exec_sql(sqlite3 *db, const char *sql) {
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    if (rc != SQLITE_OK) fprintf(stderr, "sql failed: %s\n%s\n", message, sql);
    sqlite3_free(message);
    assert_int_equal(rc, SQLITE_OK);
}

/* Binds the texts and runs one statement. */
static void run_sql(sqlite3 *db, const char *sql, const char *const *texts, int n) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < n; i++) assert_int_equal(sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_TRANSIENT), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static void link_run(Fixture *f, const char *hash, const char *experiment, const char *variant) {
    const char *texts[] = {hash, experiment, variant};
    run_sql(f->handle, "INSERT INTO run_experiments(hash, experiment, variant) VALUES (?1, ?2, ?3)", texts, 3);
}

/* Units as the runner records them for the figures it names; "test" for the rest. */
static const char *unit_of(const char *name) {
    if (!strcmp(name, "val_loss")) return "nats";
    if (!strcmp(name, "train_tok_s")) return "tok/s";
    return "test";
}

static void set_figure(Fixture *f, const char *hash, const char *name, double value) {
    char text[64];
    snprintf(text, sizeof text, "%.17g", value);
    const char *texts[] = {hash, name, text, unit_of(name)};
    run_sql(f->handle, "INSERT OR REPLACE INTO metrics(hash, name, value, unit) VALUES (?1, ?2, CAST(?3 AS REAL), ?4)",
            texts, 4);
}

/* A synthetic run: its row, its experiment link, its figures and a 4-point curve ending at val_loss. */
static void add_run(Fixture *f, char hash[17], const char *experiment, const char *variant, const char *config,
                    int seed, const char *status, const char *error, const Figure *figures, int n_figures) {
    char seed_text[16];
    snprintf(hash, 17, "%016x", ++f->next_hash);
    snprintf(seed_text, sizeof seed_text, "%d", seed);
    const char *texts[] = {hash, experiment, variant, config, seed_text, status, error};
    run_sql(f->handle, "INSERT INTO runs(hash, experiment, variant, config_json, seed, git_revision, host, pid, threads, "
                       "environment, status, error, started_at, finished_at) VALUES (?1, ?2, ?3, ?4, CAST(?5 AS INTEGER), "
                       "'test-revision', 'test-host', 1, 2, 'testenv', ?6, ?7, '2026-01-01T00:00:00Z', "
                       "'2026-01-01T00:01:00Z')", texts, 7);
    link_run(f, hash, experiment, variant);
    double final_loss = NAN;
    for (int i = 0; i < n_figures; i++) {
        set_figure(f, hash, figures[i].name, figures[i].value);
        if (!strcmp(figures[i].name, "val_loss")) final_loss = figures[i].value;
    }
    if (!isfinite(final_loss)) return;
    char sql[512];
    for (int step = 1; step <= 4; step++) {
        snprintf(sql, sizeof sql, "INSERT INTO curves VALUES ('%s', %d, %d, %.6f, %.6f, 0.001, 1000)", hash, step * 100,
                 step * 51200, final_loss + 0.5 * (4 - step), final_loss + 0.5 * (4 - step));
        exec_sql(f->handle, sql);
    }
}

/* A new database at path with the schema and the test machine, a transaction open. */
static void fresh_database(Fixture *f, const char *path) {
    char *schema;
    size_t bytes;
    assert_int_equal(read_file("results/schema.sql", &schema, &bytes), OK);
    assert_int_equal(sqlite3_open(path, &f->handle), SQLITE_OK);
    exec_sql(f->handle, schema);
    free(schema);
    exec_sql(f->handle, "BEGIN; INSERT INTO environment VALUES ('testenv', 'test-host', 'Test CPU 9000', 2, "
                        "'OpenBLAS test', 2, '2026-01-01T00:00:00Z')");
}

/* Canonical configs as the runner writes them (nested model keys). */
static void config(char *out, size_t size, int d_model, int n_layers, const char *kind, const char *meki) {
    snprintf(out, size, "{\"model\":{\"d_model\":%d,\"n_layers\":%d,\"vocab_size\":4096,\"memory\":\"%s\"%s%s%s},"
                        "\"train\":{\"tokens\":1000},\"measure\":{\"table_dtypes\":\"f32,q8_0\"},\"corpus\":\"bible\"}",
             d_model, n_layers, kind, meki ? ",\"meki\":{" : "", meki ? meki : "", meki ? "}" : "");
}

/* Table 1 at tiny and small; the small runs are also Fig. 7's and Table 3's dense. */
static void add_table1(Fixture *f) {
    /* tiny: MeKi better by 0.28 in every seed (reproduced); small: MeKi worse by 0.05-0.07
     * in every seed, less than the seed std but consistent by seed (paired: contradicted) */
    static const double loss[2][2][3] = {{{4.0, 4.1, 4.2}, {3.7, 3.85, 3.9}},
                                         {{3.50, 3.55, 3.60}, {3.56, 3.60, 3.67}}};
    /* folded/dense decode: tiny 0.949 on average with seed noise (inconclusive against
     * 0.95), small 0.985 (meets) */
    static const double ratio[2][3] = {{0.940, 0.949, 0.958}, {0.980, 0.985, 0.990}};
    static const double lens[2][4] = {{2.0, 1.5, 0.8, 0.0}, {1.8, 1.2, 0.6, 0.0}};
    /* a second reading of the lens (reverse KL) on which MeKi is higher at every layer */
    static const double reverse[2][4] = {{1.0, 0.8, 0.5, 0.0}, {1.3, 1.0, 0.7, 0.0}};
    const char *scales[] = {"tiny", "small"}, *kinds[] = {"none", "meki"};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2; k++)
            for (int seed = 0; seed < 3; seed++) {
                char hash[17], variant[128], json[512];
                snprintf(variant, sizeof variant, "model.preset=%s memory.kind=%s", scales[s], kinds[k]);
                config(json, sizeof json, 64 * (s + 1), 2 * (s + 1), kinds[k], k ? "\"d_mem\":8" : NULL);
                Figure figures[] = {{"val_loss", loss[s][k][seed]}, {"val_ppl", exp(loss[s][k][seed])},
                                    {"cloze_acc", 0.30 + 0.05 * k + 0.01 * seed}, {"choice_acc_norm", 0.40 + 0.01 * seed},
                                    {"rom_weights", k ? 4096.0 * 8 * 2 * (s + 1) : 0}, {"ram_params", 1e5 * (s + 1)},
                                    {"train_tok_s", 1000 + seed}, {"dense_decode_tok_s", 500 + 10 * seed},
                                    {"folded_decode_tok_s", 490 + 10 * seed}, {"folded_over_dense", ratio[s][seed]}};
                add_run(f, hash, "table1", variant, json, seed + 1, "done", NULL, figures, k ? 10 : 7);
                if (s == 0 && k == 1) set_figure(f, hash, "novel_metric", 7.0 + seed);   /* no report code names it */
                /* tiny MeKi's word items: 20 items scored by every seed, item i right when
                 * (7 i + 3 seed) mod 10 < 6, so the seeds agree on some items and not others */
                for (int item = 0; s == 0 && k == 1 && item < 20; item++) {
                    char sql[256];
                    int right = (7 * item + 3 * (seed + 1)) % 10 < 6;
                    snprintf(sql, sizeof sql, "INSERT INTO item_scores VALUES ('%s', 'word', %d, %d, %d)", hash, item,
                             right, right);
                    exec_sql(f->handle, sql);
                }
                set_figure(f, hash, "word_acc", 0.62 + 0.02 * k), set_figure(f, hash, "word_items", 400);
                if (s == 0) continue;
                snprintf(variant, sizeof variant, "memory.kind=%s", kinds[k]);
                link_run(f, hash, "fig7", variant);
                if (!k) link_run(f, hash, "table3", variant);
                for (int layer = 0; layer < 4; layer++) {
                    char name[32];
                    snprintf(name, sizeof name, "lens_kl_%d", layer);
                    set_figure(f, hash, name, lens[k][layer] * (1 + 0.01 * seed));
                    snprintf(name, sizeof name, "lens_kl_reverse_%d", layer);
                    set_figure(f, hash, name, reverse[k][layer] * (1 + 0.01 * seed));
                }
                /* a third reading where MeKi is higher at layers 0 and 1 by a little (p 0.029
                 * and 0.049 alone) and no different at layer 2: contradicted layer by layer,
                 * not after Holm over the three layers */
                static const double higher[3][3] = {{0.07, 0.10, 0.13}, {0.06, 0.10, 0.14}, {-0.05, 0.0, 0.08}};
                for (int layer = 0; layer < 3; layer++) {
                    char name[32];
                    snprintf(name, sizeof name, "lens_kl_no_norm_%d", layer);
                    set_figure(f, hash, name, 1.0 + 0.01 * seed + (k ? higher[layer][seed] : 0));
                }
            }
}

/* Table 3's MeKi types at small: both beats static by less than the seed std. */
static void add_table3(Fixture *f) {
    /* both vs static: -0.005 on average, +0.01 and -0.02 by seed: inconclusive */
    static const struct { const char *type; double loss[2]; } TYPES[] = {
        {"static", {3.60, 3.64}}, {"dynamic", {3.58, 3.60}}, {"both", {3.61, 3.62}}};
    for (int t = 0; t < 3; t++)
        for (int seed = 0; seed < 2; seed++) {
            char hash[17], variant[128], json[512], meki[128];
            snprintf(variant, sizeof variant, "memory.kind=meki meki.memory=%s", TYPES[t].type);
            snprintf(meki, sizeof meki, "\"d_mem\":16,\"memory\":\"%s\"", TYPES[t].type);
            config(json, sizeof json, 128, 4, "meki", meki);
            Figure figures[] = {{"val_loss", TYPES[t].loss[seed]}, {"rom_weights", 4096.0 * 16 * 4}};
            add_run(f, hash, "table3", variant, json, seed + 1, "done", NULL, figures, 2);
        }
}

/* Fig. 6 at tiny: loss 4.5 - 0.2 log10(ROM weights) plus fixed noise, two seeds per width
 * (a straight line within the seeds' spread); at small: a loss that falls and then stays
 * flat, two seeds per width (the line misses the means: lack of fit). */
static void add_fig6(Fixture *f) {
    static const double noise[5][2] = {{0.01, -0.01}, {-0.02, 0.0}, {0.015, 0.005}, {0.0, -0.012}, {0.008, -0.004}};
    static const double curve[4][2] = {{3.00, 3.01}, {2.50, 2.51}, {2.45, 2.44}, {2.44, 2.45}};
    for (int i = 0, m = 4; m <= 64; m *= 2, i++)
        for (int seed = 0; seed < 2; seed++) {
            char hash[17], variant[128], json[512], meki[64];
            double rom = 2.0 * 4096 * m;
            snprintf(variant, sizeof variant, "model.preset=tiny meki.d_mem=%d", m);
            snprintf(meki, sizeof meki, "\"d_mem\":%d", m);
            config(json, sizeof json, 64, 2, "meki", meki);
            Figure figures[] = {{"val_loss", 4.5 - 0.2 * log10(rom) + noise[i][seed]}, {"rom_weights", rom}};
            add_run(f, hash, "fig6", variant, json, seed + 1, "done", NULL, figures, 2);
            if (i >= 4) continue;
            snprintf(variant, sizeof variant, "model.preset=small meki.d_mem=%d", m);
            config(json, sizeof json, 128, 4, "meki", meki);
            Figure bent[] = {{"val_loss", curve[i][seed]}, {"rom_weights", 4 * rom}};
            add_run(f, hash, "fig6", variant, json, seed + 1, "done", NULL, bent, 2);
        }
}

/* Quant: q8 0.4% above f32 (within 0.5%), q4 4% above (beyond 3%), each with a small
 * spread by seed (a constant change would be "no spread observed"); decode measured
 * through the f32 table, as the sweep does. q8_0 RAM weights (issue 18): 1.5x the folded
 * f32 speed and 0.2% above its perplexity in every run. */
static void add_quant(Fixture *f) {
    for (int seed = 0; seed < 2; seed++) {
        char hash[17], json[512];
        double base = 50 + seed, tok_s = 400 + 10 * seed;
        config(json, sizeof json, 64, 2, "meki", "\"d_mem\":8");
        Figure figures[] = {{"val_loss", 3.9}, {"bundle_val_ppl_f32", base}, {"bundle_val_ppl_q8_0", base * (1.004 + 1e-5 * seed)},
                            {"bundle_val_ppl_q4_0", base * (1.04 + 1e-4 * seed)}, {"rom_bytes_f32", 262144}, {"rom_bytes_q8_0", 69632},
                            {"rom_bytes_q4_0", 40960}, {"folded_decode_tok_s", tok_s},
                            {"dense_decode_tok_s", 420}, {"folded_ram_weights_bytes", 1048576},
                            {"folded_decode_tok_s_weights_q8_0", tok_s * 1.5}, {"dense_decode_tok_s_weights_q8_0", 630},
                            {"folded_ram_weights_bytes_weights_q8_0", 278528},
                            {"bundle_val_ppl_weights_q8_0", base * 1.002}};
        add_run(f, hash, "quant", "base", json, seed + 1, "done", NULL, figures, 14);
    }
}

/* One MeKi option per variant (a one-axis sweep) at the small size, with its losses by seed. */
/* resolved: the value as the config records it, when it differs from the written one (a
 * layer placement "last:1" resolves to the list "3"); NULL: the same */
static void add_options(Fixture *f, const char *experiment, const char *key, const char *const *values, int n_values,
                        const double (*loss)[2], const int (*seeds)[2], int n_seeds, const char *const *resolved) {
    for (int v = 0; v < n_values; v++)
        for (int k = 0; k < n_seeds; k++) {
            char hash[17], variant[128], json[512], meki[128];
            snprintf(variant, sizeof variant, "meki.%s=%s", key, values[v]);
            snprintf(meki, sizeof meki, "\"d_mem\":16,\"%s\":\"%s\"", key, resolved ? resolved[v] : values[v]);
            config(json, sizeof json, 128, 4, "meki", meki);
            Figure figures[] = {{"val_loss", loss[v][k]}, {"rom_weights", 4096.0 * 16 * 4}};
            add_run(f, hash, experiment, variant, json, seeds[v][k], "done", NULL, figures, 2);
        }
}

/* Table 2 (2 seeds), Fig. 5 (one seed: nothing can be concluded), the projector (seeds
 * 1, 2 against 3, 4: unpaired, Welch) and the layer sets (one seed). */
static void add_other_paper_experiments(Fixture *f) {
    static const char *const kinds[] = {"ple", "engram", "meki"};
    static const double peers[3][2] = {{3.70, 3.72}, {3.65, 3.68}, {3.55, 3.56}};
    for (int k = 0; k < 3; k++)
        for (int seed = 0; seed < 2; seed++) {
            char hash[17], variant[64], json[512];
            snprintf(variant, sizeof variant, "memory.kind=%s", kinds[k]);
            config(json, sizeof json, 128, 4, kinds[k], k == 2 ? "\"d_mem\":16" : NULL);
            Figure figures[] = {{"val_loss", peers[k][seed]}, {"rom_weights", 4096.0 * 16 * 4}};
            add_run(f, hash, "table2", variant, json, seed + 1, "done", NULL, figures, 2);
        }
    static const char *const fusions[] = {"add_sigmoid", "mul_sigmoid", "add_silu", "mul_silu"};
    static const double fusion_loss[4][2] = {{3.60}, {3.62}, {3.63}, {3.65}};
    static const int one_seed[4][2] = {{1}, {1}, {1}, {1}};
    add_options(f, "fig5", "fusion", fusions, 4, fusion_loss, one_seed, 1, NULL);
    static const char *const projectors[] = {"swiglu", "linear"};
    static const double projector_loss[2][2] = {{3.60, 3.61}, {3.70, 3.72}};
    static const int unpaired[2][2] = {{1, 2}, {3, 4}};
    add_options(f, "projector", "projector", projectors, 2, projector_loss, unpaired, 2, NULL);
    static const char *const layer_sets[] = {"all", "last:1"}, *const resolved_sets[] = {"all", "3"};
    static const double layer_loss[2][2] = {{3.60}, {3.66}};
    add_options(f, "layers", "layers", layer_sets, 2, layer_loss, one_seed, 1, resolved_sets);
}

static void build_database(Fixture *f) {
    char *schema;
    size_t bytes;
    int rc = read_file("results/schema.sql", &schema, &bytes);
    if (rc) fprintf(stderr, "test_report: %s (run from the repository root)\n", error_message());
    assert_int_equal(rc, OK);
    assert_int_equal(sqlite3_open(f->db, &f->handle), SQLITE_OK);
    exec_sql(f->handle, schema);
    free(schema);
    exec_sql(f->handle, "BEGIN; INSERT INTO environment VALUES ('testenv', 'test-host', 'Test CPU 9000', 2, "
                        "'OpenBLAS test', 2, '2026-01-01T00:00:00Z')");
    add_table1(f);
    add_table3(f);
    add_fig6(f);
    add_quant(f);
    add_other_paper_experiments(f);
    char hash[17], json[512];
    config(json, sizeof json, 128, 4, "meki", "\"position\":\"after_ffn\"");
    add_run(f, hash, "table4", "meki.position=after_ffn", json, 1, "failed", "out of memory | test", NULL, 0);
    exec_sql(f->handle, "COMMIT");
    assert_int_equal(sqlite3_close(f->handle), SQLITE_OK);
    f->handle = NULL;
}

static int gnuplot_present(void) { return system("gnuplot --version >/dev/null 2>&1") == 0; }

/* noinline: inlined, gcc's -Wdangling-pointer took the returned text for the local that held it */
__attribute__((noinline)) static char *slurp(const char *path) {
    char *text;
    size_t bytes;
    assert_int_equal(read_file(path, &text, &bytes), OK);
    return text;
}

/* Commits the fixture's transaction, writes the report of db into out (no plots) and
 * returns report.md. */
static char *commit_and_report(Fixture *f, const char *db, const char *out) {
    char path[300];
    exec_sql(f->handle, "COMMIT");
    assert_int_equal(sqlite3_close(f->handle), SQLITE_OK);
    f->handle = NULL;
    ReportOptions o = {db, out, "analysis", ""};
    assert_int_equal(analysis_report(&o, NULL), OK);
    snprintf(path, sizeof path, "%s/report.md", out);
    return slurp(path);
}

/* The first line of text that starts with prefix (a copy), or fails the test. */
static char *line_with(const char *text, const char *prefix) {
    char needle[512];
    snprintf(needle, sizeof needle, "\n%s", prefix);
    const char *start = strstr(text, needle);
    if (!start) fprintf(stderr, "report lacks a line starting: %s\n", prefix);
    assert_non_null(start);
    start++;
    const char *end = strchr(start, '\n');
    if (!end) end = start + strlen(start);
    char *line = strndup(start, (size_t)(end - start));
    assert_non_null(line);
    return line;
}

static void expect_line(const char *text, const char *needle, const char *also, const char *also2) {
    char *line = line_with(text, needle);
    const char *wanted[] = {also, also2};
    for (int i = 0; i < 2; i++) {
        if (!wanted[i]) continue;
        if (!strstr(line, wanted[i])) fprintf(stderr, "line lacks '%s': %s\n", wanted[i], line);
        assert_non_null(strstr(line, wanted[i]));
    }
    free(line);
}

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/meki_report_XXXXXX");
    if (!f || !mkdtemp(f->dir)) return -1;
    snprintf(f->db, sizeof f->db, "%s/meki.db", f->dir);
    snprintf(f->out, sizeof f->out, "%s/results", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    if (getenv("MEKI_KEEP_TEST_DIR")) fprintf(stderr, "kept %s\n", f->dir);
    else nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->report);
    free(f);
    return 0;
}

/* Builds the database and writes the report once for the tests that read it. */
static int setup_report(void **state) {
    if (setup(state)) return -1;
    Fixture *f = *state;
    if (!file_exists("results/schema.sql")) {
        /* the schema comes with the runner; without it the database tests cannot run */
        fprintf(stderr, "test_report: results/schema.sql missing: database tests SKIPPED\n");
        f->no_schema = 1;
        return 0;
    }
    build_database(f);
    struct stat before, after;
    assert_int_equal(stat(f->db, &before), 0);
    ReportOptions o = {f->db, f->out, "analysis", gnuplot_present() ? "gnuplot" : ""};
    ReportSummary s;
    int rc = analysis_report(&o, &s);
    if (rc) fprintf(stderr, "report: %s\n", error_message());
    assert_int_equal(rc, OK);
    assert_int_equal(stat(f->db, &after), 0);
    assert_true(before.st_size == after.st_size && before.st_mtime == after.st_mtime);   /* read-only */
    assert_int_equal(s.runs, N_RUNS);
    assert_int_equal(s.failed, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/report.md", f->out);
    f->report = slurp(path);
    return 0;
}

static void test_table_rows_have_mean_and_std(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    /* tiny: dense 4.0, 4.1, 4.2 and MeKi 3.7, 3.85, 3.9 -> 4.1000 ± 0.1000 and 3.8167 ± 0.1041 */
    expect_line(f->report, "| tiny | 0.6B | 4.1000 ± 0.1000 | 3.8167 ± 0.1041 |", "0.949 ± 0.009", "53.0 / 55.5");
    expect_line(f->report, "| small | 1.7B | 3.5500 ± 0.0500 | 3.6100 ± 0.0557 |", NULL, NULL);
    /* Table 3's dense is table1's small dense, linked to both experiments */
    expect_line(f->report, "| dense | 53.0 | 3 | 3.5500 ± 0.0500 |", NULL, NULL);
    expect_line(f->report, "| static only | 54.8 | 2 | 3.6200 ± 0.0283 |", NULL, NULL);
    expect_line(f->report, "| f32 | 256 KiB | 2 | 50.500 ± 0.707 | 0.00 ± 0.00 % | 405.0 ± 7.1 |", NULL, NULL);
    expect_line(f->report, "| q8_0 | 68 KiB | 2 | 50.702 ± 0.710 | 0.40 ± 0.00 % | – |", NULL, NULL);
    /* a layer placement as the experiment wrote it, not the list it resolved to */
    expect_line(f->report, "| last:1 | – | 1 | 3.6600 ", NULL, NULL);
}

/* The verdict of each constructed case, with the interval and the test that decided it. */
static void test_verdicts(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    /* MeKi better by 0.25-0.30 in every seed: paired differences -0.2833 ± 0.0289, t(2) */
    expect_line(f->report, "| tiny: MeKi beats dense (val loss) |", "**reproduced**", "[-0.3550, -0.2116]");
    expect_line(f->report, "| tiny: MeKi beats dense (val loss) |", "paired by seed, df 2", "3 pairs");
    expect_line(f->report, "| tiny: MeKi beats dense (val loss) |", "| MeKi: 3 done; dense: 3 done |", NULL);
    /* MeKi worse by 0.05-0.07 in every seed, under one seed std: the wrong way, beyond doubt */
    expect_line(f->report, "| small: MeKi beats dense (val loss) |", "**contradicted**", "[+0.0352, +0.0848]");
    /* both vs static: -0.005 with by-seed differences +0.01 and -0.02: the old report said
     * "reproduced"; the interval includes zero */
    expect_line(f->report, "| both (MeKi) beats static only (val loss) |", "**inconclusive**", "paired by seed, df 1");
    /* static (seeds 1, 2) vs dense (seeds 1-3): paired on the two shared seeds (differences
     * +0.10, +0.09: the wrong way), dense's seed 3 shown unpaired; Welch said inconclusive */
    expect_line(f->report, "| static only beats dense (val loss) |", "**contradicted**", "2 pairs (unpaired: +0 / +1)");
    expect_line(f->report, "| static only beats dense (val loss) |", "paired by seed, df 1", "[+0.0315, +0.1585]");
    /* zero-shot avg +2.5 points in every seed (issue 25's real case): no spread observed */
    expect_line(f->report, "| tiny: MeKi beats dense (zero-shot avg) |", "**inconclusive**", "none: no spread observed");
    expect_line(f->report, "| tiny: MeKi beats dense (zero-shot avg) |", "unknown (no spread observed)", NULL);
    /* one seed per side: no interval, never more than inconclusive, no power estimate */
    expect_line(f->report, "| add_sigmoid beats mul_sigmoid (val loss) |", "**inconclusive**", "none: one seed on a side");
    expect_line(f->report, "| add_sigmoid beats mul_sigmoid (val loss) |", "unknown (needs 2 seeds to estimate)", "1 / 1");
    expect_line(f->report, "| SwiGLU beats linear (val loss) |", "Welch", "2 / 2");
    /* a noisy line: scipy.stats.linregress over the 10 runs (x = log10 ROM weights), the
     * interval slope ± t.ppf(0.975, 8) * stderr, lack of fit F = ((SSE - SSPE) / 3) / (SSPE / 5) */
    expect_line(f->report, "| tiny: val loss falls log-linearly with ROM weights |", "**reproduced**",
                "slope -0.1973 nats / 10× ROM");   /* slope -0.19734245752409008 */
    expect_line(f->report, "| tiny: val loss falls log-linearly with ROM weights |", "[-0.2170, -0.1777]",
                "slope t, df 8");                  /* -0.21701114495061286, -0.1776737700975673 */
    expect_line(f->report, "| tiny: val loss falls log-linearly with ROM weights |", "10 runs, 5 widths",
                "lack of fit F(3, 5) = 1.29, p 0.37");   /* F 1.2929292929292489, f.sf -> 0.373027160707757 */
    /* falls, then flat: the slope is below zero but the line misses the means (F 1394.4,
     * f.sf(1394.4, 2, 4) = 2.05e-06): not log-linear, inconclusive */
    expect_line(f->report, "| small: val loss falls log-linearly with ROM weights |", "**inconclusive**",
                "lack of fit F(2, 4) = 1394.40, p 2.1e-06");
    expect_line(f->report, "| MeKi's logit-lens KL is lower at every layer (reading after_block) |", "**reproduced**",
                "lower at 3 of 3 layers");
    expect_line(f->report, "| MeKi's logit-lens KL is lower at every layer (reading reverse) |", "**contradicted**",
                "lower at 0 of 3 layers");
    expect_line(f->report, "**Reading reverse**", "KL(lens ‖ final)", NULL);
    /* the word task: items as the unit. MeKi's 20 item means over 3 seeds:
     * ttest_1samp(means, 0.5).confidence_interval() = [0.5359769800732251, 0.6640230199267746] */
    expect_line(f->report, "| word | tiny meki | 3 | 400 | 60.0 [53.6, 66.4] | items |", "| 64.0 ± 0.0 | 50 | above |", NULL);
    /* dense has no item scores: seeds as the unit, and 62% in every seed is no spread (the
     * old pooled Wilson interval over 1200 "items" claimed [59.2, 64.7]) */
    expect_line(f->report, "| word | tiny dense | 3 | 400 | 62.0 (no interval: no spread observed) | seeds (no item scores) |",
                "| 62.0 ± 0.0 | 50 | unknown |", NULL);
    expect_line(f->report, "| 1 | 1.5150 ± 0.0150 | 1.2120 ± 0.0120 |", "reproduced", "3 pairs");
    expect_line(f->report, "| q8_0 table: perplexity within 0.5% of f32 |", "**meets**", NULL);
    expect_line(f->report, "| q4_0 table: perplexity within 3.0% of f32 |", "**misses**", NULL);
    /* the RAM weights table: f32 is its own baseline, q8_0 1.5x faster and 0.2% above */
    expect_line(f->report, "| f32 | 1 MiB | 2 | 405.0 ± 7.1 | 420.0 ± 0.0 | 1.000 ± 0.000 |", "| 0.00 ± 0.00 % |", NULL);
    expect_line(f->report, "| q8_0 | 272 KiB | 2 | 607.5 ± 10.6 | 630.0 ± 0.0 | 1.500 ± 0.000 |", "| 0.20 ± 0.00 % |",
                NULL);
    /* 0.949 ± 0.009 over 3 seeds against 0.95: the interval holds the bound */
    expect_line(f->report, "| tiny: folded MeKi decodes at ≥ 95% of dense speed |", "**inconclusive**",
                "against the bound 0.950");
    expect_line(f->report, "| small: folded MeKi decodes at ≥ 95% of dense speed |", "**meets**", NULL);
    /* Holm over the report: small's contradiction (p 0.0091) does not survive the family,
     * and both verdicts are shown, in the section and in the summary */
    expect_line(f->report, "| small: MeKi beats dense (val loss) |", "| **contradicted** |",
                "| contradicted → **inconclusive** |");
    expect_line(f->report, "| Table 1 | small: MeKi beats dense (val loss) | **contradicted** |",
                "| contradicted → **inconclusive** |", NULL);
    expect_line(f->report, "Family for Holm's correction: the ", "finding(s) of this report with a test", NULL);
    /* Fig. 7, reading no_norm: ttest_rel per layer gives p 0.028714137642735647,
     * 0.04941362421328313, 0.8164029815913687; Holm: 0.086, 0.099, 0.82. Raw, two layers
     * contradict "lower at every layer" (the old union rule said contradicted); after Holm
     * none does: inconclusive */
    expect_line(f->report, "| MeKi's logit-lens KL is lower at every layer (reading no_norm) |", "**inconclusive**",
                "above at 2 (0 after Holm over the layers)");
    expect_line(f->report, "| 0 | 1.0100 ± 0.0100 | 1.1100 ± 0.0400 |", "| contradicted | 0.086 | inconclusive |", NULL);
    /* Fig. 7: Holm over the layers compared (the last layer's own head is no member) */
    expect_line(f->report, "| layer | dense KL (nats) |", "p (Holm over the 3 layers)", "verdict after Holm");
    expect_line(f->report, "| MeKi's logit-lens KL is lower at every layer (reading reverse) |", "(3 after Holm over the layers)",
                "every layer; Holm over 3 layers");
    /* the summary counts each verdict */
    assert_non_null(strstr(f->report, "Paper comparisons: "));
    assert_null(strstr(f->report, "not reproduced"));
}

/* The Fig. 6 fit on noisy fixtures with known answers: scipy.stats.linregress(x, y), the
 * interval slope ± t.ppf(0.975, n - 2) * stderr, and the lack-of-fit F test
 * ((SSE - SSPE) / (groups - 2)) / (SSPE / (n - groups)) with f.sf for its p. */
static void test_fig6_fit(void **state) {
    const double x[] = {1, 1, 2, 2, 3, 3, 4, 4};
    const double line[] = {3.02, 2.98, 2.81, 2.79, 2.61, 2.58, 2.41, 2.39};
    const double bent[] = {3.00, 3.01, 2.50, 2.51, 2.45, 2.44, 2.44, 2.45};
    double lo, hi;
    LineFit fit = fit_line(x, line, 8);
    fit_slope_interval(fit, &lo, &hi);
    assert_true(fabs(fit.slope - -0.20049999999999998) < 1e-12);
    assert_true(fabs(lo - -0.213467093769005) < 1e-9);
    assert_true(fabs(hi - -0.18753290623099497) < 1e-9);
    assert_true(fabs(fit_slope_p(fit) - 2.2761180756967083e-08) < 1e-12);
    LackOfFit l = lack_of_fit(x, line, 8, fit);
    assert_int_equal(l.df_lack, 2);
    assert_int_equal(l.df_pure, 4);
    assert_true(fabs(l.f - 0.042424242424244994) < 1e-9);
    assert_true(fabs(l.p - 0.9588884290607447) < 1e-9);
    fit = fit_line(x, bent, 8);
    fit_slope_interval(fit, &lo, &hi);
    assert_true(fabs(lo - -0.29204500606912065) < 1e-9);
    assert_true(fabs(hi - -0.05595499393087923) < 1e-9);
    assert_true(fabs(fit_slope_p(fit) - 0.011274366315905667) < 1e-9);
    l = lack_of_fit(x, bent, 8, fit);
    assert_true(fabs(l.f - 1394.3999999999976) < 1e-6);
    assert_true(fabs(l.p - 2.051352575731636e-06) < 1e-12);
    /* one seed per x: no pure error, the shape is untested */
    const double single_x[] = {1, 2, 3, 4};
    assert_true(isnan(lack_of_fit(single_x, line, 4, fit_line(single_x, line, 4)).p));
}

/* The seeds that would resolve an inconclusive comparison at its observed effect. */
static void test_seeds_for_power(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    char *line = line_with(f->report, "| tiny: folded MeKi decodes at ≥ 95% of dense speed |");
    const char *last = strrchr(line, '|');   /* the line ends "| N |" */
    while (last > line && last[-1] == ' ') last--;
    const char *cell = last - 1;
    while (cell > line && cell[-1] != '|') cell--;
    int seeds = atoi(cell);
    free(line);
    /* effect 0.001 / 0.009 = 0.11 seed std: hundreds of seeds */
    assert_true(seeds > 100);
}

static void test_every_paper_section(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    const char *present[] = {"table1", "table2", "table3", "table4", "fig5", "fig6", "projector", "fig7", "layers", "quant"};
    for (int i = 0; i < 10; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "(`%s`)\n\n", present[i]);
        if (!strstr(f->report, needle)) fprintf(stderr, "missing section: %s\n", present[i]);
        assert_non_null(strstr(f->report, needle));
    }
    assert_null(strstr(f->report, "Not run yet."));
    assert_int_equal(strncmp(f->report, "# MeKi at small scale: reproduction report — corpus bible\n", 60), 0);
}

static void test_absent_experiments_and_header(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    assert_non_null(strstr(f->report, "(`table4`)\n\nNo finished run yet (1 failed or diverged, 0 running)."));
    expect_line(f->report, "| table4 | meki.position=after_ffn | 1 | failed | out of memory \\| test |", NULL, NULL);
    char text[128];
    snprintf(text, sizeof text, "- git revisions (runs): test-revision (%d)", N_RUNS);
    expect_line(f->report, text, NULL, NULL);
    expect_line(f->report, "- machines: test-host: Test CPU 9000, 2 cores, 2 threads", NULL, NULL);
    snprintf(text, sizeof text, "- runs (distinct configurations): %d in total, %d done, 1 failed", N_RUNS, N_RUNS - 1);
    expect_line(f->report, text, NULL, NULL);
    expect_line(f->report, "- model shapes: d_model 64, 2 layers", "vocab 4096", "(tiny;");
    expect_line(f->report, "- token budgets: 1000 training tokens", NULL, NULL);
}

static int is_png(const char *path) {
    unsigned char magic[8] = {0};
    FILE *in = fopen(path, "rb");
    if (!in) return 0;
    size_t got = fread(magic, 1, 8, in);
    fclose(in);
    return got == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8);
}

static void test_plots_drawn(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    if (!gnuplot_present()) skip();
    const char *plots[] = {"curves_table1", "curves_table3", "decode_table1", "fig6_tiny", "fig7_lens", "quant"};
    for (int i = 0; i < 6; i++) {
        char path[256], link[128];
        snprintf(path, sizeof path, "%s/plots/%s.png", f->out, plots[i]);
        if (!is_png(path)) fprintf(stderr, "not a PNG: %s\n", path);
        assert_true(is_png(path));
        snprintf(link, sizeof link, "](plots/%s.png)", plots[i]);
        assert_non_null(strstr(f->report, link));
        /* the vector copy beside it, for papers */
        snprintf(path, sizeof path, "%s/plots/%s.svg", f->out, plots[i]);
        char *svg = slurp(path);
        assert_non_null(strstr(svg, "<svg"));
        free(svg);
    }
    assert_null(strstr(f->report, "could not be drawn"));
}

/* A metric only the runner names still reaches the report, by name, with its seed spread. */
static void test_unknown_metric_listed(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    expect_line(f->report, "| novel_metric | test | model.preset=tiny memory.kind=meki | 3 | 8 ± 1 |", NULL, NULL);
}

/* The views on their own: one row per (experiment, run), sample std per variant. */
static void test_views(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    sqlite3 *db;
    char *sql;
    size_t bytes;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(read_file("analysis/views.sql", &sql, &bytes), OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    free(sql);
    sqlite3_stmt *st;
    /* metrics by name: the long view variant_values, the attributes in variant_summary */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT v.n, m.mean, m.std, v.scale, v.memory_kind FROM variant_summary v "
                                            "JOIN variant_values m ON m.experiment = v.experiment AND "
                                            "m.variant = v.variant AND m.name = 'val_loss' "
                                            "WHERE v.experiment = 'table1' AND v.variant = 'model.preset=tiny memory.kind=none'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    assert_float_equal(sqlite3_column_double(st, 1), 4.1, 1e-12);
    assert_float_equal(sqlite3_column_double(st, 2), 0.1, 1e-12);
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "tiny");
    assert_string_equal((const char *)sqlite3_column_text(st, 4), "none");
    sqlite3_finalize(st);
    /* a run linked to three experiments is counted under each; failed runs nowhere */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM run_figures WHERE experiment = 'table3' AND "
                                            "memory_kind = 'none'), (SELECT count(*) FROM run_figures WHERE experiment = "
                                            "'table4'), (SELECT count(*) FROM run_failures)", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    assert_int_equal(sqlite3_column_int(st, 2), 1);
    sqlite3_finalize(st);
    /* table3 names no preset in its labels: its MeKi runs borrow "small" from table1's
     * runs of the same size */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT DISTINCT scale FROM run_figures WHERE experiment = 'table3'", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "small");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_missing_database_refused(void **state) {
    Fixture *f = *state;
    char missing[256];
    char out[256];
    snprintf(missing, sizeof missing, "%s/none.db", f->dir);
    snprintf(out, sizeof out, "%s/missing", f->dir);
    ReportOptions o = {missing, out, "analysis", ""};
    assert_int_equal(analysis_report(&o, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "none.db"));
    assert_false(file_exists(missing));   /* read-only: never created */
    /* a file that is not a results database */
    FILE *junk = fopen(missing, "w");
    assert_non_null(junk);
    fputs("not sqlite", junk);
    fclose(junk);
    assert_int_equal(analysis_report(&o, NULL), ERR_INPUT);
}

/* ./meki report: 0 with a summary line, 2 on a missing database or a bad flag. */
static void test_command(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    const char *meki = getenv("MEKI_BIN");
    if (!meki || access(meki, X_OK) != 0) skip();
    char command[1024];
    snprintf(command, sizeof command, "%s report --db %s --out %s/command --no-plots >%s/stdout.txt 2>&1", meki, f->db,
             f->dir, f->dir);
    int status = system(command);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(command, sizeof command, "%s report --db %s/absent.db --out %s >/dev/null 2>&1", meki, f->dir, f->out);
    status = system(command);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    snprintf(command, sizeof command, "%s report --frobnicate >/dev/null 2>&1", meki);
    status = system(command);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    char path[256];
    snprintf(path, sizeof path, "%s/stdout.txt", f->dir);
    char *out = slurp(path);
    char expected[128];
    snprintf(expected, sizeof expected, "report.md: %d runs (%d done, 1 failed or diverged)", N_RUNS, N_RUNS - 1);
    assert_non_null(strstr(out, expected));
    free(out);
}

/* A user's own experiments, none of the paper's: a 2 x 2 sweep (memory x lr, two seeds) on
 * a corpus of files, and one variant run on two corpora. */
static void build_custom_database(Fixture *f, const char *path) {
    fresh_database(f, path);
    static const char *const kinds[] = {"none", "meki"}, *const lrs[] = {"0.001", "0.003"};
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 2; l++)
            for (int seed = 1; seed <= 2; seed++) {
                char hash[17], variant[128], json[512];
                snprintf(variant, sizeof variant, "memory.kind=%s train.lr=%s", kinds[k], lrs[l]);
                snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"n_heads\":4,\"n_kv_heads\":2,"
                         "\"ffn_hidden\":192,\"vocab_size\":512,\"seq_len\":64,\"memory\":\"%s\"%s},\"train\":{"
                         "\"tokens\":16384,\"batch\":8,\"seq_len\":64,\"lr\":%s},\"corpus\":\"files\","
                         "\"corpus_hash\":\"abcdef0123456789\"}", kinds[k], k ? ",\"meki\":{\"d_mem\":16}" : "", lrs[l]);
                Figure figures[] = {{"val_loss", 5.6 - 0.3 * l - 0.05 * k + 0.01 * seed}, {"corpus_train_tokens", 13726},
                                    {"corpus_val_tokens", 4155}, {"mfu", 0.05}};
                add_run(f, hash, "lr_memory", variant, json, seed, "done", NULL, figures, 4);
            }
    /* "does MeKi help on my data?": matched seeds with noise, and the file's [analysis]
     * baseline (here MeKi, so the rows read "dense against meki") recorded by the sweep */
    static const double mine[2][3] = {{5.10, 5.20, 5.15}, {5.00, 5.13, 5.04}};
    for (int k = 0; k < 2; k++)
        for (int seed = 1; seed <= 3; seed++) {
            char hash[17], variant[64], json[512];
            snprintf(variant, sizeof variant, "memory.kind=%s", kinds[k]);
            snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"memory\":\"%s\"},\"train\":{"
                     "\"tokens\":8192},\"corpus\":\"files\",\"corpus_hash\":\"cccccccccccccccc\"}", kinds[k]);
            Figure figures[] = {{"val_loss", mine[k][seed - 1]}};
            add_run(f, hash, "my_data", variant, json, seed, "done", NULL, figures, 1);
        }
    /* seed 4 was planned too: dense's ended with a NaN loss (stored as NULL), MeKi's diverged */
    for (int k = 0; k < 2; k++) {
        char hash[17], variant[64], json[512], sql[256];
        snprintf(variant, sizeof variant, "memory.kind=%s", kinds[k]);
        snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"memory\":\"%s\"},\"train\":{"
                 "\"tokens\":8192},\"corpus\":\"files\",\"corpus_hash\":\"cccccccccccccccc\"}", kinds[k]);
        add_run(f, hash, "my_data", variant, json, 4, k ? "diverged" : "done", k ? "loss 1e9" : NULL, NULL, 0);
        snprintf(sql, sizeof sql, "INSERT INTO metrics VALUES ('%s', 'val_loss', NULL, 'nats')", hash);
        if (!k) exec_sql(f->handle, sql);
    }
    exec_sql(f->handle, "INSERT INTO experiment_plans VALUES ('my_data', 4, 8, 'memory.kind=meki')");
    static const char *const corpora[] = {"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"};
    for (int c = 0; c < 2; c++)
        for (int seed = 1; seed <= 2; seed++) {
            char hash[17], json[512];
            snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"memory\":\"meki\"},\"train\":{"
                     "\"tokens\":4096},\"corpus\":\"files\",\"corpus_hash\":\"%s\"}", corpora[c]);
            /* the second corpus prepared 100 training tokens: 4096 are 41 passes over it */
            Figure figures[] = {{"val_loss", c ? 3.0 + 0.01 * seed : 6.0 + 0.01 * seed}, {"corpus_train_tokens", 100}};
            add_run(f, hash, "two_corpora", "memory.kind=meki", json, seed, "done", NULL, figures, c ? 2 : 1);
        }
    exec_sql(f->handle, "COMMIT");
    assert_int_equal(sqlite3_close(f->handle), SQLITE_OK);
    f->handle = NULL;
}

static char *custom_report(Fixture *f, const char *name) {
    char db[256], out[256], path[300];
    snprintf(db, sizeof db, "%s/%s.db", f->dir, name);
    snprintf(out, sizeof out, "%s/%s", f->dir, name);
    build_custom_database(f, db);
    ReportOptions o = {db, out, "analysis", ""};
    int rc = analysis_report(&o, NULL);
    if (rc) fprintf(stderr, "report: %s\n", error_message());
    assert_int_equal(rc, OK);
    snprintf(path, sizeof path, "%s/report.md", out);
    return slurp(path);
}

/* The report follows the database: no paper section, the corpus named, one column per
 * swept axis, legends that carry both axes, two corpora kept apart. */
static void test_custom_experiment(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    char *report = custom_report(f, "custom");
    static const char *const paper[] = {"Table 1", "Table 2", "Table 3", "Figure 5", "Figure 6", "Figure 7",
                                        "Projector", "Not run yet", "reproduction report"};
    for (int i = 0; i < 9; i++) {
        if (strstr(report, paper[i])) fprintf(stderr, "custom report names '%s'\n", paper[i]);
        assert_null(strstr(report, paper[i]));
    }
    /* the title, the file's first line */
    assert_int_equal(strncmp(report, "# Experiment report: lr_memory, my_data, two_corpora — corpus files:aaaaaaaa and "
                                     "files:abcdef01 and files:bbbbbbbb and files:cccccccc\n", 135), 0);
    expect_line(report, "- corpus (from each run's identity): ", "files:abcdef01: content hash abcdef0123456789, 8 runs",
                "13726 training tokens");
    expect_line(report, "- model shapes: d_model 64, 2 layers, 4 heads (2 KV), FFN 192, vocab 512, context 64", "(the tiny preset's shape; 8 runs)", NULL);
    /* the budgets with their passes over the corpus (tokens / corpus_train_tokens); none
     * where the corpus size was not recorded */
    expect_line(report, "- token budgets: ", "16384 training tokens (1.2 epochs of the corpus), batch 8 x 64 tokens (8 runs)", NULL);
    expect_line(report, "- token budgets: ", "4096 training tokens (41 epochs of the corpus), batch ? x ? tokens (2 runs)",
                "4096 training tokens, batch ? x ? tokens (2 runs)");
    expect_line(report, "| memory.kind | train.lr | n | val loss (nats) |", "MFU %", NULL);
    expect_line(report, "| none (dense) | 0.003 | 2 | 5.3150 ± 0.0071 |", NULL, NULL);
    /* the curves' legends (the .dat file's block labels) name both axes */
    char path[300];
    snprintf(path, sizeof path, "%s/custom/plots/curves_lr_memory.dat", f->dir);
    char *data = slurp(path);
    const char *labels[] = {"\"dense lr=0.001\"", "\"dense lr=0.003\"", "\"meki lr=0.001\"", "\"meki lr=0.003\""};
    for (int i = 0; i < 4; i++) {
        if (!strstr(data, labels[i])) fprintf(stderr, "no legend %s\n", labels[i]);
        assert_non_null(strstr(data, labels[i]));
    }
    free(data);
    /* two corpora under one variant label: kept apart, and said so */
    assert_non_null(strstr(report, "**Runs of 2 corpora**, kept apart"));
    expect_line(report, "| meki | files:aaaaaaaa | 2 | 6.0150 ± 0.0071 |", NULL, NULL);
    expect_line(report, "| meki | files:bbbbbbbb | 2 | 3.0150 ± 0.0071 |", NULL, NULL);
    /* issue 25: every experiment compares its variants with a baseline. lr_memory: the
     * dense variant by default, per learning rate; a constant -0.05 is no spread */
    expect_line(report, "Against the baseline `memory.kind=none` (the dense variant (default))", NULL, NULL);
    expect_line(report, "| meki lr=0.001 | dense lr=0.001 | val loss | -0.0500 nats none: no spread observed |",
                "| inconclusive |", "2 pairs");
    /* my_data: the recorded baseline; ttest_rel([5.10,5.20,5.15], [5.00,5.13,5.04]) gives
     * [0.04162188320596627, 0.14504478346070057], p 0.01618028350317071 */
    expect_line(report, "Against the baseline `memory.kind=meki` (the experiment file's [analysis] baseline)", NULL, NULL);
    expect_line(report, "| dense | meki | val loss | +0.0933 nats [+0.0416, +0.1450] |", "paired by seed, df 2, p 0.016",
                "| worse (runs missing) | 0.016 | worse (runs missing) |");
    /* no run drops out silently: the NaN and the diverged run are counted against the plan */
    expect_line(report, "| dense | meki | val loss |", "variant: 3 of 4 planned done, 1 done without a value (NaN or "
                "not recorded)", "baseline: 3 of 4 planned done, 1 diverged");
    /* the summary says where the answer is when no paper finding applies */
    assert_non_null(strstr(report, "each experiment's section compares its variants with its baseline"));
    free(report);
}

/* The recipe and budget experiments (issue 15): each has its own section with the gain
 * dense − MeKi and its interval per recipe and per budget, and the budget's figure data. */
static void test_recipe_and_budget_sections(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    char db[256], out[256], path[300];
    snprintf(db, sizeof db, "%s/recipe.db", f->dir);
    snprintf(out, sizeof out, "%s/recipe", f->dir);
    fresh_database(f, db);
    /* harness: MeKi better by 0.2 in every seed; reference: by 0.05, 0 and 0.1 (inconclusive) */
    static const double dense[3] = {5.0, 5.1, 5.2}, meki[2][3] = {{4.8, 4.9, 5.0}, {4.95, 5.1, 5.1}};
    static const char *const recipes[] = {"harness", "reference"}, *const kinds[] = {"none", "meki"};
    static const char *const train[] = {"\"tokens\":1000", "\"tokens\":1000,\"weight_decay_embeddings\":true,"
                                        "\"init_std\":0.014,\"scaled_init\":true"};
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 2; k++)
            for (int seed = 0; seed < 3; seed++) {
                char hash[17], variant[128], json[512];
                snprintf(variant, sizeof variant, "train.recipe=%s memory.kind=%s", recipes[r], kinds[k]);
                snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"qk_norm\":\"%s\",\"memory\":"
                         "\"%s\"},\"train\":{%s},\"corpus\":\"bible\"}", r ? "off" : "on", kinds[k], train[r]);
                Figure figures[] = {{"val_loss", k ? meki[r][seed] : dense[seed]}};
                add_run(f, hash, "recipe", variant, json, seed + 1, "done", NULL, figures, 1);
            }
    /* budgets: gains 0.1 and 0.3 in every seed */
    static const long budgets[] = {100000, 400000};
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 2; k++)
            for (int seed = 0; seed < 2; seed++) {
                char hash[17], variant[128], json[512];
                snprintf(variant, sizeof variant, "train.tokens=%ld memory.kind=%s", budgets[b], kinds[k]);
                snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"memory\":\"%s\"},\"train\":"
                         "{\"tokens\":%ld},\"corpus\":\"bible\"}", kinds[k], budgets[b]);
                Figure figures[] = {{"val_loss", 5.0 - b + 0.01 * seed - (k ? 0.1 + 0.2 * b : 0)}, {"ram_params", 50000}};
                add_run(f, hash, "budget", variant, json, seed + 1, "done", NULL, figures, 2);
            }
    char *report = commit_and_report(f, db, out);
    assert_non_null(strstr(report, "## Training recipe: MeKi's gain under the harness's and the reference's recipe"));
    /* a gain of exactly 0.2 in every seed: no spread observed, never a point interval */
    expect_line(report, "| harness | 5.1000 ± 0.1000 | 4.9000 ± 0.1000 | 3 / 3 | +0.2000 (no interval: no spread "
                "observed) | inconclusive |", NULL, NULL);
    expect_line(report, "| reference | 5.1000 ± 0.1000 | 5.0500 ± 0.0866 | 3 / 3 | +0.0500 [", "| inconclusive |", NULL);
    expect_line(report, "| Recipe | MeKi's gain survives the reference recipe (val loss) | **inconclusive** |", NULL, NULL);
    assert_non_null(strstr(report, "## MeKi's gain against training tokens (`budget`)"));
    expect_line(report, "| 100k | 2.00 | 2 / 2 |", "| +0.1000 (no interval: no spread observed) | inconclusive |", NULL);
    expect_line(report, "| 400k | 8.00 | 2 / 2 |", "| +0.3000 (no interval: no spread observed) | inconclusive |", NULL);
    expect_line(report, "| Budget | MeKi beats dense at the largest budget, 400000 tokens (val loss) | **inconclusive** |",
                NULL, NULL);
    free(report);
    snprintf(path, sizeof path, "%s/plots/budget_gain.dat", out);
    char *data = slurp(path);
    assert_non_null(strstr(data, "\n100000 0.100000 0.100000 0.100000 2\n400000 0.300000 0.300000 0.300000 2\n"));
    free(data);
}

/* A size x budget grid gets a scaling law per memory kind (synthetic losses from known laws:
 * MeKi's A is 0.7 of dense's, so its multiplier is 0.7^(-1/alpha) = 2.86 everywhere), its
 * effective parameters and the extrapolation to the paper's models; an experiment named
 * scaling with one size says why no law was fitted. */
static void test_scaling_section(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    char db[256], out[256];
    snprintf(db, sizeof db, "%s/scaling.db", f->dir);
    snprintf(out, sizeof out, "%s/scaling", f->dir);
    fresh_database(f, db);
    static const double sizes[] = {3e5, 1e6, 3e6, 1e7}, budgets[] = {1e6, 3e6, 1e7, 3e7};
    static const char *const kinds[] = {"none", "meki"};
    unsigned noise = 1;
    for (int k = 0; k < 2; k++)
        for (int n = 0; n < 4; n++)
            for (int d = 0; d < 4; d++)
                for (int seed = 1; seed <= 2; seed++) {
                    char hash[17], variant[128], json[512];
                    snprintf(variant, sizeof variant, "memory.kind=%s model.d_model=%d train.tokens=%.0f", kinds[k],
                             64 * (n + 1), budgets[d]);
                    snprintf(json, sizeof json, "{\"model\":{\"d_model\":%d,\"n_layers\":2,\"memory\":\"%s\"},\"train\":"
                             "{\"tokens\":%.0f},\"corpus\":\"bible\"}", 64 * (n + 1), kinds[k], budgets[d]);
                    noise = noise * 1103515245u + 12345u;
                    double jitter = 1 + 0.002 * (((noise >> 16) & 0x7fff) / 32767.0 - 0.5);
                    double L = (1.69 + (k ? 0.7 : 1.0) * 406.4 / pow(sizes[n], 0.34) + 410.7 / pow(budgets[d], 0.28)) * jitter;
                    Figure figures[] = {{"val_loss", L}, {"ram_params", sizes[n]}, {"rom_weights", k ? 4096.0 * 16 : 0}};
                    add_run(f, hash, "grid", variant, json, seed, "done", NULL, figures, 3);
                }
    /* budgets that scale with size (tokens per parameter, rounded up to whole steps as a
     * sweep's are): the multiplier table's columns are the ratios */
    static const double ratios[] = {2.5, 5, 10, 20};
    for (int k = 0; k < 2; k++)
        for (int n = 0; n < 3; n++)
            for (int d = 0; d < 4; d++) {
                char hash[17], variant[128], json[512];
                double D = ceil(ratios[d] * sizes[n] / 2048) * 2048;
                snprintf(variant, sizeof variant, "memory.kind=%s model.d_model=%d train.tokens_per_param=%g", kinds[k],
                         64 * (n + 1), ratios[d]);
                snprintf(json, sizeof json, "{\"model\":{\"d_model\":%d,\"n_layers\":2,\"memory\":\"%s\"},\"train\":"
                         "{\"tokens\":%.0f},\"corpus\":\"bible\"}", 64 * (n + 1), kinds[k], D);
                double L = 1.69 + (k ? 0.7 : 1.0) * 406.4 / pow(sizes[n], 0.34) + 410.7 / pow(D, 0.28);
                Figure figures[] = {{"val_loss", L}, {"ram_params", sizes[n]}};
                add_run(f, hash, "tpp", variant, json, 1, "done", NULL, figures, 2);
            }
    for (int seed = 1; seed <= 2; seed++) {
        char hash[17], json[256];
        snprintf(json, sizeof json, "{\"model\":{\"d_model\":64,\"n_layers\":2,\"memory\":\"none\"},\"train\":"
                 "{\"tokens\":1000},\"corpus\":\"bible\"}");
        Figure figures[] = {{"val_loss", 5.0}, {"ram_params", 1e6}};
        add_run(f, hash, "scaling", "memory.kind=none", json, seed, "done", NULL, figures, 2);
    }
    char *report = commit_and_report(f, db, out);
    assert_non_null(strstr(report, "### Scaling law"));
    /* dense's alpha (0.34) inside its interval: the row's alpha cell reads "0.3xxx [lo, hi]" */
    char *row = line_with(report, "| none | 32 | 4 | 4 | 0 |");
    assert_non_null(row);
    double v[15];
    assert_int_equal(sscanf(row, "| none | 32 | 4 | 4 | 0 | %lf [%lf, %lf] | %lf [%lf, %lf] | %lf [%lf, %lf]", &v[0],
                            &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]), 9);
    assert_true(v[7] <= 0.34 && 0.34 <= v[8]);
    free(row);
    /* MeKi's multiplier at N 1M, D 10M: 2.86 */
    row = line_with(report, "| N 1M |");
    assert_non_null(row);
    double m;
    assert_int_equal(sscanf(strstr(row, "|") + 1, " N 1M | %*s [%*[^]]] | %*s [%*[^]]] | %lf", &m), 1);
    assert_true(fabs(m - pow(0.7, -1 / 0.34)) < 0.3);
    free(row);
    assert_non_null(strstr(report, "| N \\ D | D 1M | D 3M | D 10M | D 30M |"));
    /* the tokens-per-parameter grid: ratios as columns, and a gain of 0.3 x 406.4 / N^0.34
     * (1.67 nats at N 300k) read as MeKi ahead at every size */
    const char *tpp = strstr(report, "| N \\ tokens per parameter | 2.5 | 5 | 10 | 20 |");
    assert_non_null(tpp);
    row = line_with(tpp, "Gain at 20 tokens per RAM parameter (dense − meki");
    assert_non_null(strstr(row, "N 300k +1.67"));
    assert_non_null(strstr(row, "N 3M"));
    assert_null(strstr(row, "N 10M"));
    assert_null(strstr(row, "] not resolved"));
    assert_null(strstr(row, "] behind"));
    free(row);
    assert_non_null(strstr(report, "| 0.6B |"));
    assert_non_null(strstr(report, "| 1.7B |"));
    /* one law for both kinds: the multiplier 2.86 at the centre, gamma and kappa near 0; at
     * 20 tokens per parameter read as ahead at every size */
    row = line_with(report, "| dense and meki | 32 + 32 |");
    assert_non_null(row);
    const char *cell = row;
    for (int bar = 0; bar < 7; bar++) cell = strchr(cell + 1, '|');   /* to "m at the centre" */
    double g[3], glo[3], ghi[3];
    assert_int_equal(sscanf(cell, "| %lf [%lf, %lf] | %lf [%lf, %lf] | %lf [%lf, %lf]", &g[0], &glo[0], &ghi[0], &g[1],
                            &glo[1], &ghi[1], &g[2], &glo[2], &ghi[2]), 9);
    assert_true(fabs(g[0] - pow(0.7, -1 / 0.34)) < 0.3);
    assert_true(glo[0] < g[0] && g[0] < ghi[0]);
    assert_true(fabs(g[1]) < 0.02 && fabs(g[2]) < 0.02);   /* 0.1% jitter: slopes near 0, not exactly */
    free(row);
    assert_non_null(strstr(tpp, "meki's multiplier m under this law at each of its sizes and budgets:\n\n"
                                "| N \\ tokens per parameter | 2.5 | 5 | 10 | 20 |"));
    row = line_with(tpp, "At 20 tokens per RAM parameter (ahead: the interval above 1");
    assert_non_null(strstr(row, "N 300k 2.8") || strstr(row, "N 300k 2.9"));
    assert_null(strstr(row, "] not resolved"));
    assert_null(strstr(row, "] behind"));
    free(row);
    const char *one_law = strstr(tpp, "**One law for dense and meki.**");
    assert_non_null(one_law);
    assert_non_null(strstr(one_law, "| 1.7B | 2.8"));   /* m 2.86 at the paper's 1.7B too */
    /* the one-size experiment named scaling */
    assert_non_null(strstr(report, "No memory kind of `scaling` has runs at 3 or more model sizes"));
    assert_non_null(strstr(report, "| none | 2 | 1 | 1 | – | not fitted: 1 model size(s) and 1 budget(s)"));
    free(report);
}

/* Runs the command line with its stdout into dir/name and returns it. */
static char *run_meki(Fixture *f, const char *args, const char *name, int *exit_code) {
    const char *meki = getenv("MEKI_BIN");
    char command[1024], path[300];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    snprintf(command, sizeof command, "%s %s >%s 2>/dev/null", meki, args, path);
    int status = system(command);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return slurp(path);
}

/* The index of the field holding column (0-based) in one CSV line; quoted fields skipped whole. */
static const char *csv_cell(const char *line, int column) {
    const char *c = line;
    for (int field = 0; field < column; field++) {
        if (*c == '"')
            for (c++; *c && !(*c == '"' && c[1] != '"'); c += *c == '"' ? 2 : 1) {}
        while (*c && *c != ',' && *c != '\n') c++;
        if (*c != ',') return NULL;
        c++;
    }
    return c;
}

/* CSV for analysis tools: params.<key> from the identity, units in the metric headers, NULL
 * cells empty; the learning curves with --curves. */
static void test_export_csv(void **state) {
    Fixture *f = *state;
    if (f->no_schema) skip();
    const char *meki = getenv("MEKI_BIN");
    if (!meki || access(meki, X_OK) != 0) skip();
    char args[512];
    int code;
    sqlite3 *db;   /* a NULL figure must come out as an empty field */
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    exec_sql(db, "INSERT INTO metrics VALUES ('0000000000000001', 'null_metric', NULL, 'test')");
    sqlite3_close(db);
    snprintf(args, sizeof args, "db export --db %s", f->db);
    char *csv = run_meki(f, args, "export.csv", &code);
    assert_int_equal(code, 0);
    char *header = strndup(csv, strcspn(csv, "\n"));
    const char *wanted[] = {"hash,experiment,variant,seed,status,", ",params.model.d_model,", ",params.model.meki.d_mem,",
                            ",params.train.tokens,", ",params.corpus,", ",val_loss [nats],", ",train_tok_s [tok/s],",
                            ",null_metric [test],", ",config_json"};
    for (int i = 0; i < 9; i++) {
        if (!strstr(header, wanted[i])) fprintf(stderr, "export header lacks %s: %s\n", wanted[i], header);
        assert_non_null(strstr(header, wanted[i]));
    }
    int null_column = 0, d_model_column = 0;
    for (const char *c = header; c < strstr(header, ",null_metric"); c++) null_column += *c == ',';
    for (const char *c = header; c < strstr(header, ",params.model.d_model,"); c++) d_model_column += *c == ',';
    const char *row = strstr(csv, "\n0000000000000001,");
    assert_non_null(row);
    const char *cell = csv_cell(row + 1, null_column + 1);
    assert_non_null(cell);
    assert_true(*cell == ',');   /* empty: the next comma at once */
    cell = csv_cell(row + 1, d_model_column + 1);
    assert_non_null(cell);
    assert_int_equal(strncmp(cell, "64,", 3), 0);   /* table1's tiny run: d_model 64 */
    free(header);
    free(csv);
    snprintf(args, sizeof args, "db export --curves --db %s", f->db);
    csv = run_meki(f, args, "curves.csv", &code);
    assert_int_equal(code, 0);
    assert_non_null(strstr(csv, "hash,experiment,variant,seed,status,step,tokens,train_loss [nats],val_loss [nats],lr,"
                                "tok_s [tok/s]\n"));
    /* table1's first run: four curve points, steps 100-400, the last at its val_loss 4.0 */
    assert_non_null(strstr(csv, "\n0000000000000001,table1,model.preset=tiny memory.kind=none,1,done,400,204800,4.0,4.0,"));
    free(csv);
}

/* One database and one report (the slow part: gnuplot) shared by every test. */
int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_rows_have_mean_and_std),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_seeds_for_power),
        cmocka_unit_test(test_fig6_fit),
        cmocka_unit_test(test_every_paper_section),
        cmocka_unit_test(test_custom_experiment),
        cmocka_unit_test(test_export_csv),
        cmocka_unit_test(test_absent_experiments_and_header),
        cmocka_unit_test(test_plots_drawn),
        cmocka_unit_test(test_unknown_metric_listed),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_recipe_and_budget_sections),
        cmocka_unit_test(test_scaling_section),
        cmocka_unit_test(test_missing_database_refused),
        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, setup_report, teardown);
}
