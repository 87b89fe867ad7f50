/* The subcommands, in the order ./meki --help lists them (also what fuzz_dispatch runs). */
#include "bench/commands.h"

const Command COMMANDS[] = {
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
    {"reference", cmd_reference, "every command's flags and every experiment-file key, as markdown (docs/reference.md)"},
};
const int N_COMMANDS = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);
