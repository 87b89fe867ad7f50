/* ./meki bench: speed figures. `train` measures training tokens/s and MFU; `decode` the
 * prefill and decode speed and the footprint of a bundle against its dense twin. */
#include "bench/args.h"
#include "bench/commands.h"
#include "kernels/gemm.h"
#include "kernels/membw.h"
#include "kernels/wquant.h"
#include "models/memory.h"
#include "bench/decode_bench.h"
#include "train/record.h"
#include "bench/speed.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bench_train(int argc, char **argv) {
    const char *preset = "small", *memory = "none", *precision_text = "f32", *gemm_text = "auto";
    int json = 0, threads = 0, batch = 16, steps = 10;
    char preset_help[160], memory_help[160], names[128];
    model_preset_names(names, sizeof names, " | ");
    snprintf(preset_help, sizeof preset_help, "%s (default small)", names);
    memory_kind_names(names, sizeof names, " | ");
    snprintf(memory_help, sizeof memory_help, "%s (default none)", names);
    ArgSpec specs[] = {
        {"--preset", ARG_STRING, &preset, preset_help, 0, 0},
        {"--memory", ARG_STRING, &memory, memory_help, 0, 0},
        {"--batch", ARG_INT, &batch, "sequences per step (default 16)", 1, 65536},
        {"--steps", ARG_INT, &steps, "timed steps after 3 warm-up steps (default 10)", 1, 100000},
        {"--threads", ARG_INT, &threads, "threads (default: all cores)", 0, 1024},
        {"--precision", ARG_STRING, &precision_text, "f32 | bf16: the GEMMs' operands (default f32)", 0, 0},
        {"--gemm", ARG_STRING, &gemm_text, "auto | openblas | onednn: the f32 GEMMs' library (default auto)", 0, 0},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line", 0, 0},
    };
    char name[] = "bench train";   /* argv[0] is "train": help would say ./meki train train */
    argv[0] = name;
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL, "[options]");
    if (rc) return rc == 1 ? 0 : rc;
    ModelConfig cfg;
    if (model_preset(&cfg, preset) || model_config_set(&cfg, "memory.kind", memory)) {
        fprintf(stderr, "meki bench train: %s\n", error_message());
        return 2;
    }
    int precision = precision_parse(precision_text), backend = gemm_backend_parse(gemm_text);
    if (precision < 0) {
        fprintf(stderr, "meki bench train: --precision must be f32 or bf16, not '%s'\n", precision_text);
        return 2;
    }
    if (backend < 0) {
        fprintf(stderr, "meki bench train: --gemm must be auto, openblas or onednn, not '%s'\n", gemm_text);
        return 2;
    }
    if (gemm_set_backend((GemmBackend)backend)) {
        fprintf(stderr, "meki bench train: %s\n", error_message());
        return 2;
    }
    TrainSpeed s;
    if ((rc = measure_train_speed(&cfg, batch, steps, threads, precision, &s))) {
        fprintf(stderr, "meki bench train: %s\n", error_message());
        return rc;
    }
    double total = s.forward_seconds + s.backward_seconds + s.optimizer_seconds;
    printf("preset %s memory %s: batch %d x %d, %d threads\n", preset, memory, s.batch, s.seq_len, s.threads);
    printf("train %.0f tok/s, %.1f ms/step (forward %.0f%%, backward %.0f%%, optimizer %.0f%%)\n",
           s.train_tok_s, 1e3 * s.step_seconds, 100 * s.forward_seconds / total,
           100 * s.backward_seconds / total, 100 * s.optimizer_seconds / total);
    printf("per CPU second %.0f tok/s; %.0f page faults per step\n", s.train_cpu_tok_s, s.faults_per_step);
    printf("precision %s: %s\n", precision_name((Precision)precision), gemm_backend_describe());
    printf("model %.3g GFLOP/s = MFU %.1f%% of the %s GEMM peak %.3g GFLOP/s (f32 %.3g, bf16 %.3g)\n",
           s.train_tok_s * s.train_flops_per_token / 1e9, 100 * s.mfu, precision_name((Precision)precision),
           (precision == PRECISION_BF16 ? s.bf16_flops : s.sgemm_flops) / 1e9, s.sgemm_flops / 1e9,
           s.bf16_flops / 1e9);
    if (json) {
        Json j;
        json_begin(&j);
        json_string(&j, "preset", preset);
        json_string(&j, "memory", memory);
        json_string(&j, "precision", precision_name((Precision)precision));
        json_string(&j, "gemm", gemm_text);
        json_int(&j, "threads", s.threads);
        /* the shape, so a peer (bench/peers/torch_train.py --like) trains the same model */
        json_int(&j, "batch", s.batch);
        json_int(&j, "seq_len", s.seq_len);
        json_int(&j, "d_model", cfg.d_model);
        json_int(&j, "n_layers", cfg.n_layers);
        json_int(&j, "n_heads", cfg.n_heads);
        json_int(&j, "n_kv_heads", cfg.n_kv_heads);
        json_int(&j, "head_dim", cfg.head_dim ? cfg.head_dim : cfg.d_model / cfg.n_heads);
        json_int(&j, "ffn_hidden", cfg.ffn_hidden);
        json_int(&j, "vocab_size", cfg.vocab_size);
        json_number(&j, "rope_theta", cfg.rope_theta);
        json_number(&j, "norm_eps", cfg.norm_eps);
        json_int(&j, "qk_norm", cfg.qk_norm);
        json_int(&j, "tie_embeddings", cfg.tie_embeddings);
        json_number(&j, "forward_seconds", s.forward_seconds);
        json_number(&j, "backward_seconds", s.backward_seconds);
        json_number(&j, "optimizer_seconds", s.optimizer_seconds);
        json_number(&j, "train_tok_s", s.train_tok_s);
        json_number(&j, "mfu", s.mfu);
        json_number(&j, "train_cpu_tok_s", s.train_cpu_tok_s);
        json_number(&j, "faults_per_step", s.faults_per_step);
        json_number(&j, "sgemm_flop_s", s.sgemm_flops);
        json_number(&j, "bf16_gemm_flop_s", s.bf16_flops);
        json_number(&j, "train_flops_per_token", s.train_flops_per_token);
        json_int(&j, "ram_params", s.ram_params);
        json_int(&j, "rom_weights", s.rom_weights);
        printf("%s\n", json_end(&j));
        json_free(&j);
    }
    return 0;
}


