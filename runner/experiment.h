/* Experiment files: an INI file describing a model, its training, what to measure, and a
 * grid of variants ([sweep] axes x seeds). Loading parses, validates every key and
 * expands the grid into fully resolved runs, each identified by the hash of its
 * canonical JSON. Any problem is ERR_INPUT with a message "FILE:LINE: ..." and nothing
 * else happens: callers run or write nothing for a file that did not load. */
#ifndef RUNNER_EXPERIMENT_H
#define RUNNER_EXPERIMENT_H
#include "data/dataset.h"
#include "kernels/quant.h"
#include "models/config.h"
#include "train/train.h"
#include <stdint.h>

#define EXP_MAX_ENTRIES 128
#define EXP_MAX_AXES 8
#define EXP_MAX_VALUES 32
#define EXP_MAX_SEEDS 64
#define EXP_MAX_FILES 64
#define EXP_MAX_RUNS 10000
#define EXP_TEXT 200            /* INI_MAX_LINE of Debian's libinih */

/* Deployment table dtypes measured by [bench] table_dtypes, as bit flags: 1 << TableDtype. */
enum {
    DTYPE_F32 = 1 << TABLE_F32, DTYPE_F16 = 1 << TABLE_F16, DTYPE_BF16 = 1 << TABLE_BF16,
    DTYPE_Q8 = 1 << TABLE_Q8, DTYPE_Q4 = 1 << TABLE_Q4
};

typedef struct {
    int zero_shot, logit_lens;  /* on/off */
} EvalSettings;

typedef struct {
    unsigned table_dtypes;      /* DTYPE_* flags; 0: no deployment benchmark */
    unsigned weights_dtypes;    /* decode RAM weights measured, 1 << WeightsDtype
                                 * (kernels/wquant.h); f32 always */
    int decode_tokens;
    int cold, prefetch;         /* on/off */
} BenchSettings;

typedef struct {
    int n_files;                /* 0: a built-in corpus: the Bible, or builtin */
    char builtin[16];           /* "debian" (data/debian.h, [data] corpus = debian); "": none */
    char files[EXP_MAX_FILES][EXP_TEXT];   /* inputs: files, folders, @lists (corpus_expand) */
    char content_hash[17];      /* of the expanded files' bytes (corpus_content_hash), set on load */
    char tokenizer[EXP_TEXT];   /* a Hugging Face tokenizer.json in place of a learned BPE; "": none */
    char tokenizer_hash[17];    /* its file's content hash (tokenizer_file_hash), set on load */
} DataSettings;

/* Everything that determines a run's results. */
typedef struct {
    ModelConfig model;
    TrainConfig train;          /* train.seed is the run's seed */
    EvalSettings eval;
    BenchSettings bench;
    DataSettings data;
} RunSettings;

typedef struct {
    RunSettings settings;
    int index;                  /* position in the full grid (before de-duplication) */
    char variant[256];          /* "memory.kind=meki meki.d_mem=16", or "base" without axes */
    char hash[17];              /* 16 hex digits of the canonical JSON's hash */
    char *config_json;          /* canonical JSON of settings (malloc'd) */
} ResolvedRun;

/* One key = value of the file, kept with its line for later error messages. */
typedef struct {
    char section[16], key[32], value[EXP_TEXT];
    int line;
} ExpEntry;

typedef struct {
    char section[16], key[32];
    int line, n_values;
    char values[EXP_MAX_VALUES][EXP_TEXT];
} SweepAxis;

typedef struct {
    char path[4096];
    char name[64], description[EXP_TEXT];
    uint64_t seeds[EXP_MAX_SEEDS];
    int n_seeds;
    char baseline[EXP_TEXT];    /* [analysis] baseline "section.key=value", "" unset; not in any identity */
    int baseline_line;
    ExpEntry entries[EXP_MAX_ENTRIES];
    int n_entries;
    SweepAxis axes[EXP_MAX_AXES];
    int n_axes;
    ResolvedRun *runs;          /* unique runs in grid order; duplicates (same hash) dropped */
    int n_runs;
} ExperimentConfig;

