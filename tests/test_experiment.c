/* Experiment files: every kind of bad file is refused naming its line; presets, overrides,
 * grids and hashes resolve the same way whatever the order of the keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "models/meki.h"
#include "models/model.h"
#include "kernels/gemm.h"
#include "runner/experiment.h"
#include "data/debian.h"
#include "data/tokenizer.h"
#include "data/tokenizer_json.h"
#include "kernels/wquant.h"
#include "util/error.h"

static char temp_dir[] = "/tmp/meki-test-experiment-XXXXXX";

static const char *write_ini(const char *name, const char *text) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static ExperimentConfig *load_ok(const char *text) {
    ExperimentConfig *exp = malloc(sizeof *exp);
    const char *path = write_ini("ok.ini", text);
    int rc = experiment_load(exp, path);
    if (rc) fprintf(stderr, "unexpected error: %s\n", error_message());
    assert_int_equal(rc, OK);
    return exp;
}

static void release(ExperimentConfig *exp) {
    experiment_free(exp);
    free(exp);
}

#define HEAD "[experiment]\nname = t\n"   /* two lines: the bad key of each case is on line 3+ */

typedef struct {
    const char *what, *text;
    int line;
    const char *message;
} BadFile;

static const BadFile BAD_FILES[] = {
    {"unknown key", HEAD "[model]\ndmodel = 64\n", 4, "unknown key 'dmodel' in [model]"},
    {"unknown experiment key", HEAD "seed = 1\n", 3, "unknown key 'seed' in [experiment]"},
    {"unknown section", HEAD "[modle]\nd_model = 64\n", 3, "unknown section [modle]"},
    {"empty unknown section", HEAD "\n[extras]\n", 4, "unknown section [extras]"},
    {"bad integer", HEAD "[train]\ntokens = 12abc\n", 4, "[train] tokens = '12abc': expected an integer"},
    {"fractional integer", HEAD "[train]\nbatch = 2.5\n", 4, "expected an integer"},
    {"bad float", HEAD "[train]\nlr = fast\n", 4, "[train] lr = 'fast': expected a number"},
    {"out of range", HEAD "[train]\nbatch = 0\n", 4, "[train] batch = 0 is out of range (1..65536)"},
    {"negative", HEAD "[train]\nweight_decay = -1\n", 4, "out of range"},
    {"negative final tokens", HEAD "[eval]\nfinal_tokens = -1\n", 4, "[eval] final_tokens = -1 is out of range"},
    {"zero init std", HEAD "[train]\ninit_std = 0\n", 4, "[train] init_std = 0 is out of range"},
    {"tokens and tokens_per_param", HEAD "[train]\ntokens = 1e5\nbatch = 4\ntokens_per_param = 20\n", 6,
     "[train] tokens (line 4) and tokens_per_param (line 6) both set; keep one"},
    {"tokens swept beside tokens_per_param", HEAD "[train]\ntokens_per_param = 20\n[sweep]\ntrain.tokens = 1e5, 2e5\n",
     6, "tokens (line 6) and tokens_per_param (line 4) both set"},
    {"tokens_per_param zero", HEAD "[train]\ntokens_per_param = 0\n", 4, "[train] tokens_per_param = 0 is out of range"},
    {"tokens_per_param negative", HEAD "[train]\ntokens_per_param = -20\n", 4, "out of range"},
    {"tokens_per_param huge", HEAD "[train]\ntokens_per_param = 1e5\n", 4, "out of range"},
    {"tokens_per_param nan", HEAD "[train]\ntokens_per_param = nan\n", 4, "expected a number"},
    {"tokens_per_param inf", HEAD "[train]\ntokens_per_param = inf\n", 4, "expected a number"},
    {"unknown recipe", HEAD "[train]\nrecipe = megatron\n", 4, "expected harness or reference"},
    {"model field out of range", HEAD "[meki]\nd_mem = 0\n", 4, "meki.d_mem: 0 is out of range"},
    {"model field not a number", HEAD "[model]\nd_model = wide\n", 4, "model.d_model: 'wide' is not an integer"},
    {"bad enum", HEAD "[memory]\nkind = mekki\n", 4, "memory.kind: unknown value 'mekki'"},
    {"bad switch", HEAD "[eval]\nzero_shot = maybe\n", 4, "expected on or off"},
    {"bad preset", HEAD "[model]\npreset = huge\n", 4, "expected one of tiny, mini, small, medium, large"},
    {"bad dtype", HEAD "[bench]\ntable_dtypes = f32, q3\n", 4, "unknown dtype 'q3'"},
    {"bad weights dtype", HEAD "[bench]\ntable_dtypes = f32\nweights_dtypes = f32, q4_0\n", 5,
     "[bench] weights_dtypes: unknown weights dtype 'q4_0' (f32, bf16 or q8_0)"},
    {"weights dtype none", HEAD "[bench]\nweights_dtypes = none\n", 4, "unknown weights dtype 'none'"},
    {"weights dtype width", HEAD "[model]\nd_model = 48\n[bench]\nweights_dtypes = q8_0\n", 6,
     "weights_dtypes q8_0: the widths d_model 48"},
    {"weights dtype without f32 table", HEAD "[bench]\ntable_dtypes = q8\nweights_dtypes = bf16\n", 5,
     "add f32 to [bench] table_dtypes"},
    {"duplicate key", HEAD "[train]\nlr = 1e-3\nlr = 2e-3\n", 5, "duplicate key 'lr' in [train] (first set at line 4)"},
    {"duplicate across sections", HEAD "[train]\nlr = 1e-3\n[eval]\nzero_shot = on\n[train]\nlr = 2e-3\n", 8,
     "duplicate key 'lr' in [train] (first set at line 4)"},
    {"duplicate name", HEAD "name = u\n", 3, "duplicate key 'name' in [experiment] (first set at line 2)"},
    {"empty axis", HEAD "[sweep]\nmemory.kind =\n", 4, "[sweep] memory.kind: empty axis"},
    {"empty axis item", HEAD "[sweep]\nmemory.kind = none,,meki\n", 4, "empty item"},
    {"bad axis value", HEAD "[sweep]\nmemory.kind = none, mekki\n", 4, "memory.kind: unknown value 'mekki'"},
    {"repeated axis value", HEAD "[sweep]\nmeki.d_mem = 8, 8\n", 4, "value '8' is listed twice"},
    {"unknown axis", HEAD "[sweep]\nmeki.width = 8, 16\n", 4, "[sweep] unknown key 'meki.width'"},
    {"axis without section", HEAD "[sweep]\nd_mem = 8, 16\n", 4, "[sweep] unknown key 'd_mem'"},
    {"seed axis", HEAD "[sweep]\ntrain.seed = 1, 2\n", 4, "cannot be swept"},
    {"duplicate axis", HEAD "[sweep]\nmeki.d_mem = 8\nmeki.d_mem = 16\n", 5, "duplicate key 'meki.d_mem' in [sweep]"},
    {"axis also set", HEAD "[meki]\nd_mem = 8\n[sweep]\nmeki.d_mem = 8, 16\n", 6, "also set at line 4"},
    {"bad seeds", HEAD "seeds = 1, two\n", 3, "'two' is not a non-negative integer"},
    {"negative seed", HEAD "seeds = -1\n", 3, "not a non-negative integer"},
    {"repeated seed", HEAD "seeds = 1, 2, 1\n", 3, "seed 1 is listed twice"},
    {"two seed settings", HEAD "seeds = 1, 2\n[train]\nseed = 3\n", 5, "both set"},
    {"missing name", "[model]\npreset = tiny\n", 1, "[experiment] name is required"},
    {"bad name", "[experiment]\nname = a b\n", 2, "expected 1..63 letters"},
    {"outside section", "name = t\n", 1, "'name' is outside any [section]"},
    {"syntax error", HEAD "[model]\nthis line has no value\n", 4, "syntax error"},
    {"unclosed section", HEAD "[model\n", 3, "syntax error"},
    {"indented continuation", HEAD "[train]\nlr = 1e-3\n  batch = 4\n", 5, "multi-line values are not supported"},
    {"layers beyond the model", HEAD "[memory]\nkind = meki\n[meki]\nlayers = 0, 5\n", 6, "meki.layers"},
    {"heads do not divide", HEAD "[model]\npreset = tiny\nn_heads = 3\n", 5, "n_heads must be positive and divide d_model"},
    {"train seq_len too long", HEAD "[train]\nseq_len = 4096\n", 4, "exceeds the model's seq_len"},
    {"min_lr above lr", HEAD "[train]\nlr = 1e-3\nmin_lr = 1e-2\n", 5, "min_lr 0.01 exceeds lr 0.001"},
    {"swept seq_len too long", HEAD "[sweep]\ntrain.seq_len = 32, 128\n", 4, "seq_len 128 exceeds the model's "
     "seq_len 64 in run train.seq_len=128"},
    {"missing corpus file", HEAD "[data]\ncorpus = /nonexistent/corpus.txt\n", 4, "cannot find corpus input"},
    {"baseline not an axis", HEAD "[sweep]\nmemory.kind = none, meki\n[analysis]\nbaseline = meki.d_mem=8\n", 6,
     "[analysis] baseline: meki.d_mem is not a [sweep] axis"},
    {"baseline value not swept", HEAD "[sweep]\nmemory.kind = none, meki\n[analysis]\nbaseline = memory.kind=ple\n", 6,
     "ple is not one of the values of memory.kind (line 4)"},
    {"baseline without a value", HEAD "[analysis]\nbaseline = dense\n", 4, "expected a swept axis and one of its values"},
    {"unknown analysis key", HEAD "[analysis]\nfamily = all\n", 4, "unknown key 'family' in [analysis]"},
    {"too many corpus inputs", HEAD "[data]\ncorpus = a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,"
     "a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a\n", 4, "name a folder or an @list file"},
};

