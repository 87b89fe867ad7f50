#include "runner/experiment.h"
#include "data/corpus_hash.h"
#include "data/corpus.h"
#include "data/dataset.h"
#include "data/debian.h"
#include "data/tokenizer.h"
#include "models/memory.h"
#include "models/model.h"
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include "kernels/wquant.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/parse.h"
#include "util/rng.h"
#include <ini.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Model keys ([model] but preset, [memory], [meki], [ple], [engram]) go through the
 * model's own field table (models/config.h), so a new field or memory variant is settable
 * here without a change. This table holds the rest, with each key's role: identity keys
 * make the run's JSON and hash (section_fields), operational ones do not.
 * tests/test_experiment.c fails when a TrainConfig field is in no entry. */
#define RS(field) offsetof(RunSettings, field), sizeof(((RunSettings *)0)->field)
#define ID KEY_IDENTITY
#define OP KEY_OPERATIONAL
/* Experiment files are a few hundred lines; anything this large is not one. */
enum { EXPERIMENT_FILE_MAX = 16 << 20 };
static const KeySpec KEYS[] = {
    /* labels of the experiment, not of the run: one run is shared by experiments */
    {"experiment", "name", K_EXPERIMENT, OP, 1, 0, 0, 0, 0},
    {"experiment", "description", K_EXPERIMENT, OP, 1, 0, 0, 0, 0},
    {"experiment", "seeds", K_EXPERIMENT, ID, 1, 0, 0, 0, 0},   /* sets train.seed */
    /* how the report reads the results, never what a run computes: not in any identity */
    {"analysis", "baseline", K_EXPERIMENT, OP, 1, 0, 0, 0, 0},
    {"model", "preset", K_PRESET, ID, 1, 0, 0, 0, 0},           /* sets the model fields */
    {"train", "tokens", K_LONG, ID, 1, RS(train.tokens), 1, 1e13},
    /* the budget per RAM parameter (issue 15): resolves train.tokens, which carries it into
     * the identity; off (0) it is left out, so runs stored before it keep their hashes */
    {"train", "tokens_per_param", K_FLOAT, KEY_IDENTITY_IF_SET, 1, RS(train.tokens_per_param), 1e-6, 1e4},
    {"train", "batch", K_INT, ID, 1, RS(train.batch), 1, 65536},
    {"train", "seq_len", K_INT, ID, 1, RS(train.seq_len), 0, 65536},
    {"train", "lr", K_FLOAT, ID, 1, RS(train.lr), 1e-9, 10},
    {"train", "min_lr", K_FLOAT, ID, 1, RS(train.min_lr), 0, 10},
    {"train", "warmup", K_INT, ID, 1, RS(train.warmup), 0, 1e9},
    {"train", "beta1", K_FLOAT, ID, 1, RS(train.beta1), 0, 0.9999999},
    {"train", "beta2", K_FLOAT, ID, 1, RS(train.beta2), 0, 0.9999999},
    {"train", "eps", K_FLOAT, ID, 1, RS(train.eps), 1e-20, 1},
    {"train", "weight_decay", K_FLOAT, ID, 1, RS(train.weight_decay), 0, 10},
    {"train", "clip", K_FLOAT, ID, 1, RS(train.clip), 0, 1e6},
    {"train", "seed", K_SEED, ID, 1, RS(train.seed), 0, 0},
    /* the validation curve's points and their noise depend on these */
    {"train", "eval_every", K_INT, ID, 1, RS(train.eval_every), 0, 1e9},
    {"train", "eval_tokens", K_LONG, ID, 1, RS(train.eval_tokens), 0, 1e13},
    /* resume is exact, so where checkpoints fall changes nothing */
    {"train", "checkpoint_every", K_INT, OP, 1, RS(train.checkpoint_every), 0, 1e9},
    /* the recipe (issue 15); identity only away from the defaults, so that runs made
     * before these keys existed keep their hashes */
    {"train", "recipe", K_RECIPE, ID, 1, 0, 0, 0, 0},           /* sets the three below and model.qk_norm */
    {"train", "weight_decay_embeddings", K_SWITCH, KEY_IDENTITY_IF_SET, 1, RS(train.weight_decay_embeddings), 0, 1},
    {"train", "init_std", K_FLOAT, KEY_IDENTITY_IF_SET, 1, RS(train.init_std), 1e-6, 10},
    {"train", "scaled_init", K_SWITCH, KEY_IDENTITY_IF_SET, 1, RS(train.scaled_init), 0, 1},
    /* issue 23: the GEMMs' operand precision; identity only away from f32, so that runs
     * stored before the key keep their hashes */
    {"train", "precision", K_PRECISION, KEY_IDENTITY_IF_SET, 1, RS(train.precision), 0, 0},
    /* decides whether a run ends as diverged */
    {"train", "diverge_loss", K_FLOAT, ID, 1, RS(train.diverge_loss), 1e-3, 1e9},
    /* threads change only the order of float sums (last bits); the runs table and the
     * record keep the count, and results are compared across machines anyway */
    {"train", "threads", K_INTERNAL, OP, 0, RS(train.threads), 0, 0},
    {"train", "quiet", K_INTERNAL, OP, 0, RS(train.quiet), 0, 0},                /* output only */
    {"train", "stop_after_steps", K_INTERNAL, OP, 0, RS(train.stop_after_steps), 0, 0},   /* tests: a pause */
    {"train", "record", K_INTERNAL, OP, 0, RS(train.record), 0, 0},          /* the record itself */
    {"train", "dense_allreduce", K_INTERNAL, OP, 0, RS(train.dense_allreduce), 0, 0},  /* MPI exchange path: same figures either way (tests/test_mpi.c) */
    /* issue 27: the final evaluation's cap (0: the whole split); identity only away from the
     * default (train_final_tokens' share), which scores the Bible's split whole as before,
     * so that runs stored before the key keep their hashes */
    {"eval", "final_tokens", K_LONG, KEY_IDENTITY_IF_SET, 1, RS(train.final_tokens), 0, 1e13},
    {"eval", "zero_shot", K_SWITCH, ID, 1, RS(eval.zero_shot), 0, 1},
    {"eval", "logit_lens", K_SWITCH, ID, 1, RS(eval.logit_lens), 0, 1},
    {"bench", "table_dtypes", K_DTYPES, ID, 1, RS(bench.table_dtypes), 0, 0},
    /* issue 18: decode speed and perplexity with smaller RAM weights; identity only away
     * from the default (f32 alone), so that runs stored before the key keep their hashes */
    {"bench", "weights_dtypes", K_WEIGHTS_DTYPES, KEY_IDENTITY_IF_SET, 1, RS(bench.weights_dtypes), 0, 0},
    {"bench", "decode_tokens", K_INT, KEY_IDENTITY_IF_BENCH, 1, RS(bench.decode_tokens), 1, 1e6},
    {"bench", "cold", K_SWITCH, KEY_IDENTITY_IF_BENCH, 1, RS(bench.cold), 0, 1},
    {"bench", "prefetch", K_SWITCH, KEY_IDENTITY_IF_BENCH, 1, RS(bench.prefetch), 0, 1},
    /* the files' content hash goes into the identity, not their paths */
    {"data", "corpus", K_FILES, ID, 1, offsetof(RunSettings, data), offsetof(DataSettings, tokenizer), 0, 0},
    /* issue 27: an outside tokenizer; its content hash joins the identity only when set, so
     * that runs stored before the key keep their hashes */
    {"data", "tokenizer", K_TOKENIZER, KEY_IDENTITY_IF_SET, 1, offsetof(RunSettings, data.tokenizer),
     sizeof(DataSettings) - offsetof(DataSettings, tokenizer), 0, 0},
};
#undef ID
#undef OP
#define N_KEYS (int)(sizeof KEYS / sizeof KEYS[0])

