/* ./meki data: prepare the corpus, tokenizer and token files, then print their figures. */
#include "bench/args.h"
#include "bench/commands.h"
#include "data/dataset.h"
#include "data/shards.h"
#include "util/error.h"
#include "util/json.h"
#include "util/timer.h"
#include <stdio.h>
#include <string.h>

static double ratio(long a, long b) { return b > 0 ? (double)a / (double)b : 0.0; }

static void print_summary(const DataSummary *s, int asked_vocab, int reused, double seconds) {
    printf("folder            %s%s\n", s->dir, reused ? " (already prepared)" : "");
    if (s->vocab_size == asked_vocab) printf("vocab size        %d\n", s->vocab_size);
    else printf("vocab size        %d (asked %d: no more pairs to merge)\n", s->vocab_size, asked_vocab);
    printf("documents         %d (%d held out for validation)\n", s->documents, s->val_documents);
    if (s->no_tokenizer) {   /* ids from outside: no text, so no bytes */
        printf("train             %ld tokens (token shards, read in place)\n", s->train_tokens);
        printf("val               %ld tokens (no tokenizer: bits per byte unavailable)\n", s->val_tokens);
    } else {
        printf("train             %ld tokens, %ld bytes, %.3f bytes/token\n", s->train_tokens,
               s->train_bytes, ratio(s->train_bytes, s->train_tokens));
        printf("val               %ld tokens, %ld bytes, %.3f bytes/token\n", s->val_tokens,
               s->val_bytes, ratio(s->val_bytes, s->val_tokens));
    }
    printf("unigram val ppl   %.2f\n", s->unigram_val_ppl);
    printf("elapsed           %.2f s\n", seconds);
}

static void print_json(const DataSummary *s, int reused, double seconds) {
    Json j;
    json_begin(&j);
    json_string(&j, "dir", s->dir);
    json_int(&j, "vocab_size", s->vocab_size);
    json_raw(&j, "tokenizer", s->no_tokenizer ? "false" : "true");
    json_int(&j, "documents", s->documents);
    json_int(&j, "val_documents", s->val_documents);
    json_int(&j, "train_tokens", s->train_tokens);
    json_int(&j, "val_tokens", s->val_tokens);
    json_int(&j, "train_bytes", s->train_bytes);
    json_int(&j, "val_bytes", s->val_bytes);
    json_number(&j, "train_bytes_per_token", ratio(s->train_bytes, s->train_tokens));
    json_number(&j, "val_bytes_per_token", ratio(s->val_bytes, s->val_tokens));
    json_number(&j, "unigram_val_ppl", s->unigram_val_ppl);
    json_raw(&j, "reused", reused ? "true" : "false");
    json_number(&j, "elapsed_s", seconds);
    printf("%s\n", json_end(&j));
    json_free(&j);
}

/* --shards: token files made elsewhere (data/shards.h) instead of text. */
static int prepare_shards(const ArgList *train, const ArgList *val, const char *format, int vocab,
                          const char *out, int verify, DataSummary *summary, int *reused) {
    ShardOptions o = {.train = train->items, .n_train = train->count, .val = val->items,
                      .n_val = val->count, .vocab_size = vocab, .out_dir = out, .verify = verify};
    int rc = shard_format_parse(format, &o.format);
    return rc ? rc : shards_prepare(&o, summary, stderr, reused);
}