static void test_bad_files(void **state) {
    for (size_t i = 0; i < sizeof BAD_FILES / sizeof BAD_FILES[0]; i++) {
        const BadFile *b = &BAD_FILES[i];
        ExperimentConfig *exp = malloc(sizeof *exp);
        const char *path = write_ini("bad.ini", b->text);
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, b->line);
        error_clear();
        int rc = experiment_load(exp, path);
        const char *message = error_message();
        if (rc != ERR_INPUT || strncmp(message, prefix, strlen(prefix)) || !strstr(message, b->message))
            fail_msg("case '%s': rc %d, message '%s'; expected '%s...%s'", b->what, rc, message, prefix, b->message);
        assert_int_equal(exp->n_runs, 0);
        assert_null(exp->runs);
        free(exp);
    }
}

/* [data] corpus takes folders and @lists like --corpus; an empty folder or a bad list line
 * stops the load naming it. */
static void test_corpus_inputs(void **state) {
    char dir[4200], list[4200], text[9000];
    snprintf(dir, sizeof dir, "%s/texts", temp_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; i < 100; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/t%02d.txt", dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "text %d\n", i);
        fclose(f);
    }
    snprintf(list, sizeof list, "%s/list.txt", temp_dir);
    FILE *f = fopen(list, "w");
    fputs("# two files\ntexts/t01.txt\ntexts/t02.txt\n", f);
    fclose(f);
    snprintf(text, sizeof text, HEAD "[data]\ncorpus = %s, @%s\n", dir, list);
    ExperimentConfig *exp = load_ok(text);
    assert_int_equal(exp->runs[0].settings.data.n_files, 2);
    release(exp);

    char empty[4300];
    snprintf(empty, sizeof empty, "%s/empty", temp_dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(text, sizeof text, HEAD "[data]\ncorpus = %s\n", empty);
    exp = malloc(sizeof *exp);
    assert_int_equal(experiment_load(exp, write_ini("empty.ini", text)), ERR_INPUT);
    assert_non_null(strstr(error_message(), ":4: [data] corpus: "));
    assert_non_null(strstr(error_message(), empty));
    f = fopen(list, "w");
    fputs("texts/t01.txt\ntexts/none.txt\n", f);
    fclose(f);
    snprintf(text, sizeof text, HEAD "[data]\ncorpus = @%s\n", list);
    assert_int_equal(experiment_load(exp, write_ini("list.ini", text)), ERR_INPUT);
    char where[4300];
    snprintf(where, sizeof where, "%s:2: ", list);
    assert_non_null(strstr(error_message(), where));
    free(exp);
}

/* [data] corpus = debian: the built-in corpus, named before it is built by its packages'
 * versions (debian_identity); without the packages the load stops naming the key and how to
 * install them. Its identity differs from the Bible's. */
static void test_debian_corpus(void **state) {
    (void)state;
    uint64_t h;
    int installed = debian_identity(NULL, &h) == OK;
    error_clear();
    ExperimentConfig *exp = malloc(sizeof *exp);
    int rc = experiment_load(exp, write_ini("debian.ini", HEAD "[data]\ncorpus = debian\n"));
    if (!installed) {
        assert_int_equal(rc, ERR_INPUT);
        assert_non_null(strstr(error_message(), ":4: [data] "));
        assert_non_null(strstr(error_message(), "make corpus-debian"));
        free(exp);
        return;
    }
    assert_int_equal(rc, OK);
    const DataSettings *d = &exp->runs[0].settings.data;
    assert_string_equal(d->builtin, "debian");
    assert_int_equal(d->n_files, 0);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    assert_string_equal(d->content_hash, hex);
    assert_non_null(strstr(exp->runs[0].config_json, "\"corpus\":\"debian\""));
    ExperimentConfig *bible = load_ok(HEAD "[data]\ncorpus = bible\n");
    assert_string_not_equal(bible->runs[0].hash, exp->runs[0].hash);
    release(bible);
    release(exp);
}

static void test_long_line(void **state) {
    char text[600];
    snprintf(text, sizeof text, HEAD "description = %0300d\n", 7);
    ExperimentConfig *exp = malloc(sizeof *exp);
    const char *path = write_ini("long.ini", text);
    assert_int_equal(experiment_load(exp, path), ERR_INPUT);
    assert_non_null(strstr(error_message(), ":3: line is too long"));
    free(exp);
}

static void test_missing_file(void **state) {
    ExperimentConfig *exp = malloc(sizeof *exp);
    assert_int_equal(experiment_load(exp, "/nonexistent/experiment.ini"), ERR_INPUT);
    assert_string_equal(error_message(), "/nonexistent/experiment.ini: cannot open: No such file or directory");
    free(exp);
}

/* The preset is applied first, whatever the order of keys; comments and spacing don't matter. */
static void test_preset_then_overrides(void **state) {
    ExperimentConfig *a = load_ok("[experiment]\nname = t\n[model]\nd_model = 256\nn_heads = 8\npreset = small\n");
    assert_int_equal(a->n_runs, 1);
    const ModelConfig *m = &a->runs[0].settings.model;
    assert_int_equal(m->d_model, 256);
    assert_int_equal(m->n_heads, 8);
    assert_int_equal(m->n_layers, 4);          /* from small */
    assert_int_equal(a->runs[0].settings.train.seq_len, 128);   /* 0: the model's */
    char hash[17];
    strcpy(hash, a->runs[0].hash);
    release(a);
    ExperimentConfig *b = load_ok("; same thing\n[model]\npreset=small\n\nn_heads   =  8 ; inline comment\n"
                                  "d_model = 256\n[experiment]\nname = t\n");
    assert_string_equal(b->runs[0].hash, hash);
    release(b);
    /* a different experiment name is the same run: the hash covers what determines results */
    ExperimentConfig *c = load_ok("[experiment]\nname = other\ndescription = x\n[model]\npreset = small\n"
                                  "n_heads = 8\nd_model = 256\n");
    assert_string_equal(c->runs[0].hash, hash);
    release(c);
}

static void test_grid_order_and_dedup(void **state) {
    ExperimentConfig *exp = load_ok("[experiment]\nname = g\nseeds = 3, 4\n[sweep]\nmemory.kind = none, meki\n"
                                    "meki.d_mem = 8, 16\n");
    /* none x {8, 16} is one configuration: d_mem does not apply to the dense model */
    assert_int_equal(exp->n_runs, 6);
    const char *variants[] = {"memory.kind=none", "memory.kind=none", "memory.kind=meki meki.d_mem=8",
                              "memory.kind=meki meki.d_mem=8", "memory.kind=meki meki.d_mem=16",
                              "memory.kind=meki meki.d_mem=16"};
    const int seeds[] = {3, 4, 3, 4, 3, 4}, indices[] = {0, 1, 4, 5, 6, 7};
    for (int r = 0; r < 6; r++) {
        assert_string_equal(exp->runs[r].variant, variants[r]);
        assert_int_equal(exp->runs[r].settings.train.seed, seeds[r]);
        assert_int_equal(exp->runs[r].index, indices[r]);
        for (int q = 0; q < r; q++) assert_string_not_equal(exp->runs[q].hash, exp->runs[r].hash);
    }
    assert_int_equal(meki_config(&exp->runs[4].settings.model)->d_mem, 16);
    assert_int_equal(exp->runs[4].settings.model.memory, memory_kind_parse("meki"));
    release(exp);
}

static void test_list_valued_axis(void **state) {
    ExperimentConfig *exp = load_ok("[experiment]\nname = l\n[memory]\nkind = meki\n[sweep]\n"
                                    "meki.layers = all | 0 | last:1\nbench.table_dtypes = f32,q8 | f32,q4\n");
    assert_int_equal(exp->n_runs, 6);
    assert_string_equal(exp->runs[2].variant, "meki.layers=0 bench.table_dtypes=f32,q8");
    assert_int_equal(meki_config(&exp->runs[2].settings.model)->layers[0], 1);
    assert_int_equal(meki_config(&exp->runs[2].settings.model)->layers[1], 0);
    assert_int_equal(exp->runs[2].settings.bench.table_dtypes, DTYPE_F32 | DTYPE_Q8);
    assert_non_null(strstr(exp->runs[5].config_json, "\"layers\":\"1\""));
    release(exp);
}

static void test_hash(void **state) {
    char a[17], b[17];
    config_hash(a, "");
    config_hash(b, "{}");
    assert_int_equal(strlen(a), 16);
    assert_string_not_equal(a, b);
    config_hash(b, "");
    assert_string_equal(a, b);
    /* the function itself is frozen: changing it would orphan every stored run */
    config_hash(a, "meki");
    assert_string_equal(a, "7d5e71d74d9e2481");
    ExperimentConfig *exp = load_ok("[experiment]\nname = h\nseeds = 1, 2\n[train]\ntokens = 1e5\n");
    assert_int_equal(exp->runs[0].settings.train.tokens, 100000);
    config_hash(a, exp->runs[0].config_json);
    assert_string_equal(a, exp->runs[0].hash);
    char *json = run_settings_json(&exp->runs[0].settings);
    assert_string_equal(json, exp->runs[0].config_json);
    free(json);
    assert_string_not_equal(exp->runs[0].hash, exp->runs[1].hash);   /* seeds differ */
    release(exp);
}

/* [analysis] baseline says how the report compares variants, not what a run computes:
 * the same grid with and without it has the same hashes. */
static void test_analysis_baseline_not_identity(void **state) {
    const char *grid = "[experiment]\nname = b\nseeds = 1, 2\n[sweep]\nmemory.kind = none, meki\n";
    char text[512];
    ExperimentConfig *plain = load_ok(grid);
    snprintf(text, sizeof text, "%s[analysis]\nbaseline = memory.kind=meki\n", grid);
    ExperimentConfig *with = load_ok(text);
    assert_string_equal(with->baseline, "memory.kind=meki");
    assert_string_equal(plain->baseline, "");
    assert_int_equal(plain->n_runs, with->n_runs);
    for (int r = 0; r < plain->n_runs; r++) assert_string_equal(plain->runs[r].hash, with->runs[r].hash);
    release(plain);
    release(with);
}

/* The recipe keys (issue 15) came after runs were stored: at their defaults the identity
 * JSON leaves them out, so every earlier run keeps its hash; set, they are in it and make
 * another run. Spelling a default out is the same run. */
static void test_recipe_keys_only_when_set(void **state) {
    static const char *const keys[] = {"weight_decay_embeddings", "init_std", "scaled_init"};
    ExperimentConfig *base = load_ok(HEAD "[train]\ntokens = 1e5\n");
    const char *json = base->runs[0].config_json;
    for (int k = 0; k < 3; k++) if (strstr(json, keys[k])) fail_msg("default %s is in %s", keys[k], json);
    ExperimentConfig *spelled = load_ok(HEAD "[train]\ntokens = 1e5\nweight_decay_embeddings = off\n"
                                        "init_std = 0.02\nscaled_init = off\n");
    assert_string_equal(spelled->runs[0].hash, base->runs[0].hash);
    release(spelled);
    static const char *const set[][2] = {{"weight_decay_embeddings = on", "\"weight_decay_embeddings\":true"},
                                         {"init_std = 0.014", "\"init_std\":0.014"},
                                         {"scaled_init = on", "\"scaled_init\":true"}};
    char text[512];
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text, HEAD "[train]\ntokens = 1e5\n%s\n", set[k][0]);
        ExperimentConfig *changed = load_ok(text);
        if (!strstr(changed->runs[0].config_json, set[k][1]))
            fail_msg("%s: %s not in %s", set[k][0], set[k][1], changed->runs[0].config_json);
        assert_string_not_equal(changed->runs[0].hash, base->runs[0].hash);
        release(changed);
    }
    /* the recipe key: harness is the defaults (q/k norm on), reference all four */
    ExperimentConfig *grid = load_ok(HEAD "[train]\ntokens = 1e5\n[sweep]\ntrain.recipe = harness, reference\n");
    assert_int_equal(grid->n_runs, 2);
    assert_string_equal(grid->runs[0].hash, base->runs[0].hash);
    assert_string_equal(grid->runs[1].variant, "train.recipe=reference");
    const RunSettings *r = &grid->runs[1].settings;
    assert_true(r->train.weight_decay_embeddings && r->train.scaled_init && !r->model.qk_norm);
    assert_true(r->train.init_std == 0.014f);
    release(grid);
    /* a key beside the recipe overrides it */
    ExperimentConfig *over = load_ok(HEAD "[train]\nrecipe = reference\ninit_std = 0.01\n");
    assert_true(over->runs[0].settings.train.init_std == 0.01f && over->runs[0].settings.train.scaled_init);
    release(over);
    release(base);
}