const KeySpec *experiment_keys(int *count) {
    *count = N_KEYS;
    return KEYS;
}

static const char *SECTIONS[] = {"experiment", "model", "memory", "train", "eval", "bench", "data", "sweep", "analysis"};

/* ---------- values ---------- */

typedef struct { char text[256]; } Problem;   /* a message without the file:line prefix */

static int problem(Problem *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(Problem *pr, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pr->text, sizeof pr->text, fmt, ap);
    va_end(ap);
    return -1;
}

static void trim_copy(char *out, size_t size, const char *start, size_t length) {
    while (length && (*start == ' ' || *start == '\t')) start++, length--;
    while (length && (start[length - 1] == ' ' || start[length - 1] == '\t')) length--;
    if (length >= size) length = size - 1;
    memcpy(out, start, length);
    out[length] = 0;
}

/* Splits a list on sep into trimmed items; an empty item is an error (a stray comma). */
static int split_list(const char *text, char sep, char items[][EXP_TEXT], int max_items, int *count,
                      Problem *pr) {
    *count = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, sep);
        size_t length = end ? (size_t)(end - p) : strlen(p);
        if (*count >= max_items) return problem(pr, "too many items (at most %d)", max_items);
        trim_copy(items[*count], EXP_TEXT, p, length);
        if (!items[*count][0]) return problem(pr, "empty item in list '%s'", text);
        (*count)++;
        if (!end) return 0;
        p = end + 1;
    }
}