static double mib(size_t bytes) { return bytes / 1048576.0; }

/* The measured read bandwidth at 1 and at the run's threads: what a memory-bound decode
 * step can reach. */
typedef struct { double one, all; int threads, weights_dtype; } Bandwidth;

static void print_bandwidth(const DecodeBenchResult *r, const Bandwidth *b) {
    double limit = b->threads > 1 ? b->all : b->one;
    printf("\nbandwidth: measured read %.1f GB/s on 1 thread", b->one);
    if (b->threads > 1) printf(", %.1f GB/s on %d", b->all, b->threads);
    printf(" (best streaming read of 256 MiB)\n");
    const struct { const char *name; double bytes; DecodeVariant v; } rows[] = {
        {"dense", r->dense_bytes_per_token, VARIANT_DENSE},
        {"folded", r->folded_bytes_per_token, VARIANT_FOLDED},
    };
    for (int i = 0; i < 2; i++) {
        const VariantFigures *f = &r->v[rows[i].v];
        double gbps = rows[i].bytes * f->decode_tok_s / 1e9, best = rows[i].bytes * f->decode_max_tok_s / 1e9;
        printf("  %-7s %.2f MB read per token: %.1f GB/s (best run %.1f), %.2f of the limit (best %.2f);"
               " at the limit %.0f tok/s\n", rows[i].name, rows[i].bytes / 1e6, gbps, best,
               limit > 0 ? gbps / limit : 0, limit > 0 ? best / limit : 0, limit * 1e9 / rows[i].bytes);
    }
}