/* [eval] final_tokens (issue 27): absent, the run keeps the hash it had before the key;
 * set (0, the whole split, included), it is in the identity and makes another run. */
static void test_final_tokens_identity(void **state) {
    ExperimentConfig *base = load_ok(HEAD "[train]\ntokens = 1e5\n");
    if (strstr(base->runs[0].config_json, "final_tokens"))
        fail_msg("default final_tokens in %s", base->runs[0].config_json);
    assert_int_equal(base->runs[0].settings.train.final_tokens, TRAIN_FINAL_AUTO);
    ExperimentConfig *capped = load_ok(HEAD "[train]\ntokens = 1e5\n[eval]\nfinal_tokens = 8192\n");
    assert_int_equal(capped->runs[0].settings.train.final_tokens, 8192);
    if (!strstr(capped->runs[0].config_json, "\"final_tokens\":8192"))
        fail_msg("final_tokens not in %s", capped->runs[0].config_json);
    assert_string_not_equal(capped->runs[0].hash, base->runs[0].hash);
    ExperimentConfig *whole = load_ok(HEAD "[train]\ntokens = 1e5\n[eval]\nfinal_tokens = 0\n");
    assert_string_not_equal(whole->runs[0].hash, base->runs[0].hash);
    assert_string_not_equal(whole->runs[0].hash, capped->runs[0].hash);
    release(whole);
    release(capped);
    release(base);
}