static int parse_number(const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_seed(const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    if (!*text || *text == '-' || *text == '+') return -1;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

static int parse_numeric(const KeySpec *k, const char *text, void *field, Problem *pr) {
    double v;
    int integral = k->type != K_FLOAT;
    if (parse_number(text, &v) || (integral && v != floor(v)))
        return problem(pr, "[%s] %s = '%s': expected %s", k->section, k->key, text,
                       integral ? "an integer" : "a number");
    if (v < k->min || v > k->max)
        return problem(pr, "[%s] %s = %s is out of range (%g..%g)", k->section, k->key, text, k->min,
                       k->max);
    if (k->type == K_INT) *(int *)field = (int)v;
    else if (k->type == K_LONG) *(long *)field = (long)v;
    else *(float *)field = (float)v;
    return 0;
}

static int parse_dtypes(const KeySpec *k, const char *text, unsigned *mask, Problem *pr) {
    char items[8][EXP_TEXT];
    int count;
    *mask = 0;
    if (!strcmp(text, "none")) return 0;
    if (split_list(text, ',', items, 8, &count, pr)) return -1;
    for (int i = 0; i < count; i++) {
        int found = table_dtype_parse(items[i]);
        if (found < 0)
            return problem(pr, "[%s] %s: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0 or none)", k->section,
                           k->key, items[i]);
        *mask |= 1u << found;
    }
    return 0;
}

/* f32 is always measured (the existing metrics and the baseline of the others), so
 * "q8_0" and "f32, q8_0" are the same list. */
static int parse_weights_dtypes(const KeySpec *k, const char *text, unsigned *mask, Problem *pr) {
    char items[8][EXP_TEXT];
    int count;
    *mask = 1u << WEIGHTS_F32;
    if (split_list(text, ',', items, 8, &count, pr)) return -1;
    for (int i = 0; i < count; i++) {
        int found = weights_dtype_parse(items[i]);
        if (found < 0)
            return problem(pr, "[%s] %s: unknown weights dtype '%s' (f32, bf16 or q8_0)", k->section, k->key,
                           items[i]);
        *mask |= 1u << found;
    }
    return 0;
}

/* [data] corpus: files, directories and @lists, as ./meki data --corpus takes them; they are
 * expanded here once so that an empty folder or a bad list line stops the load. */
static int parse_files(const KeySpec *k, const char *text, DataSettings *data, Problem *pr) {
    data->n_files = 0;
    data->builtin[0] = 0;
    if (!strcmp(text, "bible")) return 0;
    if (!strcmp(text, "debian")) {   /* the built-in multi-domain corpus; a folder: ./debian */
        snprintf(data->builtin, sizeof data->builtin, "debian");
        return 0;
    }
    int commas = 0;
    for (const char *c = text; *c; c++) commas += *c == ',';
    if (commas >= EXP_MAX_FILES)
        return problem(pr, "[%s] %s: at most %d inputs on the line; name a folder or an @list file "
                       "for more files", k->section, k->key, EXP_MAX_FILES);
    if (split_list(text, ',', data->files, EXP_MAX_FILES, &data->n_files, pr)) return -1;
    const char *inputs[EXP_MAX_FILES];
    for (int i = 0; i < data->n_files; i++) inputs[i] = data->files[i];
    char **files;
    int n_files;
    if (corpus_expand(inputs, data->n_files, &files, &n_files))
        return problem(pr, "[%s] %s: %s", k->section, k->key, error_message());
    corpus_files_free(files, n_files);
    return 0;
}

/* [data] tokenizer: loaded here once, so that a file the loader cannot represent stops the
 * load naming it and its JSON field. */
static int parse_tokenizer(const KeySpec *k, const char *text, char *path, Problem *pr) {
    path[0] = 0;   /* DataSettings.tokenizer, EXP_TEXT bytes */
    if (!text[0] || !strcmp(text, "none")) return 0;
    if (strlen(text) >= EXP_TEXT)
        return problem(pr, "[%s] %s: a path of at most %d bytes", k->section, k->key, EXP_TEXT - 1);
    Tokenizer *tok;
    if (tokenizer_load(&tok, text)) return problem(pr, "[%s] %s: %s", k->section, k->key, error_message());
    tokenizer_free(tok);
    snprintf(path, EXP_TEXT, "%s", text);
    return 0;
}

/* A known key: either an entry of KEYS or a model field (index into the field table). */
typedef struct {
    const KeySpec *spec;
    int field;
    char full[64];              /* "section.key" */
} KeyRef;

static int find_key(const char *section, const char *key, KeyRef *ref) {
    memset(ref, 0, sizeof *ref);
    ref->field = -1;
    snprintf(ref->full, sizeof ref->full, "%s.%s", section, key);
    for (int i = 0; i < N_KEYS; i++)
        if (KEYS[i].settable && !strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key))
            return ref->spec = &KEYS[i], 1;
    for (int i = 0; i < model_config_field_count(); i++)
        if (!strcmp(model_config_field_key(i), ref->full)) return ref->field = i, 1;
    return 0;
}

/* Parses text as the value of a key into settings. */
static int parse_value(const KeyRef *ref, const char *text, RunSettings *s, Problem *pr) {
    const KeySpec *k = ref->spec;
    if (!k) {
        if (model_config_set(&s->model, ref->full, text)) return problem(pr, "%s", error_message());
        return 0;
    }
    void *field = (char *)s + k->offset;
    int v;
    switch (k->type) {
    case K_INT: case K_LONG: case K_FLOAT: return parse_numeric(k, text, field, pr);
    case K_SWITCH:
        if ((v = parse_bool(text)) < 0)
            return problem(pr, "[%s] %s = '%s': expected on or off", k->section, k->key, text);
        *(int *)field = v;
        return 0;
    case K_DTYPES: return parse_dtypes(k, text, field, pr);
    case K_WEIGHTS_DTYPES: return parse_weights_dtypes(k, text, field, pr);
    case K_FILES: return parse_files(k, text, field, pr);
    case K_TOKENIZER: return parse_tokenizer(k, text, field, pr);
    case K_SEED:
        if (parse_seed(text, field))
            return problem(pr, "[%s] %s = '%s': expected a non-negative integer", k->section, k->key, text);
        return 0;
    case K_PRECISION:
        if ((v = precision_parse(text)) < 0)
            return problem(pr, "[%s] %s = '%s': expected f32 or bf16", k->section, k->key, text);
        *(int *)field = v;
        return 0;
    case K_RECIPE:
        if (run_settings_recipe(s, text))
            return problem(pr, "[%s] %s = '%s': expected harness or reference", k->section, k->key, text);
        return 0;
    case K_PRESET:
        if (model_preset(&s->model, text)) {
            char names[128];
            model_preset_names(names, sizeof names, ", ");
            return problem(pr, "[%s] %s = '%s': expected one of %s", k->section, k->key, text, names);
        }
        return 0;
    case K_EXPERIMENT: case K_INTERNAL: break;
    }
    return problem(pr, "[%s] %s cannot be set here", k->section, k->key);
}

/* Our sections, and those of the model's fields (one per memory variant). */
static int known_section(const char *name) {
    size_t length = strlen(name);
    for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0]; i++)
        if (!strcmp(SECTIONS[i], name)) return 1;
    for (int i = 0; i < model_config_field_count(); i++) {
        const char *key = model_config_field_key(i);
        if (!strncmp(key, name, length) && key[length] == '.') return 1;
    }
    return 0;
}

static void list_keys(char *out, size_t size, const char *section) {
    size_t used = 0, length = strlen(section);
    out[0] = 0;
    for (int i = 0; i < N_KEYS && used < size; i++)
        if (KEYS[i].settable && !strcmp(KEYS[i].section, section))
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", KEYS[i].key);
    for (int i = 0; i < model_config_field_count() && used < size; i++) {
        const char *key = model_config_field_key(i);
        if (!strncmp(key, section, length) && key[length] == '.')
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", key + length + 1);
    }
}

/* ---------- parsing the file ---------- */

typedef struct {
    ExperimentConfig *exp;
    const char *text;
    size_t pos, length;
    int line;                   /* the line inih is working on */
    int line_indented;          /* inih reads an indented line as a continuation */
    char last_section[16], last_key[32];
    int error_line;             /* first error wins */
    char message[512];
    int name_line, description_line, seeds_line;
    RunSettings scratch;        /* values are validated by parsing them into this */
} Parser;

static int fail(Parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Parser *p, int line, const char *fmt, ...) {
    if (p->error_line) return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    p->error_line = line > 0 ? line : 1;
    return 0;
}

static void check_section_header(Parser *p, const char *line) {
    while (*line == ' ' || *line == '\t') line++;
    const char *close = strchr(line, ']');
    if (*line != '[' || !close) return;   /* not a header, or a syntax error inih reports */
    char name[64];
    trim_copy(name, sizeof name, line + 1, (size_t)(close - line - 1));
    if (!known_section(name))
        fail(p, p->line, "unknown section [%s] (experiment, model, memory, meki, ple, engram, train, "
             "eval, bench, data, sweep, analysis)", name);
}

/* fgets for inih over the file held in memory, counting lines: Debian's libinih does not
 * pass line numbers to the handler, and its fixed buffer would split a long line. */
static char *read_line(char *buffer, int size, void *stream) {
    Parser *p = stream;
    if (p->pos >= p->length) return NULL;
    const char *start = p->text + p->pos;
    const char *newline = memchr(start, '\n', p->length - p->pos);
    size_t length = newline ? (size_t)(newline - start) + 1 : p->length - p->pos;
    p->pos += length;
    p->line++;
    if (length > (size_t)size - 1) {
        fail(p, p->line, "line is too long (at most %d characters)", size - 2);
        length = (size_t)size - 1;
    }
    memcpy(buffer, start, length);
    buffer[length] = 0;
    p->line_indented = length > 0 && (start[0] == ' ' || start[0] == '\t');
    check_section_header(p, buffer);
    return buffer;
}

