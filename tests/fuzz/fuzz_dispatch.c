/* Whole subcommand dispatch, as ./meki does it: the first word (input split at NUL bytes)
 * names the command, the rest are its arguments. args_parse is wrapped (-Wl,--wrap) so
 * that a command line it accepts stops there as if --help had been given: everything up
 * to the parse runs, nothing heavy (training, files) does. */
#include "bench/args.h"
#include "bench/commands.h"
#include "tests/fuzz/fuzz_common.h"

int __real_args_parse(int argc, char **argv, const ArgSpec *specs, int n_specs, ArgList *positional,
                      const char *usage_line);
int __wrap_args_parse(int argc, char **argv, const ArgSpec *specs, int n_specs, ArgList *positional,
                      const char *usage_line) {
    int rc = __real_args_parse(argc, argv, specs, n_specs, positional, usage_line);
    return rc == 0 ? 1 : rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *words[130], *buffer;
    int n = fuzz_split_words(data, size, words, 129, &buffer);
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(words[0], COMMANDS[i].name)) {
            words[n] = NULL;
            int rc = COMMANDS[i].run(n, words);
            if (rc < 0 || rc > 2) abort();
            break;
        }
    free(buffer);
    return 0;
}