/* [bench] weights_dtypes (issue 18): at its default (f32 alone, spelled or not) the run's
 * identity is that of a file without the key, so stored runs keep their hashes; another
 * list is in the identity, and f32 is implied. */
static void test_weights_dtypes_identity(void **state) {
    ExperimentConfig *base = load_ok(HEAD "[memory]\nkind = meki\n[bench]\ntable_dtypes = f32, q8\n");
    if (strstr(base->runs[0].config_json, "weights_dtypes"))
        fail_msg("default weights_dtypes in %s", base->runs[0].config_json);
    assert_int_equal(base->runs[0].settings.bench.weights_dtypes, 1u << WEIGHTS_F32);
    ExperimentConfig *spelled = load_ok(HEAD "[memory]\nkind = meki\n[bench]\ntable_dtypes = f32, q8\n"
                                        "weights_dtypes = f32\n");
    assert_string_equal(spelled->runs[0].hash, base->runs[0].hash);
    ExperimentConfig *q8 = load_ok(HEAD "[memory]\nkind = meki\n[bench]\ntable_dtypes = f32, q8\n"
                                   "weights_dtypes = f32, q8_0\n");
    assert_string_not_equal(q8->runs[0].hash, base->runs[0].hash);
    if (!strstr(q8->runs[0].config_json, "\"weights_dtypes\":\"f32,q8_0\""))
        fail_msg("weights_dtypes not in %s", q8->runs[0].config_json);
    assert_int_equal(q8->runs[0].settings.bench.weights_dtypes, (1u << WEIGHTS_F32) | (1u << WEIGHTS_Q8_0));
    ExperimentConfig *implied = load_ok(HEAD "[memory]\nkind = meki\n[bench]\ntable_dtypes = f32, q8\n"
                                        "weights_dtypes = q8_0\n");
    assert_string_equal(implied->runs[0].hash, q8->runs[0].hash);
    ExperimentConfig *grid = load_ok(HEAD "[memory]\nkind = meki\n[bench]\ntable_dtypes = f32, q8\n"
                                     "[sweep]\nbench.weights_dtypes = f32 | f32, bf16, q8_0\n");
    assert_int_equal(grid->n_runs, 2);
    assert_string_equal(grid->runs[0].hash, base->runs[0].hash);
    assert_int_equal(grid->runs[1].settings.bench.weights_dtypes, 7u);
    release(grid);
    release(implied);
    release(q8);
    release(spelled);
    release(base);
}