static void print_decode(const DecodeBenchResult *r, const char *dtype, const char *stream, int threads) {
    printf("d_model %d, %d layers, d_mem %d (%d MeKi layers), vocab %d; table %s; %d threads\n",
           r->d_model, r->n_layers, r->d_mem, r->meki_layers, r->vocab_size, dtype, threads);
    printf("prefill %d tokens, then decode %d (%s); median of %d interleaved repeats over %d placement(s)\n\n",
           r->context, r->tokens, stream ? stream : "uniformly random ids", r->repeats, r->placements);
    printf("%-23s %11s %10s %17s %10s %8s %8s %10s %10s\n", "variant", "prefill t/s", "decode t/s",
           "decode range", "cpu t/s", "/dense", "/warm", "minflt/run", "majflt/run");
    for (int i = 0; i < VARIANT_COUNT; i++) {
        const VariantFigures *f = &r->v[i];
        if (!f->measured) continue;
        printf("%-23s %11.0f %10.1f %8.1f..%-8.1f %10.1f %8.3f %8.3f %10.1f %10.1f\n",
               decode_variant_name(i), f->prefill_tok_s, f->decode_tok_s, f->decode_min_tok_s,
               f->decode_max_tok_s, f->decode_cpu_tok_s, f->over_dense, f->over_warm,
               f->decode_minor_faults, f->decode_major_faults);
    }
    printf("(/dense, /warm: medians of per-round decode speed ratios; cpu t/s: per CPU second;\n"
           " best runs: folded / dense %.3f", r->v[VARIANT_FOLDED].decode_max_tok_s / r->v[VARIANT_DENSE].decode_max_tok_s);
    if (r->v[VARIANT_UNFOLDED].measured)
        printf(", unfolded / dense %.3f", r->v[VARIANT_UNFOLDED].decode_max_tok_s / r->v[VARIANT_DENSE].decode_max_tok_s);
    printf(")\n");
    if (r->v[VARIANT_COLD_FOLDED].measured)
        printf("\ncold / warm decode: %.3f with prefetch (madvise), %.3f (thread), %.3f without\n",
               r->v[VARIANT_COLD_FOLDED].over_warm, r->v[VARIANT_COLD_THREAD_FOLDED].over_warm,
               r->v[VARIANT_COLD_NOPREFETCH_FOLDED].over_warm);
    const VariantFigures *topk = &r->v[VARIANT_COLD_TOPK_FOLDED];
    if (topk->measured)
        printf("top-%d prefetch: cold / warm %.3f; hit rate %.3f (%ld of %ld decode steps had their token "
               "among the candidates)\n", topk->prefetch_topk, topk->over_warm,
               topk->topk_hit_rate, topk->topk_hits, topk->topk_steps);
    printf("\nRAM: deployed peak RSS %.1f MiB (bundle loaded, one decode, table not populated);\n"
           "     peak RSS %.1f MiB (all models), folded alone %.1f MiB with the table populated; "
           "anon %.1f MiB, file %.1f MiB\n", mib(r->deploy_peak_rss_bytes),
           mib(r->peak_rss_bytes), mib(r->folded_rss_bytes), mib(r->anon_resident_bytes),
           mib(r->file_resident_bytes));
    printf("     folded alone, private (anon) / file-backed / of which the table's mapping: "
           "deployed %.2f / %.2f / %.2f MiB, table populated %.2f / %.2f / %.2f MiB\n",
           mib(r->deployed.private_bytes), mib(r->deployed.file_bytes), mib(r->deployed.table_bytes),
           mib(r->warm.private_bytes), mib(r->warm.file_bytes), mib(r->warm.table_bytes));
    printf("weights: dense %.2f MiB, folded %.2f MiB, unfolded %.2f MiB; KV cache %.2f MiB of the "
           "engine's %.2f MiB\n", mib(r->dense_weights_bytes), mib(r->folded_weights_bytes),
           mib(r->unfolded_weights_bytes), mib(r->kv_cache_bytes), mib(r->engine_bytes));
    printf("ROM: table %.2f MiB on disk (%zu-byte rows); resident warm %.2f MiB", mib(r->rom_bytes),
           r->row_bytes, mib(r->table_resident_bytes));
    if (r->v[VARIANT_COLD_FOLDED].measured)
        printf(", after eviction %.2f MiB, after one cold run %.2f MiB", mib(r->evicted_resident_bytes),
               mib(r->cold_table_resident_bytes));
    printf("\n");
}

