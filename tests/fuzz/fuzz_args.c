/* args_parse on an arbitrary argument vector (the input split at NUL bytes) against a
 * table with one option of every type. */
#include "bench/args.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *words[130], *buffer;
    int n = fuzz_split_words(data, size, words + 1, 128, &buffer);
    words[0] = (char *)"fuzz";
    int flag = 0, count = 0;
    long tokens = 0;
    float lr = 0;
    const char *out = NULL;
    ArgList corpus = {0}, positional = {0};
    const ArgSpec specs[] = {
        {"--quiet", ARG_FLAG, &flag, "a flag"},
        {"--threads", ARG_INT, &count, "an int"},
        {"--tokens", ARG_LONG, &tokens, "a long"},
        {"--lr", ARG_FLOAT, &lr, "a float"},
        {"--out", ARG_STRING, &out, "a string"},
        {"--corpus", ARG_STRINGS, &corpus, "strings"},
        {"-o", ARG_STRING, &out, "a short one"},
    };
    int rc = args_parse(n + 1, words, specs, sizeof specs / sizeof specs[0],
                        (size % 2) ? &positional : NULL, "[options]");
    if (rc < 0 || rc > 2 || corpus.count > 64 || positional.count > 64) abort();
    for (int i = 0; i < corpus.count; i++)
        if (!corpus.items[i]) abort();
    free(buffer);
    return 0;
}