/* [train] precision (issue 23): f32, spelled or not, keeps a stored run's hash; bf16 is in
 * the identity; a misspelling is refused naming the key. */
static void test_precision_identity(void **state) {
    ExperimentConfig *base = load_ok(HEAD);
    if (strstr(base->runs[0].config_json, "precision")) fail_msg("default precision in %s", base->runs[0].config_json);
    ExperimentConfig *spelled = load_ok(HEAD "[train]\nprecision = f32\n");
    assert_string_equal(spelled->runs[0].hash, base->runs[0].hash);
    ExperimentConfig *grid = load_ok(HEAD "[sweep]\ntrain.precision = f32 | bf16\n");
    assert_int_equal(grid->n_runs, 2);
    assert_string_equal(grid->runs[0].hash, base->runs[0].hash);
    assert_int_equal(grid->runs[1].settings.train.precision, PRECISION_BF16);
    if (!strstr(grid->runs[1].config_json, "\"precision\":\"bf16\""))
        fail_msg("precision not in %s", grid->runs[1].config_json);
    ExperimentConfig bad;
    assert_int_equal(experiment_load(&bad, write_ini("precision.ini", HEAD "[train]\nprecision = fp16\n")), ERR_INPUT);
    if (!strstr(error_message(), "precision.ini:") || !strstr(error_message(), "precision = 'fp16'"))
        fail_msg("unexpected message: %s", error_message());
    release(grid);
    release(spelled);
    release(base);
}

/* RAM parameters as train_run counts the ram_params metric: the training form's model. */
static long trained_ram_params(const ModelConfig *cfg) {
    Model m;
    Accounting acc;
    assert_int_equal(model_create(&m, cfg, 0, 1), OK);
    model_accounting(&m, &acc);
    model_free(&m);
    assert_true(acc.ram_params > 0);
    return acc.ram_params;
}