static int set_experiment_key(Parser *p, const char *key, const char *value, int line) {
    ExperimentConfig *exp = p->exp;
    Problem pr;
    int *seen = !strcmp(key, "name") ? &p->name_line
              : !strcmp(key, "description") ? &p->description_line : &p->seeds_line;
    if (*seen) return fail(p, line, "duplicate key '%s' in [experiment] (first set at line %d)", key, *seen);
    *seen = line;
    if (!strcmp(key, "description")) {
        snprintf(exp->description, sizeof exp->description, "%s", value);
        return 1;
    }
    if (!strcmp(key, "name")) {
        if (!*value || strlen(value) >= sizeof exp->name || strspn(value,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(value))
            return fail(p, line, "[experiment] name = '%s': expected 1..63 letters, digits, '_', '-' or '.'",
                        value);
        snprintf(exp->name, sizeof exp->name, "%s", value);
        return 1;
    }
    char items[EXP_MAX_SEEDS][EXP_TEXT];
    int count;
    if (split_list(value, ',', items, EXP_MAX_SEEDS, &count, &pr))
        return fail(p, line, "[experiment] seeds: %s", pr.text);
    for (int i = 0; i < count; i++) {
        if (parse_seed(items[i], &exp->seeds[i]))
            return fail(p, line, "[experiment] seeds: '%s' is not a non-negative integer", items[i]);
        for (int j = 0; j < i; j++)
            if (exp->seeds[j] == exp->seeds[i])
                return fail(p, line, "[experiment] seeds: seed %s is listed twice", items[i]);
    }
    exp->n_seeds = count;
    return 1;
}

/* [analysis] baseline = section.key=value: checked against the axes once the file is read. */
static int set_analysis_key(Parser *p, const char *key, const char *value, int line) {
    ExperimentConfig *exp = p->exp;
    if (strcmp(key, "baseline")) return fail(p, line, "unknown key '%s' in [analysis] (baseline)", key);
    if (exp->baseline_line)
        return fail(p, line, "duplicate key 'baseline' in [analysis] (first set at line %d)", exp->baseline_line);
    if (!strchr(value, '=') || strlen(value) >= sizeof exp->baseline)
        return fail(p, line, "[analysis] baseline = '%s': expected a swept axis and one of its values, e.g. "
                    "memory.kind=none", value);
    snprintf(exp->baseline, sizeof exp->baseline, "%s", value);
    exp->baseline_line = line;
    return 1;
}

/* The baseline names a [sweep] axis and one of its listed values (as written there). */
static int check_baseline(Parser *p) {
    ExperimentConfig *exp = p->exp;
    if (!exp->baseline_line) return 1;
    char key[EXP_TEXT];
    const char *equals = strchr(exp->baseline, '=');
    snprintf(key, sizeof key, "%.*s", (int)(equals - exp->baseline), exp->baseline);
    for (int a = 0; a < exp->n_axes; a++) {
        char name[64];
        snprintf(name, sizeof name, "%s.%s", exp->axes[a].section, exp->axes[a].key);
        if (strcmp(name, key)) continue;
        for (int v = 0; v < exp->axes[a].n_values; v++)
            if (!strcmp(exp->axes[a].values[v], equals + 1)) return 1;
        return fail(p, exp->baseline_line, "[analysis] baseline: %s is not one of the values of %s (line %d)",
                    equals + 1, key, exp->axes[a].line);
    }
    return fail(p, exp->baseline_line, "[analysis] baseline: %s is not a [sweep] axis of this file", key);
}

static int add_axis(Parser *p, const char *name, const char *value, int line) {
    ExperimentConfig *exp = p->exp;
    Problem pr;
    char section[16] = "", key[32];
    const char *dot = strchr(name, '.');
    if (dot && (size_t)(dot - name) < sizeof section) trim_copy(section, sizeof section, name, (size_t)(dot - name));
    KeyRef k;
    if (!dot || !find_key(section, dot + 1, &k))
        return fail(p, line, "[sweep] unknown key '%s' (expected section.key naming a known key)", name);
    if (k.spec && (k.spec->type == K_EXPERIMENT || k.spec->type == K_SEED))
        return fail(p, line, "[sweep] %s cannot be swept (list seeds in [experiment] seeds)", name);
    snprintf(key, sizeof key, "%s", dot + 1);
    for (int a = 0; a < exp->n_axes; a++)
        if (!strcmp(exp->axes[a].section, section) && !strcmp(exp->axes[a].key, key))
            return fail(p, line, "duplicate key '%s' in [sweep] (first set at line %d)", name, exp->axes[a].line);
    if (exp->n_axes >= EXP_MAX_AXES) return fail(p, line, "[sweep]: too many axes (at most %d)", EXP_MAX_AXES);
    SweepAxis *axis = &exp->axes[exp->n_axes];
    if (!*value) return fail(p, line, "[sweep] %s: empty axis (list at least one value)", name);
    /* values that are lists themselves (layers, dtypes) are separated by '|' instead */
    if (split_list(value, strchr(value, '|') ? '|' : ',', axis->values, EXP_MAX_VALUES, &axis->n_values, &pr))
        return fail(p, line, "[sweep] %s: %s", name, pr.text);
    for (int v = 0; v < axis->n_values; v++) {
        if (parse_value(&k, axis->values[v], &p->scratch, &pr)) return fail(p, line, "%s", pr.text);
        for (int w = 0; w < v; w++)
            if (!strcmp(axis->values[w], axis->values[v]))
                return fail(p, line, "[sweep] %s: value '%s' is listed twice", name, axis->values[v]);
    }
    snprintf(axis->section, sizeof axis->section, "%s", section);
    snprintf(axis->key, sizeof axis->key, "%s", key);
    axis->line = line;
    exp->n_axes++;
    return 1;
}

static int add_entry(Parser *p, const char *section, const char *name, const char *value, int line) {
    ExperimentConfig *exp = p->exp;
    Problem pr;
    KeyRef k;
    if (!find_key(section, name, &k)) {
        char keys[512];
        list_keys(keys, sizeof keys, section);
        return fail(p, line, "unknown key '%s' in [%s] (known: %s)", name, section, keys);
    }
    for (int e = 0; e < exp->n_entries; e++)
        if (!strcmp(exp->entries[e].section, section) && !strcmp(exp->entries[e].key, name))
            return fail(p, line, "duplicate key '%s' in [%s] (first set at line %d)", name, section,
                        exp->entries[e].line);
    if (parse_value(&k, value, &p->scratch, &pr)) return fail(p, line, "%s", pr.text);
    if (exp->n_entries >= EXP_MAX_ENTRIES) return fail(p, line, "too many keys (at most %d)", EXP_MAX_ENTRIES);
    ExpEntry *entry = &exp->entries[exp->n_entries++];
    snprintf(entry->section, sizeof entry->section, "%s", section);
    snprintf(entry->key, sizeof entry->key, "%s", name);
    snprintf(entry->value, sizeof entry->value, "%s", value);
    entry->line = line;
    return 1;
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
    Parser *p = user;
    int line = p->line;
    if (p->error_line) return 0;
    int continuation = p->line_indented && !strcmp(section, p->last_section) && !strcmp(name, p->last_key);
    snprintf(p->last_section, sizeof p->last_section, "%s", section);
    snprintf(p->last_key, sizeof p->last_key, "%s", name);
    if (continuation)
        return fail(p, line, "indented line continues the value of '%s'; multi-line values are not "
                    "supported (remove the indentation)", name);
    if (!*section) return fail(p, line, "'%s' is outside any [section]", name);
    if (!known_section(section)) return fail(p, line, "unknown section [%s]", section);
    if (!strcmp(section, "sweep")) return add_axis(p, name, value, line);
    KeyRef k;
    if (!strcmp(section, "experiment") && find_key(section, name, &k)) return set_experiment_key(p, name, value, line);
    if (!strcmp(section, "analysis")) return set_analysis_key(p, name, value, line);
    return add_entry(p, section, name, value, line);
}

/* ---------- resolving grid points ---------- */

static const ExpEntry *find_entry(const ExperimentConfig *exp, const char *section, const char *key) {
    for (int e = 0; e < exp->n_entries; e++)
        if (!strcmp(exp->entries[e].section, section) && !strcmp(exp->entries[e].key, key))
            return &exp->entries[e];
    return NULL;
}

/* The line where section.key is set or swept, else fallback. */
static int key_line(const ExperimentConfig *exp, const char *section, const char *key, int fallback) {
    for (int e = 0; e < exp->n_entries; e++)
        if (!strcmp(exp->entries[e].section, section) && !strcmp(exp->entries[e].key, key)) return exp->entries[e].line;
    for (int a = 0; a < exp->n_axes; a++)
        if (!strcmp(exp->axes[a].section, section) && !strcmp(exp->axes[a].key, key)) return exp->axes[a].line;
    return fallback;
}

static int check_whole_file(Parser *p) {
    ExperimentConfig *exp = p->exp;
    if (!exp->name[0]) return fail(p, 1, "[experiment] name is required");
    const ExpEntry *seed = find_entry(exp, "train", "seed");
    if (seed && exp->n_seeds)
        return fail(p, seed->line, "[train] seed and [experiment] seeds (line %d) both set; keep one",
                    p->seeds_line);
    int tokens_line = key_line(exp, "train", "tokens", 0), per_param_line = key_line(exp, "train", "tokens_per_param", 0);
    if (tokens_line && per_param_line)   /* either one decides the budget alone */
        return fail(p, tokens_line > per_param_line ? tokens_line : per_param_line, "[train] tokens (line %d) and "
                    "tokens_per_param (line %d) both set; keep one", tokens_line, per_param_line);
    for (int a = 0; a < exp->n_axes; a++) {
        const ExpEntry *e = find_entry(exp, exp->axes[a].section, exp->axes[a].key);
        if (e)
            return fail(p, exp->axes[a].line, "[sweep] %s.%s is also set at line %d; set it in one place",
                        e->section, e->key, e->line);
    }
    return 1;
}

/* Applies the entries, then the point's axis values, over the preset. *model_line gets the
 * line of the last model key applied: where a model-wide check failure is reported. */
static int apply_keys(Parser *p, const int *choice, RunSettings *s, int *model_line) {
    const ExperimentConfig *exp = p->exp;
    Problem pr;
    for (int i = 0; i < exp->n_entries + exp->n_axes; i++) {
        int is_axis = i >= exp->n_entries;
        const SweepAxis *axis = is_axis ? &exp->axes[i - exp->n_entries] : NULL;
        const ExpEntry *entry = is_axis ? NULL : &exp->entries[i];
        int line = is_axis ? axis->line : entry->line;
        KeyRef k;
        find_key(is_axis ? axis->section : entry->section, is_axis ? axis->key : entry->key, &k);
        if (k.spec && (k.spec->type == K_PRESET || k.spec->type == K_RECIPE)) continue;
        if (parse_value(&k, is_axis ? axis->values[choice[i - exp->n_entries]] : entry->value, s, &pr))
            return fail(p, line, "%s", pr.text);
        if (!k.spec && line > *model_line) *model_line = line;
    }
    return 1;
}

/* The line to blame for a model_config_validate message: the key it starts with
 * ("meki.layers: ..."), else the last model key. */
static int blame_line(const ExperimentConfig *exp, const char *message, int model_line) {
    char full[64];
    for (int i = 0; i < exp->n_entries + exp->n_axes; i++) {
        int is_axis = i >= exp->n_entries;
        const SweepAxis *axis = is_axis ? &exp->axes[i - exp->n_entries] : NULL;
        const ExpEntry *entry = is_axis ? NULL : &exp->entries[i];
        snprintf(full, sizeof full, "%s.%s:", is_axis ? axis->section : entry->section,
                 is_axis ? axis->key : entry->key);
        if (!strncmp(message, full, strlen(full))) return is_axis ? axis->line : entry->line;
    }
    return model_line;
}

int run_settings_recipe(RunSettings *s, const char *name) {
    int reference = !strcmp(name, "reference");
    if (!reference && strcmp(name, "harness")) return error_set(ERR_INPUT, "unknown recipe '%s'", name);
    TrainConfig defaults;
    train_config_defaults(&defaults);
    s->train.weight_decay_embeddings = reference;
    s->train.init_std = reference ? 0.014f : defaults.init_std;
    s->train.scaled_init = reference;
    s->model.qk_norm = !reference;
    return OK;
}

/* RAM parameters counted on the training form, as train_run counts the ram_params metric:
 * MeKi's table and projector are ROM once folded and not in it. */
static int count_ram_params(const ModelConfig *m, long *params) {
    Model model;
    int rc = model_declare(&model, m, 0);   /* shapes only: nothing to allocate for a count */
    Accounting acc = {0};
    if (!rc) model_accounting(&model, &acc);
    model_free(&model);
    *params = acc.ram_params;
    return rc;
}

static int budget_tokens(float k, long params, long *tokens) {
    /* k as written (20, 0.1), not its float's binary expansion, so that k x params lands on
     * the whole number it should and ceil does not add one */
    char text[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, k);
        if (strtof(text, NULL) == k) break;
    }
    double budget = ceil(strtod(text, NULL) * (double)params);
    if (!(k > 0) || !(budget >= 1 && budget <= 1e13))
        return error_set(ERR_INPUT, "%s x %ld RAM parameters is %.4g tokens, outside 1..1e13", text, params, budget);
    *tokens = (long)budget;
    return OK;
}

