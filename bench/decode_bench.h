/* Decode speed and footprint of a deploy bundle against its dense twin (same config with
 * the memory removed, random weights: speed does not depend on values) and, when given,
 * the unfolded checkpoint it came from. Every variant runs in the same process, round-robin
 * over the repeats, on the same token stream: prefill `context` tokens, then decode
 * `tokens` more one at a time. The ids come from the stream: uniformly random by default,
 * so table rows are spread over the whole table as in a worst case, or the start of a
 * token file (real text: frequent tokens repeat, so a cold table warms faster). The
 * argmax of each step's logits is still computed, as a greedy decoder would.
 * Variants run whole (prefill then decode), rotated from round to round; speed ratios are
 * medians of per-round ratios. Running them in lockstep instead (blocks of 8 tokens each
 * in turn) was tried and rejected: a model that follows itself finds its weights still in
 * cache, which biased two variants with identical work (folded with and without prefetch)
 * by 12-16%. With whole runs, the prefill warms the caches before the decode is timed.
 * Top-k prefetch (cold_topk_folded) predicts from each step's logits; the stream's next id
 * is the "sampled" token, so its hit rate is the model's top-k accuracy on the stream. */
#ifndef BENCH_DECODE_BENCH_H
#define BENCH_DECODE_BENCH_H
#include "kernels/quant.h"
#include <stddef.h>
#include <stdint.h>

typedef enum {
    VARIANT_DENSE,
    VARIANT_UNFOLDED,
    VARIANT_FOLDED,                  /* warm table, prefetch by madvise (the default) */
    VARIANT_FOLDED_NOPREFETCH,       /* warm table, prefetch off */
    VARIANT_COLD_FOLDED,             /* table evicted before prefill and before decode */
    VARIANT_COLD_THREAD_FOLDED,      /* same, prefetch by a helper thread */
    VARIANT_COLD_NOPREFETCH_FOLDED,
    VARIANT_COLD_TOPK_FOLDED,        /* cold, madvise, and the rows of the top-k candidates */
    VARIANT_COUNT
} DecodeVariant;

enum { DECODE_BENCH_MAX_REPEATS = 101, DECODE_BENCH_DEFAULT_TOPK = 4, DECODE_BENCH_MAX_PLACEMENTS = 16 };

typedef struct {
    const char *bundle, *checkpoint;   /* checkpoint may be NULL */
    const char *stream_path;           /* a token file (data/tokens.h), or NULL: random ids */
    TableDtype dtype;
    int context, tokens, repeats, warmup, chunk, cold;
    int prefetch_topk;                 /* k of the cold_topk variant; 0: left out */
    uint64_t seed;
    int weights_dtype;                 /* the engines' decode weights (kernels/wquant.h); 0: f32 */
    int placements;                    /* copies of the folded model and of the dense twin,
                                          each on its own pages, visited in turn by the rounds
                                          (0 or 1: one): a process's page placement moves a
                                          small model's speed by several percent */
} DecodeBenchOptions;

typedef struct {
    int measured;
    double prefill_tok_s, decode_tok_s;          /* medians */
    double decode_min_tok_s, decode_max_tok_s;
    double decode_cpu_tok_s;                     /* tokens per CPU second (median) */
    double over_dense, over_warm;   /* decode speed / dense's, / warm folded's: medians of
                                       per-round ratios */
    double decode_minor_faults, decode_major_faults;   /* mean per timed decode */
    double prefill_major_faults;
    int prefetch_topk;              /* candidates prefetched after each step (0: none) */
    long topk_steps, topk_hits;     /* timed decode steps with a prediction, and hits */
    double topk_hit_rate;           /* hits / steps; -1 without predictions */
} VariantFigures;

/* The kernel's split of the resident bytes (/proc/self/status, smaps): private (anonymous:
 * weights, KV cache, buffers) and file-backed (the binary, libraries, and the ROM table's
 * pages this process has mapped: the page cache standing in for the ROM). */
typedef struct {
    size_t private_bytes, file_bytes;
    size_t table_bytes;                /* of file_bytes, the table's mapping */
} RssSplit;

typedef struct {
    VariantFigures v[VARIANT_COUNT];
    int d_model, n_layers, d_mem, vocab_size, meki_layers, context, tokens, repeats, placements;
    size_t rom_bytes, row_bytes;
    size_t peak_rss_bytes;             /* over this benchmark with one copy of each model (the
                                          folded one's table populated), before the other
                                          placements load; not before the benchmark */
    size_t folded_rss_bytes;           /* VmRSS with only the bundle loaded, after warm-up */
    RssSplit deployed;                 /* only the bundle loaded, after one decode, table not populated */
    RssSplit warm;                     /* the same after a decode with the table populated */
    size_t deploy_peak_rss_bytes;      /* peak RSS as a deploy sees it: the bundle loaded and
                                          one decode run, the table never populated */
    /* Bytes one decode step reads (weights once, one embedding row, the KV cache at the
     * mean decode position, the folded model's table rows): tok/s x this = GB/s. */
    double dense_bytes_per_token, folded_bytes_per_token;
    size_t anon_resident_bytes, file_resident_bytes;   /* at the end, table warm */
    size_t table_resident_bytes;       /* table pages in the page cache, warm */
    size_t cold_table_resident_bytes;  /* after one cold decode: what decoding pulled in */
    size_t evicted_resident_bytes;     /* left after an eviction (0 if it worked) */
    size_t dense_weights_bytes, folded_weights_bytes, unfolded_weights_bytes, kv_cache_bytes;
    size_t engine_bytes;               /* KV cache and activations of one engine */
    /* RAM weights of a deploy decoding in o->weights_dtype: block matrices and head in it,
     * the rest f32 (the engine here keeps f32 copies besides, for prefill) */
    size_t dense_ram_weights_bytes, folded_ram_weights_bytes;
    long argmax_checksum;              /* sum of every step's argmax: the work is observable */
} DecodeBenchResult;

const char *decode_variant_name(DecodeVariant v);   /* "dense", "cold_folded", ... */
/* Loads the models, measures, frees them. ERR_INPUT for a bad bundle or checkpoint, or a
 * checkpoint whose config is not the bundle's. */
int decode_bench_run(const DecodeBenchOptions *o, DecodeBenchResult *r);
/* The median of values[0..n) (n > 0), which it sorts in place. */
double decode_bench_median(double *values, int n);
#endif
