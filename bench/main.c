/* The meki command: dispatches to one file per subcommand. */
#include "bench/commands.h"
#include "util/dist.h"
#include "util/error.h"
#include <stdio.h>
#include <string.h>

static const Command COMMANDS[] = {
    {"data", cmd_data, "prepare the corpus, tokenizer and token shards"},
    {"train", cmd_train, "train a model from a preset or an experiment file"},
    {"fold", cmd_fold, "fold a MeKi checkpoint into a deploy bundle (RAM weights + ROM table)"},
    {"verify", cmd_verify, "check a bundle's ROM tables against their checksums (loads skip it)"},
    {"eval", cmd_eval, "validation loss and perplexity of a checkpoint or bundle"},
    {"export", cmd_export, "a checkpoint or bundle as Hugging Face (safetensors, config, tokenizer.json) or GGUF"},
    {"decode", cmd_decode, "generate text from a prompt (bundle or checkpoint)"},
    {"bench", cmd_bench, "speed figures: training tokens/s and MFU; decode speed and footprint"},
    {"sweep", cmd_sweep, "run every point of an experiment file's grid into the results database"},
    {"runs", cmd_runs, "list the runs of a results database"},
    {"db", cmd_db, "merge results databases, export them as CSV"},
    {"report", cmd_report, "results/report.md and plots from the results database"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: ./meki COMMAND [options]   (./meki COMMAND --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    /* a log of stdout and stderr together reads in order: line buffering, not 4 KiB blocks */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            /* MPI only when a launcher (mpirun, srun) started us: plain runs never load it */
            if (dist_init(&argc, &argv)) {
                fprintf(stderr, "meki: %s\n", error_message());
                return 1;
            }
            int rc = COMMANDS[i].run(argc - 1, argv + 1);
            dist_finalize();
            return rc;
        }
    fprintf(stderr, "meki: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