/* [train] tokens_per_param (issue 15): train.tokens = ceil(k x RAM parameters) per run, for
 * dense and MeKi (whose table and projector are ROM, not counted); the key is in the
 * identity when set, left out when not. */
static void test_tokens_per_param(void **state) {
    static const struct { const char *text; double k; } CASES[] = {{"20", 20}, {"0.05", 0.05}, {"2.5", 2.5}};
    ExperimentConfig *plain = load_ok(HEAD "[model]\npreset = tiny\n[sweep]\nmemory.kind = none, meki\n");
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "seeds = 1, 2\n[model]\npreset = tiny\n[train]\ntokens_per_param = %s\n"
                 "[sweep]\nmemory.kind = none, meki\n", CASES[c].text);
        ExperimentConfig *exp = load_ok(text);
        assert_int_equal(exp->n_runs, 4);
        long params[2] = {0, 0};
        for (int r = 0; r < exp->n_runs; r++) {
            const RunSettings *s = &exp->runs[r].settings;
            long ram = trained_ram_params(&s->model);
            params[r / 2] = ram;
            long expected = (long)ceil(CASES[c].k * (double)ram);
            if (s->train.tokens != expected)
                fail_msg("tokens_per_param = %s, %s: tokens %ld, expected ceil(%s x %ld) = %ld", CASES[c].text,
                         exp->runs[r].variant, s->train.tokens, CASES[c].text, ram, expected);
            char key[64];
            snprintf(key, sizeof key, "\"tokens_per_param\":%s", CASES[c].text);
            assert_non_null(strstr(exp->runs[r].config_json, key));
        }
        /* MeKi's RAM side is the dense model plus the fusion (W_gate, W_out) alone */
        assert_true(params[1] > params[0]);
        assert_true(params[1] - params[0] < params[0] / 10);
        release(exp);
    }
    for (int r = 0; r < plain->n_runs; r++) assert_null(strstr(plain->runs[r].config_json, "tokens_per_param"));
    release(plain);
}

/* The model part of the run identity, pinned for a few configurations: a refactor of the
 * config (fields, variants, their order) must not change a stored run's hash. Only the
 * "model" object is pinned, so that other parts of the JSON may evolve on their own. */
static void test_model_identity_pinned(void **state) {
    ExperimentConfig *exp = load_ok("[experiment]\nname = pin\n[model]\npreset = small\n[engram]\n"
                                    "normalize_tokens = on\n[sweep]\nmemory.kind = none, meki, ple, engram\n"
                                    "meki.layers = all | last:1\n");
    static const char *const expected[][2] = {
        {"memory.kind=none", "afc39f4a5618e15c"},
        {"memory.kind=meki meki.layers=all", "a2259ae011181c07"},
        {"memory.kind=meki meki.layers=last:1", "143db3d68558012c"},
        {"memory.kind=ple", "fa842309c6e02b9a"},
        {"memory.kind=engram", "89733fa7b6a933b3"},
    };
    assert_int_equal(exp->n_runs, 5);
    for (int r = 0; r < exp->n_runs; r++) {
        const char *json = exp->runs[r].config_json, *start = strstr(json, "\"model\":{");
        const char *end = start ? strstr(start, "},\"train\":") : NULL;
        assert_non_null(end);
        char model[1024], hash[17];
        snprintf(model, sizeof model, "%.*s", (int)(end + 1 - start), start);
        config_hash(hash, model);
        if (strcmp(hash, expected[r][1])) fprintf(stderr, "%s: %s\n", exp->runs[r].variant, model);
        assert_string_equal(exp->runs[r].variant, expected[r][0]);
        assert_string_equal(hash, expected[r][1]);
    }
    release(exp);
}

/* Checkpoints store the config under these metadata keys: they must stay readable. */
static void test_checkpoint_keys_kept(void **state) {
    static const char *const keys[] = {
        "model.d_model", "model.n_layers", "model.n_heads", "model.n_kv_heads", "model.ffn_hidden",
        "model.vocab_size", "model.seq_len", "model.rope_theta", "model.norm_eps", "model.qk_norm",
        "model.tie_embeddings", "memory.kind", "meki.d_mem", "meki.memory", "meki.position",
        "meki.fusion", "meki.projector", "meki.layers", "ple.width", "ple.layers", "engram.max_ngram",
        "engram.heads", "engram.table_size", "engram.width", "engram.normalize_tokens", "engram.layers"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        int found = 0;
        for (int i = 0; i < model_config_field_count(); i++) found |= !strcmp(model_config_field_key(i), keys[k]);
        if (!found) fail_msg("no config field %s", keys[k]);
    }
}

/* Operational knobs do not change the run; every knob that changes results does. */
static void test_hash_covers_results(void **state) {
    ExperimentConfig *base = load_ok("[experiment]\nname = h\n");
    ExperimentConfig *ops = load_ok("[experiment]\nname = h\n[train]\ncheckpoint_every = 7\n");
    assert_string_equal(base->runs[0].hash, ops->runs[0].hash);
    const char *changes[] = {"[train]\nlr = 1e-3\n", "[train]\nseed = 9\n", "[model]\nqk_norm = off\n",
                             "[memory]\nkind = meki\n", "[eval]\nzero_shot = on\n", "[bench]\ntable_dtypes = q8\n",
                             "[model]\nvocab_size = 512\n"};
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[experiment]\nname = h\n%s", changes[i]);
        ExperimentConfig *changed = load_ok(text);
        if (!strcmp(changed->runs[0].hash, base->runs[0].hash)) fail_msg("'%s' did not change the hash", changes[i]);
        release(changed);
    }
    release(base);
    release(ops);
}


/* Case 3 of issue 11: a corpus edited in place is another run (the identity holds the
 * content's hash, not only the path). The edit keeps the size and is dated later, as an
 * editor's save would be. */