int run_settings_tokens_per_param(const ModelConfig *m, float k, long *tokens) {
    long params = 0;
    int rc = count_ram_params(m, &params);
    return rc ? rc : budget_tokens(k, params, tokens);
}

void run_settings_defaults(RunSettings *s) {
    memset(s, 0, sizeof *s);
    train_config_defaults(&s->train);
    s->bench.decode_tokens = 128;
    s->bench.prefetch = 1;
    s->bench.weights_dtypes = 1u << WEIGHTS_F32;
}

static void variant_label(const ExperimentConfig *exp, const int *choice, const RunSettings *s, char *out,
                          size_t size) {
    size_t used = 0;
    out[0] = 0;
    for (int a = 0; a < exp->n_axes && used < size; a++) {
        const SweepAxis *axis = &exp->axes[a];
        int kind = memory_kind_parse(axis->section);
        if (kind > 0 && kind != (int)s->model.memory) continue;   /* an inactive variant's knob */
        used += (size_t)snprintf(out + used, size - used, "%s%s.%s=%s", used ? " " : "", axis->section,
                                 axis->key, axis->values[choice[a]]);
    }
    if (!out[0]) snprintf(out, size, "base");
}

/* [bench] dtypes the run could never measure are refused at load, not after training: a
 * folded run's decode benchmark reads the bundle's f32 table, so a table list without f32;
 * weights dtypes whose widths a format does not fit (q8_0: multiples of 32, as the engine
 * requires), or without the f32 table they are measured on. */
