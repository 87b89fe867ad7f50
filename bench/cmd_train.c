/* ./meki train: train one model from a preset (or an experiment file) and report. */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/report.h"
#include "data/dataset.h"
#include "kernels/gemm.h"
#include "models/memory.h"
#include "train/checkpoint.h"
#include "train/curve.h"
#include "train/record.h"
#include "train/train.h"
#include "runner/record.h"
#include "runner/experiment.h"
#include "util/dist.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <signal.h>
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
    DataSummary summary;
    rc = run_settings_prepare_data(s, &summary);
    if (rc) fprintf(stderr, "meki train: preparing the data: %s\n", error_message());
    else snprintf(data_dir, size, "%s", summary.dir);
    experiment_free(exp);
    free(exp);
    return rc == OK ? 0 : rc == ERR_INPUT ? 2 : 1;
}

/* The files a --fresh run moves aside, and their names while aside: removed once the new
 * run has saved its own checkpoint. */
static const char *const REPLACED[2][2] = {{"checkpoint.safetensors", "checkpoint.replaced.safetensors"},
                                           {"curve.log", "curve.replaced.log"}};

static void run_file(char *path, size_t size, const char *out, int file, int aside) {
    snprintf(path, size, "%s/%s", out, REPLACED[file][aside]);
}

/* What a killed --fresh run left (issue 26, 11): when it saved a checkpoint of its own, the
 * replaced files are removed; when it was killed before, they are put back, and config.json
 * (already the new run's) describes the restored checkpoint again. Either way it is said. */
static void settle_replaced(const char *out, int after_this_run) {
    char path[4200], aside[4200];
    run_file(aside, sizeof aside, out, 0, 1);
    if (!file_exists(aside)) return;
    int saved = checkpoint_exists(out);
    for (int f = 0; f < 2; f++) {
        run_file(path, sizeof path, out, f, 0);
        run_file(aside, sizeof aside, out, f, 1);
        if (saved) unlink(aside);
        else if (file_exists(aside)) rename(aside, path);
    }
    run_file(aside, sizeof aside, out, 0, 1);
    if (saved && after_this_run) return;   /* the usual end of a --fresh run */
    if (saved) {
        fprintf(stderr, "meki train: removed %s: the --fresh run that replaced it had saved its own "
                "checkpoint before it was interrupted\n", aside);
        return;
    }
    char *record = checkpoint_record(out);
    snprintf(path, sizeof path, "%s/config.json", out);
    if (record) record_write(path, record);
    free(record);
    if (after_this_run)
        fprintf(stderr, "meki train: this --fresh run saved no checkpoint: the one it replaced is back as "
                "%s/checkpoint.safetensors\n", out);
    else
        fprintf(stderr, "meki train: a --fresh run in %s was interrupted before its first checkpoint: the "
                "checkpoint it replaced is back as checkpoint.safetensors (give --fresh again to replace it)\n", out);
}

/* SIGINT / SIGTERM: the step ends, a checkpoint is saved and train says how to resume; the
 * handler resets itself, so a second Ctrl-C stops at once. */
static void on_signal(int sig) {
    static const char message[] = "\nmeki train: stopping: saving a checkpoint at the end of this step "
                                  "(interrupt again to stop at once)\n";
    train_request_stop(sig);
    if (write(2, message, sizeof message - 1) < 0) {}
}

static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The command to run again to resume: this one without --fresh (which would start over). */
static void print_resume_command(int argc, char **argv) {
    fprintf(stderr, "resume with: ./meki");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--fresh")) continue;
        int plain = argv[i][0] != 0;
        for (const char *c = argv[i]; *c && plain; c++)
            plain = strchr("-_./=,:+@%", *c) || (*c >= '0' && *c <= '9') || ((*c | 32) >= 'a' && (*c | 32) <= 'z');
        if (plain) fprintf(stderr, " %s", argv[i]);
        else {
            fputs(" '", stderr);
            for (const char *c = argv[i]; *c; c++) {
                if (*c == '\'') fputs("'\\''", stderr);
                else fputc(*c, stderr);
            }
            fputc('\'', stderr);
        }
    }
    fputc('\n', stderr);
}

static int train_main(int argc, char **argv, ArgList *sets, ArgList *files) {
    const char *preset = "small", *out = NULL, *data_dir = NULL, *memory = NULL;
    int json = 0, threads = 0, batch = 0, seq_len = 0, quiet = 0, fresh = 0, decay_embeddings = 0, scaled_init = 0;
    const char *allreduce = "sparse", *precision = NULL;
    long tokens = 0, seed = -1, stop_after = 0, final_tokens = TRAIN_FINAL_AUTO, checkpoint_seconds = -1;
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
        {"--checkpoint-seconds", ARG_LONG, &checkpoint_seconds, "a checkpoint whenever this many seconds passed since the last (default 300; 0: only at the end)", 0, 1e9},
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
    if (checkpoint_seconds >= 0) t.checkpoint_seconds = (int)checkpoint_seconds;
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
    /* --fresh: the old checkpoint (and curve) are moved aside, and removed once the new run
     * has saved its own; a run that saved none gets them back (settle_replaced) */
    char checkpoint[4200], aside[4200];
    int root = dist_rank() == 0, moved = 0;
    if (root) settle_replaced(out, 0);
    if (root && fresh && checkpoint_exists(out)) {
        for (int f = 0; f < 2 && !moved; f++) {
            run_file(checkpoint, sizeof checkpoint, out, f, 0);
            run_file(aside, sizeof aside, out, f, 1);
            if (rename(checkpoint, aside) != 0 && (f == 0 || errno != ENOENT)) {
                fprintf(stderr, "meki train: --fresh: cannot move %s aside: %s\n", checkpoint, strerror(errno));
                free(record);
                return 1;
            }
        }
        moved = 1;
    }
    /* the curve as a sweep keeps it (train/curve.h); rank 0 alone writes the run folder */
    CurveLog curve = {0};
    if (root && make_dirs(out) == OK) curve_open(&curve, out);
    error_clear();
    catch_signals();
    TrainResult r;
    rc = train_run(&cfg, &t, data_dir, out, root ? curve_on_train_step : NULL, &curve, &r);
    curve_close(&curve);
    if (moved) settle_replaced(out, 1);
    free(record);
    if (rc) { fprintf(stderr, "meki train: %s\n", error_message()); return rc; }
    if (r.interrupted) {
        long total = t.tokens / ((long)t.batch * (t.seq_len > 0 ? t.seq_len : cfg.seq_len));
        if (!root) return 128 + r.interrupted;
        fprintf(stderr, "meki train: interrupted (%s) at step %ld of %ld: checkpoint saved in %s\n",
                r.interrupted == SIGINT ? "SIGINT" : r.interrupted == SIGTERM ? "SIGTERM" : "signal", r.steps, total, out);
        print_resume_command(argc, argv);
        return 128 + r.interrupted;
    }
    if (!root) return r.diverged ? 1 : 0;   /* rank 0 reports for the job */
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
