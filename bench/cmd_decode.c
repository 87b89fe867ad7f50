/* ./meki decode: generate text from a prompt with the inference engine, from a deploy
 * bundle (folded, ROM table) or a training checkpoint (dense, or MeKi unfolded). */
#include "bench/args.h"
#include "bench/commands.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "kernels/gemm.h"
#include "kernels/wquant.h"
#include "train/checkpoint.h"
#include "infer/engine.h"
#include "deploy/fold.h"
#include "train/record.h"
#include "infer/sampler.h"
#include "util/error.h"
#include "util/timer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *bundle, *checkpoint, *prompt, *dtype, *data_dir, *prefetch, *weights;
    int tokens, threads, topk;
    float temperature, top_p;
    long seed;
} DecodeArgs;

static int load_model(Model *m, const DecodeArgs *a) {
    TrainState state;
    if (a->checkpoint) return checkpoint_load(m, a->checkpoint, 0, &state);
    int dtype = table_dtype_parse(a->dtype);
    if (dtype < 0) return error_set(ERR_INPUT, "--table-dtype: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)", a->dtype);
    return bundle_load(m, a->bundle, (TableDtype)dtype);
}

/* The tokenizer of the prepared corpus the model was trained on (its record says which),
 * or of --data when it is the same tokenizer (any, for a model trained on token shards). */
static int load_tokenizer(Tokenizer **tok, const DecodeArgs *a, const Model *m) {
    char dir[4096], data_dir[4096];
    int vocab_size = m->cfg.vocab_size;
    DataOptions options = {.vocab_size = vocab_size};
    data_default_dir(dir, sizeof dir, &options);
    int rc = record_data_dir(m->record, a->data_dir, dir, data_dir, sizeof data_dir);
    if (rc) return rc;
    return dataset_tokenizer_load(data_dir, vocab_size, tok);
}

static int encode_prompt(const Tokenizer *tok, const char *prompt, int32_t **out, int *n) {
    uint16_t *ids = NULL;
    long count = 0;
    int rc = tokenizer_encode(tok, (const unsigned char *)prompt, strlen(prompt), &ids, &count);
    if (rc) return rc;
    if (count < 1) { free(ids); return error_set(ERR_INPUT, "--prompt is empty: give at least one character"); }
    *out = malloc(sizeof(int32_t) * count);
    if (!*out) { free(ids); return error_set(ERR_FAILURE, "out of memory"); }
    for (long i = 0; i < count; i++) (*out)[i] = ids[i];
    *n = (int)count;
    free(ids);
    return OK;
}

/* Control bytes are shown as \xNN (but newline and tab): a sampled ESC ] starts a terminal
 * sequence that swallowed the rest of the text and the newline before the figures. */