static int data_main(int argc, char **argv, ArgList *corpus, ArgList *shards, ArgList *val_shards) {
    int vocab = 0, json = 0, verify = 0;
    const char *out = NULL, *jsonl_field = NULL, *shard_format = "llmc", *tokenizer = NULL;
    const char *debian_root = NULL, *debian_sources = NULL;
    const ArgSpec specs[] = {
        {"--corpus", ARG_STRINGS, corpus, "text files (one document each; FILE.jsonl: one a line), folders (their files, recursively, sorted by name; hidden ones skipped) or @LIST (a file naming one input a line, relative to it; # comments); debian: the built-in multi-domain corpus from Debian packages (make corpus-debian); default: the KJV Bible", 0, 0},
        {"--jsonl-field", ARG_STRING, &jsonl_field, "the field holding the document in .jsonl inputs (one JSON object a line; default text)", 0, 0},
        {"--tokenizer", ARG_STRING, &tokenizer, "a Hugging Face tokenizer.json (byte-level BPE) used in place of learning a BPE; --vocab is then ignored (docs/interop.md)", 0, 0},
        {"--vocab", ARG_INT, &vocab, "BPE vocabulary size, 256..32768 (default 4096); with --shards the ids' vocabulary, 256..65536 (default 50257, GPT-2's)", 256, 65536},
        {"--shards", ARG_STRINGS, shards, "pre-tokenized train shards, files or quoted glob patterns ('DIR/*_train_*.bin'): used in place, read whole once to check them", 0, 0},
        {"--val-shards", ARG_STRINGS, val_shards, "the held-out shards that go with --shards (copied into the folder's val.tok)", 0, 0},
        {"--shard-format", ARG_STRING, &shard_format, "llmc (256 int32 header, magic 20240520, uint16 ids; default) | raw (nanoGPT's uint16 .bin)", 0, 0},
        {"--verify", ARG_FLAG, &verify, "read every token file of the folder whole again, even when it looks unchanged", 0, 0},
        {"--debian-root", ARG_STRING, &debian_root, "with --corpus debian: the installed Debian tree to read (a chroot; its dpkg database in DIR/var/lib/dpkg; default /)", 0, 0},
        {"--debian-sources", ARG_STRING, &debian_sources, "with --corpus debian: the sources to read, comma-separated (docs/guide.md lists them; default all)", 0, 0},
        {"--out", ARG_STRING, &out, "output folder (default data/cache/<corpus>-v<vocab>)", 0, 0},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON object on the last line", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "[--corpus FILE|DIR|@LIST...] [--vocab N | --tokenizer tokenizer.json] [--shards FILES --val-shards FILES] [--out DIR] [--json]");
    if (rc) return rc == 1 ? 0 : 2;
    if (out && args_check_out_dir("data", "--out", out)) return 2;
    if ((shards->count || val_shards->count) && (corpus->count || jsonl_field)) {
        fprintf(stderr, "meki data: --shards (token ids) and --corpus (text) do not go together\n");
        return 2;
    }
    if (shards->count && tokenizer) {
        fprintf(stderr, "meki data: --shards (token ids) and --tokenizer (for text) do not go together\n");
        return 2;
    }
    if (val_shards->count && !shards->count) {
        fprintf(stderr, "meki data: --val-shards needs --shards\n");
        return 2;
    }
    if (!shards->count && vocab > 32768) {
        fprintf(stderr, "meki data: --vocab %d: a BPE vocabulary is 256..32768 (above that: --shards)\n", vocab);
        return 2;
    }
    DataOptions options = {.corpus_files = corpus->items, .n_files = corpus->count,
                           .vocab_size = vocab, .out_dir = out, .jsonl_field = jsonl_field,
                           .verify = verify, .tokenizer = tokenizer, .debian_root = debian_root, .debian_sources = debian_sources};
    if (corpus->count == 1 && !strcmp(corpus->items[0], "debian")) {   /* ./debian names a folder */
        options.builtin = "debian";
        options.n_files = 0;
    }
    DataSummary summary;
    int reused = 0;
    double start = now_seconds();
    rc = shards->count ? prepare_shards(shards, val_shards, shard_format, vocab, out, verify, &summary, &reused)
                       : dataset_prepare_logged(&options, &summary, stderr, &reused);
    if (rc) {
        fprintf(stderr, "meki data: %s\n", error_message());
        return rc == ERR_INPUT ? 2 : 1;
    }
    double seconds = now_seconds() - start;
    print_summary(&summary, summary.no_tokenizer || tokenizer || !vocab ? summary.vocab_size : vocab, reused, seconds);
    if (json) print_json(&summary, reused, seconds);
    return 0;
}

int cmd_data(int argc, char **argv) {
    ArgList corpus = {0}, shards = {0}, val_shards = {0};
    int rc = data_main(argc, argv, &corpus, &shards, &val_shards);
    arglist_free(&corpus);
    arglist_free(&shards);
    arglist_free(&val_shards);
    return rc;
}