static int check_bench_dtypes(Parser *p, const RunSettings *s, const char *where) {
    const ModelConfig *m = &s->model;
    const MemoryOps *ops = memory_ops(m->memory);
    if (ops && ops->fold && s->bench.table_dtypes && !(s->bench.table_dtypes & DTYPE_F32))
        return fail(p, key_line(p->exp, "bench", "table_dtypes", 1), "[bench] table_dtypes: the decode benchmark "
                    "of a folded model reads its f32 table: add f32 to the list (or set none to measure no "
                    "bundle)%s%s", *where ? " in run " : "", where);
    int line = key_line(p->exp, "bench", "weights_dtypes", 1), q_dim = m->n_heads * m->head_dim;
    for (int d = WEIGHTS_F32 + 1; d <= WEIGHTS_Q8_0; d++) {
        if (!(s->bench.weights_dtypes & (1u << d))) continue;
        if (!weights_bytes((WeightsDtype)d, 1, m->d_model) || !weights_bytes((WeightsDtype)d, 1, q_dim) ||
            !weights_bytes((WeightsDtype)d, 1, m->ffn_hidden))
            return fail(p, line, "[bench] weights_dtypes %s: the widths d_model %d, heads x head_dim %d and "
                        "ffn_hidden %d must be multiples of %d%s%s", weights_dtype_name((WeightsDtype)d), m->d_model,
                        q_dim, m->ffn_hidden, QK_BLOCK, *where ? " in run " : "", where);
        if (s->bench.table_dtypes && !(s->bench.table_dtypes & DTYPE_F32))
            return fail(p, line, "[bench] weights_dtypes %s is measured on the f32 table: add f32 to "
                        "[bench] table_dtypes%s%s", weights_dtype_name((WeightsDtype)d), *where ? " in run " : "",
                        where);
    }
    return 1;
}

static int resolve(Parser *p, const int *choice, int seed_index, ResolvedRun *run) {
    const ExperimentConfig *exp = p->exp;
    RunSettings *s = &run->settings;
    const char *preset = "tiny";   /* without a preset, tiny's sizes are the defaults */
    int model_line = 1;
    run_settings_defaults(s);
    const ExpEntry *e = find_entry(exp, "model", "preset");
    if (e) preset = e->value, model_line = e->line;
    for (int a = 0; a < exp->n_axes; a++)
        if (!strcmp(exp->axes[a].section, "model") && !strcmp(exp->axes[a].key, "preset"))
            preset = exp->axes[a].values[choice[a]], model_line = exp->axes[a].line;
    if (model_preset(&s->model, preset)) return fail(p, model_line, "%s", error_message());
    /* the recipe next, so that keys set beside it override it */
    Problem pr;
    const ExpEntry *recipe = find_entry(exp, "train", "recipe");
    const char *recipe_name = recipe ? recipe->value : NULL;
    int recipe_line = recipe ? recipe->line : 1;
    for (int a = 0; a < exp->n_axes; a++)
        if (!strcmp(exp->axes[a].section, "train") && !strcmp(exp->axes[a].key, "recipe"))
            recipe_name = exp->axes[a].values[choice[a]], recipe_line = exp->axes[a].line;
    KeyRef recipe_key;
    find_key("train", "recipe", &recipe_key);
    if (recipe_name && parse_value(&recipe_key, recipe_name, s, &pr)) return fail(p, recipe_line, "%s", pr.text);
    if (!apply_keys(p, choice, s, &model_line)) return 0;
    if (exp->n_seeds) s->train.seed = exp->seeds[seed_index];
    if (s->train.seq_len == 0) s->train.seq_len = s->model.seq_len;
    variant_label(exp, choice, s, run->variant, sizeof run->variant);
    const char *where = exp->n_axes ? run->variant : "";
    if (model_config_validate(&s->model))
        return fail(p, blame_line(exp, error_message(), model_line), "%s%s%s", error_message(),
                    *where ? " in run " : "", where);
    if (s->train.tokens_per_param > 0) {
        if (run_settings_tokens_per_param(&s->model, s->train.tokens_per_param, &s->train.tokens))
            return fail(p, key_line(exp, "train", "tokens_per_param", 1), "[train] tokens_per_param: %s%s%s",
                        error_message(), *where ? " in run " : "", where);
    }
    if (!check_bench_dtypes(p, s, where)) return 0;
    if (s->train.seq_len > s->model.seq_len)
        return fail(p, key_line(exp, "train", "seq_len", model_line), "[train] seq_len %d exceeds the model's "
                    "seq_len %d%s%s", s->train.seq_len, s->model.seq_len, *where ? " in run " : "", where);
    if (s->train.min_lr > s->train.lr)
        return fail(p, key_line(exp, "train", "min_lr", key_line(exp, "train", "lr", 1)),
                    "[train] min_lr %g exceeds lr %g%s%s", s->train.min_lr, s->train.lr, *where ? " in run " : "",
                    where);
    if (run_settings_hash_corpus(&s->data))
        return fail(p, key_line(exp, "data", s->data.tokenizer[0] && error_message()[0] &&
                                strstr(error_message(), s->data.tokenizer) ? "tokenizer" : "corpus", 1),
                    "[data] %s", error_message());
    /* a run that could never start (rows overflow, activations beyond this machine's
     * memory) is refused now, not hours into the sweep; tokens below one batch stay a
     * run-time failure, recorded with the run (tests/test_sweep.c relies on one) */
    if (model_check_activations(&s->model, s->train.batch, s->train.seq_len))
        return fail(p, key_line(exp, "train", "batch", model_line), "[train] batch, seq_len: %s%s%s", error_message(),
                    *where ? " in run " : "", where);
    run->config_json = run_settings_json(s);
    config_hash(run->hash, run->config_json);
    return 1;
}