static void print_token(const Tokenizer *tok, int id) {
    int length;
    const unsigned char *bytes = tokenizer_token_bytes(tok, id, &length);
    for (int i = 0; i < length; i++) {
        unsigned char c = bytes[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    fflush(stdout);
}

/* Prompt, then one sampled token at a time; the timing goes to stderr. */
static int generate(Model *m, const Tokenizer *tok, const int32_t *prompt, int n_prompt,
                    const DecodeArgs *a) {
    Engine e;
    Sampler s;
    int weights = weights_dtype_parse(a->weights);   /* packed: the f32 copies leave the process */
    int rc = engine_create(&e, m, n_prompt + a->tokens, 0);
    if (rc) return rc;
    if ((rc = sampler_create(&s, m->cfg.vocab_size, a->temperature, a->top_p, (unsigned long long)a->seed))) {
        engine_free(&e);
        return rc;
    }
    if ((rc = engine_set_prefetch(&e, (PrefetchMode)prefetch_mode_parse(a->prefetch))) ||
        (rc = engine_set_prefetch_topk(&e, a->topk)) ||
        (rc = weights == WEIGHTS_F32 ? OK : engine_set_weights_dtype_release(&e, m, weights))) {
        sampler_free(&s);
        engine_free(&e);
        return rc;
    }
    fputs(a->prompt, stdout);
    double start = now_seconds();
    const float *logits = engine_prefill(&e, prompt, n_prompt, 0);
    double prefill_seconds = now_seconds() - start;
    start = now_seconds();
    for (int i = 0; logits && i < a->tokens; i++) {
        int next = sampler_next(&s, logits);
        print_token(tok, next);
        if (i + 1 < a->tokens) logits = engine_forward(&e, next, n_prompt + i);
    }
    double decode_seconds = now_seconds() - start;
    printf("\n");   /* end the text, and flush it before the figures go to stderr */
    fflush(stdout);
    if (!logits) rc = ERR_FAILURE;
    else if (n_prompt + a->tokens > m->cfg.seq_len)
        fprintf(stderr, "note: %d positions exceed the %d the model was trained on\n",
                n_prompt + a->tokens, m->cfg.seq_len);
    fprintf(stderr, "prompt %d tokens at %.0f tok/s, generated %d at %.1f tok/s (%s model)\n",
            n_prompt, n_prompt / prefill_seconds, a->tokens, a->tokens / decode_seconds,
            m->cfg.memory == MEMORY_NONE ? "dense" : m->folded ? "folded" : "unfolded");
    long steps, hits;
    engine_prefetch_hits(&e, &steps, &hits);
    if (logits && steps)
        fprintf(stderr, "top-%d prefetch: %ld of %ld sampled tokens were among the candidates (hit rate %.3f)\n",
                a->topk, hits, steps, (double)hits / steps);
    sampler_free(&s);
    engine_free(&e);
    return rc;
}

int cmd_decode(int argc, char **argv) {
    DecodeArgs a = {.dtype = "f32", .prefetch = "madvise", .weights = "f32", .tokens = 64, .threads = 1, .temperature = 0.8f, .top_p = 0.95f, .seed = 1,
                  .topk = ENGINE_DEFAULT_PREFETCH_TOPK};
    ArgSpec specs[] = {
        {"--bundle", ARG_STRING, &a.bundle, "deploy bundle folder (folded model, ROM table)", 0, 0},
        {"--checkpoint", ARG_STRING, &a.checkpoint, "training run folder (dense or unfolded MeKi)", 0, 0},
        {"--prompt", ARG_STRING, &a.prompt, "text to continue", 0, 0},
        {"-n", ARG_INT, &a.tokens, "tokens to generate (default 64)", 1, 10000000},
        {"--temperature", ARG_FLOAT, &a.temperature, "softmax temperature; 0 is greedy (default 0.8)", 0, 100},
        {"--top-p", ARG_FLOAT, &a.top_p, "nucleus: smallest set of tokens with this mass (default 0.95)", 1e-6, 1},
        {"--seed", ARG_LONG, &a.seed, "sampling seed (default 1)", 0, ARG_SEED_MAX},
        {"--table-dtype", ARG_STRING, &a.dtype, "which ROM table of the bundle (default f32)", 0, 0},
        {"--data", ARG_STRING, &a.data_dir, "prepared corpus folder holding tokenizer.bin (default: the model's own)", 0, 0},
        {"--prefetch", ARG_STRING, &a.prefetch, "ROM rows: madvise | thread | off (default madvise)", 0, 0},
        {"--prefetch-topk", ARG_INT, &a.topk, "after each step also prefetch the ROM rows of the K likeliest next tokens (0: off)", 0, 1000000},
        {"--threads", ARG_INT, &a.threads, "threads (default 1: decoding is matrix-vector work)", 0, 1024},
        {"--weights-dtype", ARG_STRING, &a.weights, "RAM weights of decode steps: f32 | bf16 | q8_0 (default f32)", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "(--bundle DIR | --checkpoint DIR) --prompt TEXT [-n N] [--temperature T] [--top-p P] [--seed S]");
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.bundle == !a.checkpoint) { fprintf(stderr, "meki decode: give exactly one of --bundle or --checkpoint\n"); return 2; }
    if (!a.prompt) { fprintf(stderr, "meki decode: --prompt is required\n"); return 2; }
    if (prefetch_mode_parse(a.prefetch) < 0) {
        fprintf(stderr, "meki decode: --prefetch: unknown mode '%s' (madvise, thread, off)\n", a.prefetch);
        return 2;
    }
    if (weights_dtype_parse(a.weights) < 0) {
        fprintf(stderr, "meki decode: --weights-dtype: unknown dtype '%s' (f32, bf16, q8_0)\n", a.weights);
        return 2;
    }
    /* top-k prefetch reads ahead in the ROM table: without one, or with prefetching off,
     * the flag would do nothing while the user believes it measured something */
    if (a.topk && prefetch_mode_parse(a.prefetch) == PREFETCH_OFF) {
        fprintf(stderr, "meki decode: --prefetch-topk %d does nothing with --prefetch off: drop one of them\n", a.topk);
        return 2;
    }
    if (a.topk && !a.bundle) {
        fprintf(stderr, "meki decode: --prefetch-topk %d needs a ROM table to prefetch from: give a --bundle, "
                "not a --checkpoint\n", a.topk);
        return 2;
    }
    kernels_set_threads(a.threads);
    Model m;
    Tokenizer *tok = NULL;
    int32_t *prompt = NULL;
    int n_prompt = 0;
    if ((rc = load_model(&m, &a))) { fprintf(stderr, "meki decode: %s\n", error_message()); return rc; }
    if (!(rc = load_tokenizer(&tok, &a, &m)) && !(rc = encode_prompt(tok, a.prompt, &prompt, &n_prompt))) {
        if (engine_check_context(&m.cfg, (long)n_prompt + a.tokens, 0)) {
            fprintf(stderr, "meki decode: -n %d after a %d-token --prompt: %s\n", a.tokens, n_prompt, error_message());
            rc = ERR_INPUT;
        } else if ((rc = generate(&m, tok, prompt, n_prompt, &a))) {
            fprintf(stderr, "meki decode: %s\n", error_message());
        }
    } else {
        fprintf(stderr, "meki decode: %s\n", error_message());
    }
    free(prompt);
    tokenizer_free(tok);
    model_free(&m);
    return rc;
}