static void json_decode(const DecodeBenchResult *r, const char *bundle, const char *dtype,
                        const char *stream, int threads, const Bandwidth *b) {
    Json j;
    char key[96];
    json_begin(&j);
    json_string(&j, "bundle", bundle);
    json_string(&j, "table_dtype", dtype);
    json_string(&j, "weights_dtype", weights_dtype_name(b->weights_dtype));
    json_int(&j, "threads", threads);
    json_int(&j, "d_model", r->d_model);
    json_int(&j, "n_layers", r->n_layers);
    json_int(&j, "d_mem", r->d_mem);
    json_int(&j, "vocab_size", r->vocab_size);
    json_int(&j, "context", r->context);
    json_int(&j, "decode_tokens", r->tokens);
    json_int(&j, "repeats", r->repeats);
    json_int(&j, "placements", r->placements);
    json_string(&j, "stream", stream ? stream : "random");
    for (int i = 0; i < VARIANT_COUNT; i++) {
        const VariantFigures *f = &r->v[i];
        if (!f->measured) continue;
        const char *name = decode_variant_name(i);
        snprintf(key, sizeof key, "%s_prefill_tok_s", name); json_number(&j, key, f->prefill_tok_s);
        snprintf(key, sizeof key, "%s_decode_tok_s", name); json_number(&j, key, f->decode_tok_s);
        snprintf(key, sizeof key, "%s_decode_cpu_tok_s", name); json_number(&j, key, f->decode_cpu_tok_s);
        snprintf(key, sizeof key, "%s_decode_best_tok_s", name); json_number(&j, key, f->decode_max_tok_s);
        snprintf(key, sizeof key, "%s_decode_minor_faults", name); json_number(&j, key, f->decode_minor_faults);
        snprintf(key, sizeof key, "%s_decode_major_faults", name); json_number(&j, key, f->decode_major_faults);
        snprintf(key, sizeof key, "%s_prefill_major_faults", name); json_number(&j, key, f->prefill_major_faults);
    }
    const VariantFigures *dense = &r->v[VARIANT_DENSE], *warm = &r->v[VARIANT_FOLDED];
    const VariantFigures *unfolded = &r->v[VARIANT_UNFOLDED];
    json_number(&j, "folded_over_dense", warm->over_dense);
    json_number(&j, "folded_over_dense_cpu", warm->decode_cpu_tok_s / dense->decode_cpu_tok_s);
    json_number(&j, "folded_over_dense_best", warm->decode_max_tok_s / dense->decode_max_tok_s);
    if (unfolded->measured) {
        json_number(&j, "unfolded_over_dense", unfolded->over_dense);
        json_number(&j, "unfolded_over_dense_cpu", unfolded->decode_cpu_tok_s / dense->decode_cpu_tok_s);
        json_number(&j, "unfolded_over_dense_best", unfolded->decode_max_tok_s / dense->decode_max_tok_s);
    } else {
        json_raw(&j, "unfolded_over_dense", "null");
    }
    if (r->v[VARIANT_COLD_FOLDED].measured) {
        json_number(&j, "cold_over_warm", r->v[VARIANT_COLD_FOLDED].over_warm);
        json_number(&j, "cold_thread_over_warm", r->v[VARIANT_COLD_THREAD_FOLDED].over_warm);
        json_number(&j, "cold_noprefetch_over_warm", r->v[VARIANT_COLD_NOPREFETCH_FOLDED].over_warm);
        const VariantFigures *topk = &r->v[VARIANT_COLD_TOPK_FOLDED];
        json_int(&j, "prefetch_topk", topk->measured ? topk->prefetch_topk : 0);
        if (topk->measured) {
            json_number(&j, "cold_topk_over_warm", topk->over_warm);
            json_int(&j, "topk_steps", topk->topk_steps);
            json_int(&j, "topk_hits", topk->topk_hits);
            if (topk->topk_steps) json_number(&j, "topk_hit_rate", topk->topk_hit_rate);
            else json_raw(&j, "topk_hit_rate", "null");
        }
        json_int(&j, "cold_table_resident_bytes", (long long)r->cold_table_resident_bytes);
        json_int(&j, "evicted_table_resident_bytes", (long long)r->evicted_resident_bytes);
    }
    json_number(&j, "read_gbps_1_thread", b->one);
    json_number(&j, "read_gbps", b->threads > 1 ? b->all : b->one);
    json_number(&j, "dense_bytes_per_token", r->dense_bytes_per_token);
    json_number(&j, "folded_bytes_per_token", r->folded_bytes_per_token);
    json_int(&j, "deploy_peak_rss_bytes", (long long)r->deploy_peak_rss_bytes);
    json_int(&j, "peak_rss_bytes", (long long)r->peak_rss_bytes);
    json_int(&j, "folded_rss_bytes", (long long)r->folded_rss_bytes);
    json_int(&j, "deploy_private_bytes", (long long)r->deployed.private_bytes);
    json_int(&j, "deploy_file_bytes", (long long)r->deployed.file_bytes);
    json_int(&j, "deploy_table_mapped_bytes", (long long)r->deployed.table_bytes);
    json_int(&j, "folded_private_bytes", (long long)r->warm.private_bytes);
    json_int(&j, "folded_file_bytes", (long long)r->warm.file_bytes);
    json_int(&j, "folded_table_mapped_bytes", (long long)r->warm.table_bytes);
    json_int(&j, "anon_resident_bytes", (long long)r->anon_resident_bytes);
    json_int(&j, "file_resident_bytes", (long long)r->file_resident_bytes);
    json_int(&j, "table_resident_bytes", (long long)r->table_resident_bytes);
    json_int(&j, "rom_bytes", (long long)r->rom_bytes);
    json_int(&j, "dense_weights_bytes", (long long)r->dense_weights_bytes);
    json_int(&j, "folded_weights_bytes", (long long)r->folded_weights_bytes);
    json_int(&j, "unfolded_weights_bytes", (long long)r->unfolded_weights_bytes);
    json_int(&j, "kv_cache_bytes", (long long)r->kv_cache_bytes);
    json_int(&j, "engine_bytes", (long long)r->engine_bytes);
    printf("%s\n", json_end(&j));
    json_free(&j);
}