/* The one table of run settings outside the model's (which has its own field table,
 * models/config.h): every key an experiment file may set, and every other TrainConfig
 * field, each with its role. The run's identity JSON (hence its hash) is generated from
 * it: identity keys are in it, operational ones are not. */
typedef enum {
    K_INT, K_LONG, K_FLOAT, K_SWITCH, K_DTYPES, K_FILES, K_SEED, K_PRESET,
    K_WEIGHTS_DTYPES,  /* [bench] weights_dtypes: a list of kernels/wquant.h names */
    K_PRECISION,   /* [train] precision: f32 | bf16 (kernels/gemm.h) */
    K_RECIPE,      /* [train] recipe: sets the recipe's keys, applied after the preset */
    K_TOKENIZER,   /* [data] tokenizer: a tokenizer.json path, checked by loading it */
    K_EXPERIMENT,  /* [experiment] keys: stored in ExperimentConfig, not in RunSettings */
    K_INTERNAL     /* set by the program (a command's flag), never from a file */
} KeyType;

typedef enum {
    KEY_IDENTITY,               /* changes results: part of the run's identity */
    KEY_IDENTITY_IF_BENCH,      /* identity when [bench] table_dtypes is not none */
    KEY_IDENTITY_IF_SET,        /* identity when not at its default: a key added later that
                                 * leaves the hashes of runs made before it unchanged */
    KEY_OPERATIONAL             /* how the run is carried out, not what it computes */
} KeyRole;

typedef struct {
    const char *section, *key;
    KeyType type;
    KeyRole role;
    int settable;               /* may appear in an experiment file */
    size_t offset, size;        /* into RunSettings */
    double min, max;
} KeySpec;

const KeySpec *experiment_keys(int *count);

/* Parse, validate and expand path. On error exp holds no runs and the message is set. */
int experiment_load(ExperimentConfig *exp, const char *path);
void experiment_free(ExperimentConfig *exp);

/* The settings of a file that sets nothing (the model still to be given a preset). */
void run_settings_defaults(RunSettings *s);
/* [train] recipe = harness | reference: the harness's own recipe (the defaults, q/k norm on)
 * or the reference's (Megatron: every >= 2-D tensor decays, init std 0.014 with output
 * projections scaled by 1/sqrt(2 n_layers), no q/k norm). ERR_INPUT for another name. */
int run_settings_recipe(RunSettings *s, const char *name);
/* [train] tokens_per_param: *tokens = ceil(k x the model's RAM parameters), counted as the
 * ram_params metric counts them (the training form; MeKi's table and projector are ROM).
 * ERR_INPUT when that is not within 1..1e13 tokens ([train] tokens' range). */
int run_settings_tokens_per_param(const ModelConfig *m, float k, long *tokens);
/* Sets d->content_hash from its files' bytes (the Bible's text without files; for the
 * Debian corpus its packages' versions, debian_identity), and
 * d->tokenizer_hash from the tokenizer file's when one is named. */
int run_settings_hash_corpus(DataSettings *d);
/* Prepares (or finds up to date) the corpus the settings name, with the model's vocabulary
 * (data/dataset.h's dataset_prepare); summary->dir is its folder. */
int run_settings_prepare_data(const RunSettings *s, DataSummary *summary);

/* The canonical JSON of settings (malloc'd, fixed key order, only the active memory
 * variant's parameters) and its 16-hex-digit hash. */
char *run_settings_json(const RunSettings *settings);
void config_hash(char out[17], const char *text);

/* "f32,q8" for a DTYPE_* mask. */
void format_dtypes(char *out, int size, unsigned mask);
/* "f32,q8_0" for a mask of 1 << WeightsDtype. */
void format_weights_dtypes(char *out, int size, unsigned mask);
#endif