static int expand(Parser *p) {
    ExperimentConfig *exp = p->exp;
    int n_seeds = exp->n_seeds ? exp->n_seeds : 1;
    long points = 1;
    for (int a = 0; a < exp->n_axes; a++) {
        points *= exp->axes[a].n_values;
        if (points * n_seeds > EXP_MAX_RUNS)
            return fail(p, exp->axes[a].line, "the grid has more than %d runs", EXP_MAX_RUNS);
    }
    exp->runs = calloc((size_t)(points * n_seeds), sizeof *exp->runs);
    if (!exp->runs) return fail(p, 1, "out of memory");
    for (long i = 0; i < points * n_seeds; i++) {
        int choice[EXP_MAX_AXES];
        long rest = i / n_seeds;
        for (int a = exp->n_axes - 1; a >= 0; a--) {   /* the first axis varies slowest */
            choice[a] = (int)(rest % exp->axes[a].n_values);
            rest /= exp->axes[a].n_values;
        }
        ResolvedRun *run = &exp->runs[exp->n_runs];
        run->index = (int)i;
        if (!resolve(p, choice, (int)(i % n_seeds), run)) return 0;
        int duplicate = 0;
        for (int r = 0; r < exp->n_runs && !duplicate; r++) duplicate = !strcmp(exp->runs[r].hash, run->hash);
        if (duplicate) {   /* e.g. the dense baseline under an axis of MeKi widths */
            free(run->config_json);
            memset(run, 0, sizeof *run);
        } else {
            exp->n_runs++;
        }
    }
    return 1;
}

int experiment_load(ExperimentConfig *exp, const char *path) {
    memset(exp, 0, sizeof *exp);
    snprintf(exp->path, sizeof exp->path, "%s", path);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);   /* O_NONBLOCK: a FIFO must not block */
    if (fd < 0) return error_set(ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    close(fd);
    char *text;
    size_t bytes;
    /* read_file refuses a FIFO or folder (and an oversized file) with a message naming it */
    int read_rc = read_file_max(path, EXPERIMENT_FILE_MAX, &text, &bytes);
    if (read_rc) return read_rc;
    Parser *p = calloc(1, sizeof *p);
    if (!p) { free(text); return error_set(ERR_FAILURE, "out of memory"); }
    p->exp = exp;
    p->text = text;
    p->length = bytes;
    model_preset(&p->scratch.model, "tiny");
    int syntax_line = ini_parse_stream(read_line, p, on_key, p);
    if (syntax_line > 0 && (!p->error_line || syntax_line < p->error_line)) {
        p->error_line = 0;
        fail(p, syntax_line, "syntax error: expected [section] or key = value");
    }
    if (!p->error_line && check_whole_file(p) && check_baseline(p)) expand(p);
    int rc = OK;
    if (p->error_line) {
        rc = error_set(ERR_INPUT, "%s:%d: %s", path, p->error_line, p->message);
        experiment_free(exp);
    }
    free(text);
    free(p);
    return rc;
}

void experiment_free(ExperimentConfig *exp) {
    for (int r = 0; r < exp->n_runs; r++) free(exp->runs[r].config_json);
    free(exp->runs);
    exp->runs = NULL;
    exp->n_runs = 0;
}

/* ---------- canonical JSON and hash ---------- */

static char *finish(Json *j) {
    char *text = strdup(json_end(j));
    json_free(j);
    return text;
}

static void nested(Json *j, const char *key, char *raw) {
    json_raw(j, key, raw);
    free(raw);
}

static void json_bool(Json *j, const char *key, int value) { json_raw(j, key, value ? "true" : "false"); }
/* The shortest text that reads back as the same float: 0.003, not 0.00300000003. */
static void json_float(Json *j, const char *key, float value) {
    char text[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (strtof(text, NULL) == value) break;
    }
    json_raw(j, key, isfinite(value) ? text : "null");
}

/* A field's text as a JSON number when it is one (every float field is a float), else
 * as a string; layer lists stay strings even when they name one layer ("1"). */
static void field_json(Json *j, const char *key, const char *value) {
    char *end;
    double v = strtod(value, &end);
    if (!*value || *end || !isfinite(v) || !strcmp(key, "layers")) json_string(j, key, value);
    else if (strpbrk(value, ".eE")) json_float(j, key, (float)v);
    else json_raw(j, key, value);   /* an integer: exact, whatever its size */
}

/* Built from the model's field table in its order: [model] fields, the memory kind, and
 * the active variant's fields only, so that changing an inactive variant's knob (say
 * meki.d_mem for the dense baseline) does not make a different run. */
static char *model_json(const ModelConfig *m) {
    const char *kind = memory_kind_name(m->memory);
    size_t kind_length = strlen(kind);
    Json j, memory;
    json_begin(&j);
    json_begin(&memory);
    for (int i = 0; i < model_config_field_count(); i++) {
        const char *key = model_config_field_key(i);
        char value[256];
        model_config_field_value(m, i, value, sizeof value);
        if (!strncmp(key, "model.", 6)) field_json(&j, key + 6, value);
        else if (!strcmp(key, "memory.kind")) json_string(&j, "memory", value);
        else if (!strncmp(key, kind, kind_length) && key[kind_length] == '.')
            field_json(&memory, key + kind_length + 1, value);
    }
    if (m->memory != MEMORY_NONE) nested(&j, kind, finish(&memory));
    else json_free(&memory);
    return finish(&j);
}