/* A --stream from a prepared folder (DIR/val.tok) must be of the bundle's tokenizer, as
 * its record says: ids of another tokenizer would be timed on text the model never saw. */
static int check_stream(const char *bundle, const char *stream) {
    char path[4200], dir[4096], checked[4096], *record = NULL;
    size_t bytes;
    snprintf(dir, sizeof dir, "%s", stream);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    snprintf(path, sizeof path, "%s/tokenizer.bin", dir);
    if (!file_exists(path)) return OK;   /* a loose token file: nothing to compare with */
    snprintf(path, sizeof path, "%s/record.json", bundle);
    if (!file_exists(path)) return OK;   /* a bundle from before records */
    if (read_file(path, &record, &bytes)) return ERR_INPUT;
    int rc = record_data_dir(record, dir, dir, checked, sizeof checked);
    free(record);
    return rc;
}

static int bench_decode(int argc, char **argv) {
    const char *bundle = NULL, *checkpoint = NULL, *dtype_text = "f32", *stream = NULL, *weights_text = "f32";
    int json = 0, threads = 1, context = 128, tokens = 128, repeats = 9, warmup = 1, chunk = 64, cold = 0;
    int topk = -1;   /* not given: DECODE_BENCH_DEFAULT_TOPK with --cold */
    int placements = 1;
    long seed = 1;
    ArgSpec specs[] = {
        {"--bundle", ARG_STRING, &bundle, "deploy bundle folder (folded model, ROM table)", 0, 0},
        {"--checkpoint", ARG_STRING, &checkpoint, "the training checkpoint it was folded from (adds the unfolded model)", 0, 0},
        {"--table-dtype", ARG_STRING, &dtype_text, "which ROM table of the bundle (default f32)", 0, 0},
        {"--weights-dtype", ARG_STRING, &weights_text, "RAM weights of decode steps: f32 | bf16 | q8_0 (default f32)", 0, 0},
        {"--context", ARG_INT, &context, "tokens prefilled before decoding (default 128)", 1, 10000000},
        {"--tokens", ARG_INT, &tokens, "tokens decoded one at a time (default 128)", 1, 10000000},
        {"--repeats", ARG_INT, &repeats, "timed rounds over every variant (default 9)", 1, DECODE_BENCH_MAX_REPEATS},
        {"--warmup", ARG_INT, &warmup, "untimed rounds first, per placement (default 1)", 0, 1000},
        {"--placements", ARG_INT, &placements, "copies of the folded model and of the dense twin, each on its own pages, taken in turn by the rounds: the ratio averages over memory placements, which move a small model's speed by several percent per process (default 1)", 1, DECODE_BENCH_MAX_PLACEMENTS},
        {"--chunk", ARG_INT, &chunk, "rows per batched prefill step (default 64; 1: token by token)", 1, 65536},
        {"--cold", ARG_FLAG, &cold, "also measure with the table evicted from the page cache", 0, 0},
        {"--prefetch-topk", ARG_INT, &topk, "with --cold, also measure prefetching the rows of the K likeliest next tokens (0: not)", 0, 1000000},
        {"--stream", ARG_STRING, &stream, "token file (e.g. DATA/val.tok) to take the ids from (default: uniformly random ids)", 0, 0},
        {"--seed", ARG_LONG, &seed, "random ids and dense twin weights (default 1)", 0, ARG_SEED_MAX},
        {"--threads", ARG_INT, &threads, "threads (default 1: decoding is matrix-vector work)", 0, 1024},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line", 0, 0},
    };
    char name[] = "bench decode";   /* for the messages of args_parse */
    argv[0] = name;
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "--bundle DIR [--checkpoint DIR] [--context N] [--tokens N] [--repeats R] [--cold] [--json]");
    if (rc) return rc == 1 ? 0 : rc;
    if (!bundle) { fprintf(stderr, "meki bench decode: --bundle is required\n"); return 2; }
    if (topk >= 0 && !cold) {   /* only the cold variants prefetch: it would be ignored */
        fprintf(stderr, "meki bench decode: --prefetch-topk is measured only with --cold: add --cold or drop it\n");
        return 2;
    }
    if (topk < 0) topk = DECODE_BENCH_DEFAULT_TOPK;
    int dtype = table_dtype_parse(dtype_text);
    if (dtype < 0) {
        fprintf(stderr, "meki bench decode: --table-dtype: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)\n", dtype_text);
        return 2;
    }
    int weights_dtype = weights_dtype_parse(weights_text);
    if (weights_dtype < 0) {
        fprintf(stderr, "meki bench decode: --weights-dtype: unknown dtype '%s' (f32, bf16, q8_0)\n", weights_text);
        return 2;
    }
    if (stream && (rc = check_stream(bundle, stream))) {
        fprintf(stderr, "meki bench decode: --stream: %s\n", error_message());
        return rc;
    }
    kernels_set_threads(threads);
    DecodeBenchOptions o = {.bundle = bundle, .checkpoint = checkpoint, .stream_path = stream,
                            .dtype = (TableDtype)dtype,
                            .context = context, .tokens = tokens, .repeats = repeats,
                            .warmup = warmup, .chunk = chunk, .cold = cold, .seed = (uint64_t)seed,
                            .prefetch_topk = cold ? topk : 0,
                            .weights_dtype = weights_dtype, .placements = placements};
    DecodeBenchResult r;
    if ((rc = decode_bench_run(&o, &r))) {
        fprintf(stderr, "meki bench decode: %s\n", error_message());
        return rc;
    }
    Bandwidth b = {.threads = kernels_threads(), .weights_dtype = weights_dtype};   /* after: its buffer is not the decode's RSS */
    b.one = memory_read_gbps(0, 1, 5);
    b.all = b.threads > 1 ? memory_read_gbps(0, b.threads, 5) : b.one;
    print_decode(&r, dtype_text, stream, kernels_threads());
    print_bandwidth(&r, &b);
    if (json) json_decode(&r, bundle, dtype_text, stream, kernels_threads(), &b);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "train")) return bench_train(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "decode")) return bench_decode(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "gemm")) return bench_gemm(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: ./meki bench train [--preset NAME] [--memory none|meki] [--precision f32|bf16]\n"
               "                          [--gemm auto|openblas|onednn] [--json]\n"
               "       ./meki bench gemm [--threads N]   (the GEMM backends per shape)\n"
               "       ./meki bench decode --bundle DIR [--checkpoint DIR] [--context N] [--tokens N]\n"
               "                           [--repeats R] [--cold] [--json]   (see bench decode --help)\n");
        return 0;
    }
    fprintf(stderr, "meki bench: expected 'train', 'decode' or 'gemm' (see ./meki bench --help)\n");
    return 2;
}
