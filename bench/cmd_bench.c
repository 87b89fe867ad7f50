/* ./meki bench: speed figures. `train` measures training tokens/s and MFU. */
#include "bench/args.h"
#include "bench/commands.h"
#include "models/speed.h"
#include "util/error.h"
#include "util/json.h"
#include <stdio.h>
#include <string.h>

static int bench_train(int argc, char **argv) {
    const char *preset = "small", *memory = "none";
    int json = 0, threads = 0, batch = 16, steps = 10;
    ArgSpec specs[] = {
        {"--preset", ARG_STRING, &preset, "tiny | small | medium | large (default small)"},
        {"--memory", ARG_STRING, &memory, "none | meki (default none)"},
        {"--batch", ARG_INT, &batch, "sequences per step (default 16)"},
        {"--steps", ARG_INT, &steps, "timed steps after 3 warm-up steps (default 10)"},
        {"--threads", ARG_INT, &threads, "threads (default: all cores)"},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line"},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL, "train [options]");
    if (rc) return rc == 1 ? 0 : rc;
    ModelConfig cfg;
    if (model_preset(&cfg, preset) || model_config_set(&cfg, "memory.kind", memory)) {
        fprintf(stderr, "meki bench train: %s\n", error_message());
        return 2;
    }
    if (batch <= 0 || steps <= 0) { fprintf(stderr, "meki bench train: --batch and --steps must be positive\n"); return 2; }
    TrainSpeed s;
    if ((rc = measure_train_speed(&cfg, batch, steps, threads, &s))) {
        fprintf(stderr, "meki bench train: %s\n", error_message());
        return rc;
    }
    double total = s.forward_seconds + s.backward_seconds + s.optimizer_seconds;
    printf("preset %s memory %s: batch %d x %d, %d threads\n", preset, memory, s.batch, s.seq_len, s.threads);
    printf("train %.0f tok/s, %.1f ms/step (forward %.0f%%, backward %.0f%%, optimizer %.0f%%)\n",
           s.train_tok_s, 1e3 * s.step_seconds, 100 * s.forward_seconds / total,
           100 * s.backward_seconds / total, 100 * s.optimizer_seconds / total);
    printf("model %.3g GFLOP/s = MFU %.3f of sgemm %.3g GFLOP/s\n",
           s.train_tok_s * s.train_flops_per_token / 1e9, s.mfu, s.sgemm_flops / 1e9);
    if (json) {
        Json j;
        json_begin(&j);
        json_string(&j, "preset", preset);
        json_string(&j, "memory", memory);
        json_int(&j, "threads", s.threads);
        json_number(&j, "train_tok_s", s.train_tok_s);
        json_number(&j, "mfu", s.mfu);
        json_number(&j, "sgemm_flop_s", s.sgemm_flops);
        json_number(&j, "train_flops_per_token", s.train_flops_per_token);
        json_int(&j, "ram_params", s.ram_params);
        json_int(&j, "rom_weights", s.rom_weights);
        printf("%s\n", json_end(&j));
        json_free(&j);
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "train")) return bench_train(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: ./meki bench train [--preset NAME] [--memory none|meki] [--json]\n");
        return 0;
    }
    fprintf(stderr, "meki bench: expected 'train' (see ./meki bench --help)\n");
    return 2;
}