static void test_corpus_content_in_hash(void **state) {
    char corpus[4200], text[8400];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", temp_dir);
    FILE *f = fopen(corpus, "w");
    assert_non_null(f);
    fputs("the first version of the text\n", f);
    fclose(f);
    snprintf(text, sizeof text, HEAD "[data]\ncorpus = %s\n", corpus);
    ExperimentConfig *before = load_ok(text);
    f = fopen(corpus, "w");
    assert_non_null(f);
    fputs("the other version of the text\n", f);
    fclose(f);
    struct timespec later[2];
    clock_gettime(CLOCK_REALTIME, &later[0]);
    later[0].tv_sec += 2;
    later[1] = later[0];
    assert_int_equal(utimensat(AT_FDCWD, corpus, later, 0), 0);
    ExperimentConfig *after = load_ok(text);
    assert_string_not_equal(before->runs[0].hash, after->runs[0].hash);
    release(before);
    release(after);
}

/* A tokenizer.json in temp_dir (the harness's own BPE written in that form), for [data] tokenizer. */
static const char *outside_tokenizer(void) {
    static char path[4200];
    char dir[4150];
    snprintf(dir, sizeof dir, "%s/outside", temp_dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (access(path, F_OK) == 0) return path;
    static const char text[] = "a tiny text to learn a few merges from, a tiny text again and again";
    Tokenizer *tok;
    assert_int_equal(tokenizer_train(&tok, (const unsigned char *)text, sizeof text - 1, 270), OK);
    assert_int_equal(tokenizer_json_write(tok, dir, 64), OK);
    tokenizer_free(tok);
    return path;
}

/* [data] tokenizer: its content hash joins the identity only when set; a file the loader
 * cannot represent stops the load naming the key and the JSON field. */
static void test_tokenizer_key(void **state) {
    char text[8400], bad[4200];
    ExperimentConfig *base = load_ok(HEAD "[train]\ntokens = 1e5\n");
    snprintf(text, sizeof text, HEAD "[train]\ntokens = 1e5\n[data]\ntokenizer = %s\n", outside_tokenizer());
    ExperimentConfig *outside = load_ok(text);
    if (!strstr(outside->runs[0].config_json, "\"tokenizer_hash\":\""))
        fail_msg("no tokenizer_hash in %s", outside->runs[0].config_json);
    if (strstr(base->runs[0].config_json, "tokenizer_hash")) fail_msg("tokenizer_hash in %s", base->runs[0].config_json);
    assert_string_not_equal(outside->runs[0].hash, base->runs[0].hash);
    snprintf(bad, sizeof bad, "%s/bad-tokenizer.json", temp_dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("{\"model\": {\"type\": \"Unigram\"}}", f);
    fclose(f);
    snprintf(text, sizeof text, HEAD "[data]\ntokenizer = %s\n", bad);
    ExperimentConfig exp;
    assert_int_equal(experiment_load(&exp, write_ini("bad-tokenizer.ini", text)), ERR_INPUT);
    if (!strstr(error_message(), ":4: [data] tokenizer: ") || !strstr(error_message(), "bad-tokenizer.json: model.type"))
        fail_msg("%s", error_message());
    release(outside);
    release(base);
}

/* Case 4 of issue 11: every key of the table has a role; every identity key changed alone
 * changes the run's hash and every operational one leaves it. */
static void test_every_key_changes_the_hash_or_is_operational(void **state) {
    int n;
    const KeySpec *keys = experiment_keys(&n);
    char corpus[4200];
    snprintf(corpus, sizeof corpus, "%s/other-corpus.txt", temp_dir);
    FILE *f = fopen(corpus, "w");
    assert_non_null(f);
    fputs("some text\n", f);
    fclose(f);
    const char *bench = "[bench]\ntable_dtypes = f32\n";   /* so that the bench knobs count */
    char text[8192];
    snprintf(text, sizeof text, HEAD "%s", bench);
    ExperimentConfig *base = load_ok(text);
    const RunSettings *s = &base->runs[0].settings;
    int tested = 0;
    for (int i = 0; i < n; i++) {
        const KeySpec *k = &keys[i];
        assert_true(k->role == KEY_IDENTITY || k->role == KEY_IDENTITY_IF_BENCH || k->role == KEY_IDENTITY_IF_SET ||
                    k->role == KEY_OPERATIONAL);
        if (!k->settable) {   /* set by the command line only (threads, quiet): never identity */
            if (k->role != KEY_OPERATIONAL) fail_msg("%s.%s cannot be set from a file but is identity", k->section, k->key);
            continue;
        }
        if (!strcmp(k->section, "analysis")) continue;   /* names an axis: test_analysis_baseline_not_identity */
        const void *field = (const char *)s + k->offset;
        char value[EXP_TEXT + 100];
        switch (k->type) {
        case K_INT: snprintf(value, sizeof value, "%d", *(const int *)field + (*(const int *)field > k->min ? -1 : 1)); break;
        case K_LONG: snprintf(value, sizeof value, "%ld", *(const long *)field + 1); break;
        case K_FLOAT: snprintf(value, sizeof value, "%.9g", *(const float *)field ? *(const float *)field * 0.5 : 0.5); break;
        case K_SWITCH: snprintf(value, sizeof value, "%s", *(const int *)field ? "off" : "on"); break;
        case K_DTYPES: snprintf(value, sizeof value, "q8"); break;
        case K_WEIGHTS_DTYPES: snprintf(value, sizeof value, "q8_0"); break;
        case K_FILES: snprintf(value, sizeof value, "%s", corpus); break;
        case K_TOKENIZER: snprintf(value, sizeof value, "%s", outside_tokenizer()); break;
        case K_SEED: snprintf(value, sizeof value, "%llu", (unsigned long long)*(const uint64_t *)field + 1); break;
        case K_PRESET: snprintf(value, sizeof value, "small"); break;
        case K_RECIPE: snprintf(value, sizeof value, "reference"); break;
        case K_PRECISION: snprintf(value, sizeof value, "bf16"); break;
        case K_EXPERIMENT:
            snprintf(value, sizeof value, "%s", !strcmp(k->key, "seeds") ? "5" : "other");
            break;
        case K_INTERNAL: fail_msg("%s.%s: an internal key marked settable", k->section, k->key);
        }
        if (k->type == K_EXPERIMENT)
            snprintf(text, sizeof text, "[experiment]\n%s%s = %s\n%s", strcmp(k->key, "name") ? "name = t\n" : "",
                     k->key, value, bench);
        else if (!strcmp(k->key, "table_dtypes"))
            snprintf(text, sizeof text, HEAD "[bench]\ntable_dtypes = %s\n", value);
        else
            snprintf(text, sizeof text, HEAD "%s[%s]\n%s = %s\n", bench, k->section, k->key, value);
        ExperimentConfig *changed = load_ok(text);
        int same = !strcmp(changed->runs[0].hash, base->runs[0].hash);
        if (k->role == KEY_OPERATIONAL && !same) fail_msg("operational %s.%s = %s changed the hash", k->section, k->key, value);
        if (k->role != KEY_OPERATIONAL && same) fail_msg("identity %s.%s = %s did not change the hash", k->section, k->key, value);
        release(changed);
        tested++;
    }
    assert_true(tested > 20);
    /* every model field of the active (dense) model: numbers and switches changed alone */
    int model_tested = 0;
    for (int i = 0; i < model_config_field_count(); i++) {
        const char *key = model_config_field_key(i), *dot = strchr(key, '.');
        char value[256], changed_value[256];
        model_config_field_value(&s->model, i, value, sizeof value);
        if (strncmp(key, "model.", 6)) continue;
        char *end;
        long v = strtol(value, &end, 10);
        if (!*end && *value) snprintf(changed_value, sizeof changed_value, "%ld", v * 2);
        else if (!strcmp(value, "on") || !strcmp(value, "off")) snprintf(changed_value, sizeof changed_value, "%s", strcmp(value, "on") ? "on" : "off");
        else continue;
        snprintf(text, sizeof text, HEAD "%s[model]\n%s = %s\n", bench, dot + 1, changed_value);
        ExperimentConfig changed;
        if (experiment_load(&changed, write_ini("model.ini", text))) continue;   /* an invalid combination */
        if (!strcmp(changed.runs[0].hash, base->runs[0].hash)) fail_msg("%s = %s did not change the hash", key, changed_value);
        experiment_free(&changed);
        model_tested++;
    }
    assert_true(model_tested > 3);
    release(base);
}

/* The key table covers every field of the run settings but the model's (which has its own
 * table): bytes of TrainConfig, EvalSettings, BenchSettings and DataSettings that no key
 * covers can only be alignment padding, shorter than the alignment of what follows. A new
 * TrainConfig field left out of the table fails here. */
static void test_key_table_covers_the_settings(void **state) {
    int n;
    const KeySpec *keys = experiment_keys(&n);
    static unsigned char covered[sizeof(RunSettings)];
    memset(covered, 0, sizeof covered);
    for (int i = 0; i < n; i++) {
        if (keys[i].type == K_EXPERIMENT || keys[i].type == K_PRESET || keys[i].type == K_RECIPE) continue;
        assert_true(keys[i].offset + keys[i].size <= sizeof(RunSettings));
        for (size_t b = keys[i].offset; b < keys[i].offset + keys[i].size; b++) {
            if (covered[b]) fail_msg("%s.%s overlaps another key", keys[i].section, keys[i].key);
            covered[b] = 1;
        }
    }
    size_t start = offsetof(RunSettings, train), end = sizeof(RunSettings);
    for (size_t b = start; b < end;) {
        if (covered[b]) { b++; continue; }
        size_t gap_start = b;
        while (b < end && !covered[b]) b++;
        /* tail padding may be as long as the struct's own alignment (the model's blocks are wide) */
        size_t align = b == end ? _Alignof(RunSettings) : (b & -b) < 8 ? (b & -b) : 8;
        if (b - gap_start >= align)
            fail_msg("RunSettings bytes %zu..%zu (TrainConfig offset %zu) are in no key of the table: "
                     "add the field to KEYS as identity or operational", gap_start, b - 1, gap_start - start);
    }
}

static int setup(void **state) { return mkdtemp(temp_dir) ? 0 : -1; }

static int teardown(void **state) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf %s", temp_dir);
    return system(command);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_corpus_inputs),
        cmocka_unit_test(test_debian_corpus),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_preset_then_overrides),
        cmocka_unit_test(test_grid_order_and_dedup),
        cmocka_unit_test(test_list_valued_axis),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_analysis_baseline_not_identity),
        cmocka_unit_test(test_recipe_keys_only_when_set),
        cmocka_unit_test(test_weights_dtypes_identity),
        cmocka_unit_test(test_final_tokens_identity),
        cmocka_unit_test(test_precision_identity),
        cmocka_unit_test(test_tokens_per_param),
        cmocka_unit_test(test_hash_covers_results),
        cmocka_unit_test(test_corpus_content_in_hash),
        cmocka_unit_test(test_tokenizer_key),
        cmocka_unit_test(test_every_key_changes_the_hash_or_is_operational),
        cmocka_unit_test(test_key_table_covers_the_settings),
        cmocka_unit_test(test_model_identity_pinned),
        cmocka_unit_test(test_checkpoint_keys_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
