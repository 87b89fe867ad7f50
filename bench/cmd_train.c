/* ./meki train: train one model from a preset (or an experiment file) and report. */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/report.h"
#include "data/dataset.h"
#include "kernels/gemm.h"
#include "train/checkpoint.h"
#include "train/train.h"
#include "runner/record.h"
#include "runner/experiment.h"
#include "util/dist.h"
#include "util/error.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ./meki train FILE.ini: the one run of an experiment file with a one-point grid, its data
 * prepared as a sweep would unless prepare is 0 (--data given). Fills cfg, t and the data
 * folder; returns an exit code, 0 when all is well. */
static int load_one_point(const char *path, ModelConfig *cfg, TrainConfig *t, char *data_dir,
                          size_t size, char *name, size_t name_size, int prepare) {
    ExperimentConfig *exp = malloc(sizeof *exp);
    if (!exp) { fprintf(stderr, "meki train: out of memory\n"); return 1; }
    int rc = experiment_load(exp, path);
    if (rc) {
        fprintf(stderr, "meki train: %s\n", error_message());
        free(exp);
        return rc == ERR_INPUT ? 2 : 1;
    }
    if (exp->n_runs != 1) {
        fprintf(stderr, "meki train: %s has %d runs (its [sweep] axes x seeds); train takes a file "
                "with exactly one: use ./meki sweep %s\n", path, exp->n_runs, path);
        experiment_free(exp);
        free(exp);
        return 2;
    }
    const RunSettings *s = &exp->runs[0].settings;
    *cfg = s->model;
    *t = s->train;
    snprintf(name, name_size, "%s", exp->name);
    if (!prepare) {   /* --data given */
        experiment_free(exp);
        free(exp);
        return 0;
    }
    const char *inputs[EXP_MAX_FILES];
    for (int i = 0; i < s->data.n_files; i++) inputs[i] = s->data.files[i];
    DataOptions options = {.corpus_files = inputs, .n_files = s->data.n_files,
                           .vocab_size = s->model.vocab_size};
    DataSummary summary;
    rc = dataset_prepare(&options, &summary);
    if (rc) fprintf(stderr, "meki train: preparing the data: %s\n", error_message());
    else snprintf(data_dir, size, "%s", summary.dir);
    experiment_free(exp);
    free(exp);
    return rc == OK ? 0 : rc == ERR_INPUT ? 2 : 1;
}

