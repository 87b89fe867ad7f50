/* ./meki train: train one model from a preset (or an experiment file) and report. */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/report.h"
#include "data/dataset.h"
#include "models/train.h"
#include "util/dist.h"
#include "util/error.h"
#include <stdio.h>
#include <string.h>

int cmd_train(int argc, char **argv) {
    const char *preset = "small", *out = NULL, *data_dir = NULL, *memory = NULL;
    int json = 0, threads = 0, batch = 0, seq_len = 0, quiet = 0;
    const char *allreduce = "sparse";
    long tokens = 0, seed = -1, stop_after = 0;
    float lr = 0;
    ArgList sets = {0};
    ArgSpec specs[] = {
        {"--preset", ARG_STRING, &preset, "tiny | small | medium | large (default small)"},
        {"--memory", ARG_STRING, &memory, "none | meki | ple | engram (shorthand for --set memory.kind=...)"},
        {"--set", ARG_STRINGS, &sets, "section.key=value model override, e.g. meki.d_mem=32 (repeatable)"},
        {"--tokens", ARG_LONG, &tokens, "training tokens (default 2e6)"},
        {"--batch", ARG_INT, &batch, "sequences per step (default 16)"},
        {"--seq-len", ARG_INT, &seq_len, "training sequence length (default: the model's)"},
        {"--lr", ARG_FLOAT, &lr, "peak learning rate (default 3e-3)"},
        {"--seed", ARG_LONG, &seed, "seed for init and data order (default 1)"},
        {"--data", ARG_STRING, &data_dir, "prepared corpus folder (default: ./meki data's)"},
        {"--out", ARG_STRING, &out, "run folder (default results/train/<preset>-<memory>)"},
        {"--threads", ARG_INT, &threads, "threads (default: all cores; under mpirun: shared by the local ranks)"},
        {"--allreduce", ARG_STRING, &allreduce, "under mpirun: sparse (memory tables send touched rows) | dense"},
        {"--stop-after", ARG_LONG, &stop_after, "checkpoint and stop at this step, unfinished (resume by running again)"},
        {"--quiet", ARG_FLAG, &quiet, "no progress output"},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line"},
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
    if (lr > 0) t.lr = lr, t.min_lr = lr / 10;
    if (seed >= 0) t.seed = (uint64_t)seed;
    if (strcmp(allreduce, "sparse") && strcmp(allreduce, "dense")) {
        fprintf(stderr, "meki train: --allreduce must be sparse or dense, not '%s'\n", allreduce);
        return 2;
    }
    t.dense_allreduce = !strcmp(allreduce, "dense");
    if (stop_after < 0) { fprintf(stderr, "meki train: --stop-after must be >= 0\n"); return 2; }
    t.stop_after_steps = stop_after;
    t.threads = threads > 0 || !dist_active() ? threads : dist_default_threads();
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
    TrainResult r;
    rc = train_run(&cfg, &t, data_dir, out, NULL, NULL, &r);
    if (rc) { fprintf(stderr, "meki train: %s\n", error_message()); return rc; }
    if (dist_rank() > 0) return r.diverged ? 1 : 0;   /* rank 0 reports for the job */
    report_train(&r, out, json);
    return r.diverged ? 1 : 0;
}
