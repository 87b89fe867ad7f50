/* ./meki train: train one model from a preset (or an experiment file) and report. */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/report.h"
#include "data/dataset.h"
#include "models/train.h"
#include "util/error.h"
#include <stdio.h>
#include <string.h>

int cmd_train(int argc, char **argv) {
    const char *preset = "small", *out = NULL, *data_dir = NULL, *memory = NULL;
    int json = 0, threads = 0, batch = 0, seq_len = 0, quiet = 0;
    long tokens = 0, seed = -1;
    float lr = 0;
    ArgList sets = {0};
    ArgSpec specs[] = {
        {"--preset", ARG_STRING, &preset, "tiny | small | medium | large (default small)", 0, 0},
        {"--memory", ARG_STRING, &memory, "none | meki | ple | engram (shorthand for --set memory.kind=...)", 0, 0},
        {"--set", ARG_STRINGS, &sets, "section.key=value model override, e.g. meki.d_mem=32 (repeatable)", 0, 0},
        {"--tokens", ARG_LONG, &tokens, "training tokens (default 2e6)", 1, 1e13},
        {"--batch", ARG_INT, &batch, "sequences per step (default 16)", 1, 65536},
        {"--seq-len", ARG_INT, &seq_len, "training sequence length (default: the model's)", 2, 65536},
        {"--lr", ARG_FLOAT, &lr, "peak learning rate (default 3e-3)", 1e-9, 10},
        {"--seed", ARG_LONG, &seed, "seed for init and data order (default 1)", 0, ARG_SEED_MAX},
        {"--data", ARG_STRING, &data_dir, "prepared corpus folder (default: ./meki data's)", 0, 0},
        {"--out", ARG_STRING, &out, "run folder (default results/train/<preset>-<memory>)", 0, 0},
        {"--threads", ARG_INT, &threads, "threads (default: all cores)", 0, 1024},
        {"--quiet", ARG_FLAG, &quiet, "no progress output", 0, 0},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL, "[options]");
    if (rc) return rc == 1 ? 0 : rc;

    ModelConfig cfg;
    TrainConfig t;
    train_config_defaults(&t);
    if (model_preset(&cfg, preset)) { fprintf(stderr, "meki train: --preset: %s\n", error_message()); return 2; }
    if (memory && model_config_set(&cfg, "memory.kind", memory)) {
        fprintf(stderr, "meki train: --memory: %s\n", error_message());
        return 2;
    }
    for (int i = 0; i < sets.count; i++) {
        char key[128];
        const char *eq = strchr(sets.items[i], '=');
        if (!eq || eq - sets.items[i] >= (long)sizeof key) {
            fprintf(stderr, "meki train: --set expects section.key=value, got '%s'\n", sets.items[i]);
            return 2;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets.items[i]), sets.items[i]);
        if (model_config_set(&cfg, key, eq + 1)) {
            fprintf(stderr, "meki train: --set %s\n", error_message());
            return 2;
        }
    }
    if (model_config_validate(&cfg)) { fprintf(stderr, "meki train: %s\n", error_message()); return 2; }
    if (tokens) t.tokens = tokens;
    if (batch) t.batch = batch;
    if (seq_len) t.seq_len = seq_len;
    if (lr > 0) t.lr = lr, t.min_lr = lr / 10;   /* 0 and -1: not given (the ranges refuse them) */
    if (seed >= 0) t.seed = (uint64_t)seed;
    t.threads = threads;
    t.quiet = quiet;

    char default_data[4096], default_out[4096];
    if (!data_dir) {
        DataOptions options = {.vocab_size = cfg.vocab_size};
        data_default_dir(default_data, sizeof default_data, &options);
        data_dir = default_data;
    }
    if (!out) {
        snprintf(default_out, sizeof default_out, "results/train/%s-%s", preset, memory_kind_name(cfg.memory));
        out = default_out;
    }
    /* everything the flags decide is checked here, before minutes of training */
    int T = t.seq_len > 0 ? t.seq_len : cfg.seq_len;
    if (T > cfg.seq_len) {
        fprintf(stderr, "meki train: --seq-len %d exceeds the model's seq_len %d\n", T, cfg.seq_len);
        return 2;
    }
    if (model_check_activations(&cfg, t.batch, T)) {
        fprintf(stderr, "meki train: --batch, --seq-len: %s\n", error_message());
        return 2;
    }
    if (t.tokens < (long)t.batch * T) {
        fprintf(stderr, "meki train: --tokens %ld is less than one batch (--batch %d x --seq-len %d)\n", t.tokens,
                t.batch, T);
        return 2;
    }
    if (args_check_out_dir("train", "--out", out)) return 2;
    TrainResult r;
    rc = train_run(&cfg, &t, data_dir, out, NULL, NULL, &r);
    if (rc) { fprintf(stderr, "meki train: %s\n", error_message()); return rc; }
    report_train(&r, out, json);
    return r.diverged ? 1 : 0;
}