/* The identity keys of one section of the table, in table order, as a JSON object:
 * operational keys are left out, and bench-only ones when there is no bench. */
static void section_fields(Json *out, const RunSettings *s, const char *section, int bench) {
    Json *j = out;
    char text[64];
    RunSettings defaults;
    run_settings_defaults(&defaults);
    for (int i = 0; i < N_KEYS; i++) {
        const KeySpec *k = &KEYS[i];
        if (strcmp(k->section, section) || k->role == KEY_OPERATIONAL) continue;
        if (k->role == KEY_IDENTITY_IF_BENCH && !bench) continue;
        const void *field = (const char *)s + k->offset;
        if (k->role == KEY_IDENTITY_IF_SET && !memcmp(field, (const char *)&defaults + k->offset, k->size)) continue;
        switch (k->type) {
        case K_INT: json_int(j, k->key, *(const int *)field); break;
        case K_LONG: json_int(j, k->key, *(const long *)field); break;
        case K_FLOAT: json_float(j, k->key, *(const float *)field); break;
        case K_SWITCH: json_bool(j, k->key, *(const int *)field); break;
        case K_DTYPES:
            format_dtypes(text, sizeof text, *(const unsigned *)field);
            json_string(j, k->key, text);
            break;
        case K_WEIGHTS_DTYPES:
            format_weights_dtypes(text, sizeof text, *(const unsigned *)field);
            json_string(j, k->key, text);
            break;
        case K_PRECISION: json_string(j, k->key, precision_name((Precision) * (const int *)field)); break;
        case K_SEED:
            snprintf(text, sizeof text, "%llu", (unsigned long long)*(const uint64_t *)field);
            json_raw(j, k->key, text);
            break;
        case K_FILES: case K_TOKENIZER: case K_PRESET: case K_RECIPE: case K_EXPERIMENT: case K_INTERNAL:
            break;   /* the corpus and tokenizer by run_settings_json; the rest sets other keys */
        }
    }
}

/* Hashes the files the inputs expand to (folders and @lists included), so a file added to
 * a corpus folder, or edited in place, makes another run. */
/* The content hash of [data] corpus's files (folders and @lists expanded). */
static int files_hash(const DataSettings *d, uint64_t *h) {
    const char *inputs[EXP_MAX_FILES];
    char **files;
    int n_files;
    for (int i = 0; i < d->n_files; i++) inputs[i] = d->files[i];
    int rc = corpus_expand(inputs, d->n_files, &files, &n_files);
    if (rc) return rc;
    rc = corpus_content_hash((const char *const *)files, n_files, h);
    corpus_files_free(files, n_files);
    return rc;
}

int run_settings_hash_corpus(DataSettings *d) {
    uint64_t h;
    if (!d->builtin[0] && d->n_files == 1 && dataset_shard_folder(d->files[0], &h)) {   /* its shards' identity */
        snprintf(d->content_hash, sizeof d->content_hash, "%016llx", (unsigned long long)h);
        return OK;
    }
    /* the built-in Debian corpus is named before it is built: by its packages' versions */
    int rc = d->builtin[0] ? debian_identity(NULL, &h) : files_hash(d, &h);
    if (!rc) snprintf(d->content_hash, sizeof d->content_hash, "%016llx", (unsigned long long)h);
    d->tokenizer_hash[0] = 0;
    if (!rc && d->tokenizer[0] && !(rc = tokenizer_file_hash(d->tokenizer, &h)))
        snprintf(d->tokenizer_hash, sizeof d->tokenizer_hash, "%016llx", (unsigned long long)h);
    return rc;
}

int run_settings_prepare_data(const RunSettings *s, DataSummary *summary) {
    const char *inputs[EXP_MAX_FILES];
    for (int i = 0; i < s->data.n_files; i++) inputs[i] = s->data.files[i];
    DataOptions options = {.corpus_files = inputs, .n_files = s->data.n_files,
                           .vocab_size = s->model.vocab_size,
                           .tokenizer = s->data.tokenizer[0] ? s->data.tokenizer : NULL,
                           .builtin = s->data.builtin[0] ? s->data.builtin : NULL};
    return dataset_prepare(&options, summary);
}

/* The run's identity: the model, the identity keys of the table, and the corpus by
 * content (a corpus edited in place is another run; one moved is the same run). */
char *run_settings_json(const RunSettings *s) {
    Json j, train, measure;
    json_begin(&j);
    nested(&j, "model", model_json(&s->model));
    json_begin(&train);
    section_fields(&train, s, "train", 0);
    nested(&j, "train", finish(&train));
    json_begin(&measure);
    section_fields(&measure, s, "eval", 0);
    section_fields(&measure, s, "bench", s->bench.table_dtypes != 0);
    nested(&j, "measure", finish(&measure));
    json_string(&j, "corpus", s->data.builtin[0] ? s->data.builtin : s->data.n_files ? "files" : "bible");
    json_string(&j, "corpus_hash", s->data.content_hash);
    if (s->data.tokenizer[0]) json_string(&j, "tokenizer_hash", s->data.tokenizer_hash);
    return finish(&j);
}

/* FNV-1a over the text, then a splitmix finaliser so that near-identical texts spread. */
void config_hash(char out[17], const char *text) {
    snprintf(out, 17, "%016llx", (unsigned long long)hash64(fnv1a64_string(FNV1A64_OFFSET, text)));
}

void format_dtypes(char *out, int size, unsigned mask) {
    int used = 0;
    out[0] = 0;
    for (int d = 0; d < 5 && used < size; d++)
        if (mask & (1u << d)) used += snprintf(out + used, (size_t)(size - used), "%s%s", used ? "," : "",
                                               table_dtype_name((TableDtype)d));
    if (!mask) snprintf(out, (size_t)size, "none");
}

void format_weights_dtypes(char *out, int size, unsigned mask) {
    int used = 0;
    out[0] = 0;
    for (int d = WEIGHTS_F32; d <= WEIGHTS_Q8_0 && used < size; d++)
        if (mask & (1u << d)) used += snprintf(out + used, (size_t)(size - used), "%s%s", used ? "," : "",
                                               weights_dtype_name((WeightsDtype)d));
}
