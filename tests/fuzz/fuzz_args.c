/* args_parse on an arbitrary argument vector (the input split at NUL bytes) against a
 * table with one option of every type. */
#include "bench/args.h"
#include "tests/fuzz/fuzz_common.h"
#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *words[130], *buffer;
    int n = fuzz_split_words(data, size, words + 1, 128, &buffer);
    words[0] = (char *)"fuzz";
    int flag = 0, threads = 0, batch = 0;
    long tokens = 0, seed = 0;
    float lr = 0, scale = 0;
    const char *out = NULL;
    ArgList corpus = {0}, positional = {0};
    const ArgSpec specs[] = {
        {"--quiet", ARG_FLAG, &flag, "a flag", 0, 0},
        {"--threads", ARG_INT, &threads, "an int in a range", 0, 1024},
        {"--batch", ARG_INT, &batch, "any int", 0, 0},
        {"--tokens", ARG_LONG, &tokens, "a long in a range", 1, 1e13},
        {"--seed", ARG_LONG, &seed, "any long", 0, 0},
        {"--lr", ARG_FLOAT, &lr, "a float in a range", 1e-9, 10},
        {"--scale", ARG_FLOAT, &scale, "any float", 0, 0},
        {"--out", ARG_STRING, &out, "a string", 0, 0},
        {"--corpus", ARG_STRINGS, &corpus, "strings", 0, 0},
        {"-o", ARG_STRING, &out, "a short one", 0, 0},
    };
    int rc = args_parse(n + 1, words, specs, sizeof specs / sizeof specs[0],
                        (size % 2) ? &positional : NULL, "[options]");
    if (rc < 0 || rc > 2 || corpus.count > n || positional.count > n) abort();   /* lists grow, never past the words */
    /* a value outside its flag's range, or not finite, is never stored */
    if (threads < 0 || threads > 1024 || tokens < 0 || tokens > 1e13 || lr < 0 || lr > 10 || !isfinite(scale))
        abort();
    for (int i = 0; i < corpus.count; i++)
        if (!corpus.items[i]) abort();
    arglist_free(&corpus);
    arglist_free(&positional);
    free(buffer);
    return 0;
}