static int train_main(int argc, char **argv, ArgList *sets, ArgList *files) {
    const char *preset = "small", *out = NULL, *data_dir = NULL, *memory = NULL;
    int json = 0, threads = 0, batch = 0, seq_len = 0, quiet = 0, fresh = 0, decay_embeddings = 0, scaled_init = 0;
    const char *allreduce = "sparse", *precision = NULL;
    long tokens = 0, seed = -1, stop_after = 0, final_tokens = TRAIN_FINAL_AUTO;
    float lr = 0, init_std = 0, tokens_per_param = 0;
    /* the preset and memory kind lists come from their registries, so a new one shows here */
    char preset_help[160], memory_help[160], names[128];
    model_preset_names(names, sizeof names, " | ");
    snprintf(preset_help, sizeof preset_help, "%s (default small)", names);
    memory_kind_names(names, sizeof names, " | ");
    snprintf(memory_help, sizeof memory_help, "%s (shorthand for --set memory.kind=...)", names);
    ArgSpec specs[] = {
        {"--preset", ARG_STRING, &preset, preset_help, 0, 0},
        {"--memory", ARG_STRING, &memory, memory_help, 0, 0},
        {"--set", ARG_STRINGS, sets, "section.key=value model override, e.g. meki.d_mem=32 (repeatable)", 0, 0},
        {"--tokens", ARG_LONG, &tokens, "training tokens (default 2e6)", 1, 1e13},
        {"--tokens-per-param", ARG_FLOAT, &tokens_per_param, "training tokens per RAM parameter, rounded up (instead of --tokens; e.g. 20)", 1e-6, 1e4},
        {"--batch", ARG_INT, &batch, "sequences per step (default 16)", 1, 65536},
        {"--seq-len", ARG_INT, &seq_len, "training sequence length (default: the model's)", 2, 65536},
        {"--lr", ARG_FLOAT, &lr, "peak learning rate (default 3e-3)", 1e-9, 10},
        {"--weight-decay-embeddings", ARG_FLAG, &decay_embeddings, "weight decay on every >= 2-D tensor, embedding and memory tables too (the reference's recipe)", 0, 0},
        {"--init-std", ARG_FLOAT, &init_std, "std of the normal initialisation (default 0.02; the reference's 0.014)", 1e-6, 10},
        {"--scaled-init", ARG_FLAG, &scaled_init, "output projections initialised with std / sqrt(2 n_layers) (the reference's recipe)", 0, 0},
        {"--final-eval-tokens", ARG_LONG, &final_tokens, "held-out tokens of the final evaluation, whole windows spread over the split with a fixed seed; 0: the whole split (default: a tenth of the training tokens, at least 65536)", 0, 1e13},
        {"--precision", ARG_STRING, &precision, "f32 | bf16: the GEMMs' operands (default f32; bf16 keeps f32 weights, gradients and AdamW state)", 0, 0},
        {"--seed", ARG_LONG, &seed, "seed for init and data order (default 1)", 0, ARG_SEED_MAX},
        {"--data", ARG_STRING, &data_dir, "prepared corpus folder (default: ./meki data's)", 0, 0},
        {"--out", ARG_STRING, &out, "run folder (default results/train/<preset>-<memory>-<hash of the settings>)", 0, 0},
        {"--fresh", ARG_FLAG, &fresh, "train afresh even if --out holds a run (of any settings)", 0, 0},
        {"--threads", ARG_INT, &threads, "threads (default: all cores; under mpirun: shared by the local ranks)", 0, 1024},
        {"--allreduce", ARG_STRING, &allreduce, "under mpirun: sparse (memory tables send touched rows) | dense", 0, 0},
        {"--stop-after", ARG_LONG, &stop_after, "checkpoint and stop at this step, unfinished (resume by running again)", 0, 1e15},
        {"--quiet", ARG_FLAG, &quiet, "no progress output", 0, 0},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], files,
                        "[FILE.ini] [options]   (FILE.ini: an experiment file with a one-run grid)");
    if (rc) return rc == 1 ? 0 : rc;

    ModelConfig cfg;
    TrainConfig t;
    char file_data[4096], file_name[64];
    train_config_defaults(&t);
    if (files->count > 1) {
        fprintf(stderr, "meki train: expected at most one experiment file, got %d\n", files->count);
        return 2;
    }
    if (files->count == 1) {
        if (args_check_in_file("train", "experiment file", files->items[0])) return 2;
        if (memory || sets->count || strcmp(preset, "small")) {
            fprintf(stderr, "meki train: --preset, --memory and --set do not go with an experiment "
                    "file: set them in %s\n", files->items[0]);
            return 2;
        }
        if ((rc = load_one_point(files->items[0], &cfg, &t, file_data, sizeof file_data, file_name,
                                 sizeof file_name, !data_dir)))
            return rc;
        if (!data_dir) data_dir = file_data;
        preset = file_name;   /* names the default run folder */
    } else if (model_preset(&cfg, preset)) {
        fprintf(stderr, "meki train: --preset: %s\n", error_message());
        return 2;
    }
    if (memory && model_config_set(&cfg, "memory.kind", memory)) {
        fprintf(stderr, "meki train: --memory: %s\n", error_message());
        return 2;
    }
    for (int i = 0; i < sets->count; i++) {
        char key[128];
        const char *eq = strchr(sets->items[i], '=');
        if (!eq || eq - sets->items[i] >= (long)sizeof key) {
            fprintf(stderr, "meki train: --set expects section.key=value, got '%s'\n", sets->items[i]);
            return 2;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets->items[i]), sets->items[i]);
        if (model_config_set(&cfg, key, eq + 1)) {
            fprintf(stderr, "meki train: --set %s\n", error_message());
            return 2;
        }
    }
    if (model_config_validate(&cfg)) { fprintf(stderr, "meki train: %s\n", error_message()); return 2; }
    if (tokens && tokens_per_param > 0) {
        fprintf(stderr, "meki train: --tokens and --tokens-per-param both given; give one\n");
        return 2;
    }
    if (tokens) t.tokens = tokens, t.tokens_per_param = 0;   /* over a file's tokens_per_param too */
    if (tokens_per_param > 0) {
        t.tokens_per_param = tokens_per_param;
        if ((rc = run_settings_tokens_per_param(&cfg, tokens_per_param, &t.tokens))) {
            fprintf(stderr, "meki train: --tokens-per-param: %s\n", error_message());
            return rc == ERR_INPUT ? 2 : 1;
        }
    }
    if (batch) t.batch = batch;
    if (seq_len) t.seq_len = seq_len;
    if (lr > 0) t.lr = lr, t.min_lr = lr / 10;   /* 0 and -1: not given (the ranges refuse them) */
    if (seed >= 0) t.seed = (uint64_t)seed;
    if (final_tokens != TRAIN_FINAL_AUTO) t.final_tokens = final_tokens;
    if (decay_embeddings) t.weight_decay_embeddings = 1;
    if (init_std > 0) t.init_std = init_std;   /* 0: not given (the range refuses it) */
    if (scaled_init) t.scaled_init = 1;
    if (precision && (t.precision = precision_parse(precision)) < 0) {
        fprintf(stderr, "meki train: --precision must be f32 or bf16, not '%s'\n", precision);
        return 2;
    }
    if (strcmp(allreduce, "sparse") && strcmp(allreduce, "dense")) {
        fprintf(stderr, "meki train: --allreduce must be sparse or dense, not '%s'\n", allreduce);
        return 2;
    }
    t.dense_allreduce = !strcmp(allreduce, "dense");
    if (stop_after < 0) { fprintf(stderr, "meki train: --stop-after must be >= 0\n"); return 2; }
    t.stop_after_steps = stop_after;
    t.threads = threads > 0 || !dist_active() ? threads : dist_default_threads();
    t.quiet = quiet;

    char default_data[4096], default_out[4096], hash[17];
    if (!data_dir) {
        DataOptions options = {.vocab_size = cfg.vocab_size};
        data_default_dir(default_data, sizeof default_data, &options);
        data_dir = default_data;
    }
    /* the run's record: its identity as a sweep run's, plus the data it trains on */
    RunSettings settings;
    run_settings_defaults(&settings);
    settings.model = cfg;
    settings.train = t;
    if (settings.train.seq_len == 0) settings.train.seq_len = cfg.seq_len;
    char *record = NULL;
    if ((rc = run_settings_set_data_dir(&settings, data_dir)) ||
        !(record = run_record_json(&settings, data_dir, threads, hash))) {
        fprintf(stderr, "meki train: %s\n", error_message());
        return rc ? rc : 2;
    }
    t.record = record;
    if (!out) {   /* named by the settings, so that two settings never share a folder */
        snprintf(default_out, sizeof default_out, "results/train/%s-%s-%s", preset, memory_kind_name(cfg.memory), hash);
        out = default_out;
    }
    /* everything the flags decide is checked here, before minutes of training */
    int T = t.seq_len > 0 ? t.seq_len : cfg.seq_len;
    const char *flag_problem = NULL;
    if (T > cfg.seq_len) {
        fprintf(stderr, "meki train: --seq-len %d exceeds the model's seq_len %d\n", T, cfg.seq_len);
        flag_problem = "--seq-len";
    } else if (model_check_activations(&cfg, t.batch, T)) {
        fprintf(stderr, "meki train: --batch, --seq-len: %s\n", error_message());
        flag_problem = "--batch";
    } else if (t.tokens < (long)t.batch * T) {
        fprintf(stderr, "meki train: --tokens %ld is less than one batch (--batch %d x --seq-len %d)\n", t.tokens,
                t.batch, T);
        flag_problem = "--tokens";
    } else if (args_check_out_dir("train", "--out", out)) {
        flag_problem = "--out";
    }
    if (flag_problem) { free(record); return 2; }
    /* --fresh: the old checkpoint is moved aside (one rename), and removed once the new run
     * has saved its own; an interrupted fresh run leaves it there, named in the message */
    char checkpoint[4200], aside[4200];
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint.safetensors", out);
    snprintf(aside, sizeof aside, "%s/checkpoint.replaced.safetensors", out);
    int moved = 0;
    if (fresh && checkpoint_exists(out)) {
        if (rename(checkpoint, aside) != 0) {
            fprintf(stderr, "meki train: --fresh: cannot move %s aside: %s\n", checkpoint, strerror(errno));
            free(record);
            return 1;
        }
        moved = 1;
    }
    TrainResult r;
    rc = train_run(&cfg, &t, data_dir, out, NULL, NULL, &r);
    if (moved && checkpoint_exists(out)) unlink(aside);
    else if (moved) fprintf(stderr, "meki train: the replaced checkpoint is kept as %s\n", aside);
    free(record);
    if (rc) { fprintf(stderr, "meki train: %s\n", error_message()); return rc; }
    if (dist_rank() > 0) return r.diverged ? 1 : 0;   /* rank 0 reports for the job */
    report_train(&r, out, json);
    return r.diverged ? 1 : 0;
}

int cmd_train(int argc, char **argv) {
    ArgList sets = {0}, files = {0};
    int rc = train_main(argc, argv, &sets, &files);
    arglist_free(&sets);
    arglist_free(&files);
    return rc;
}
