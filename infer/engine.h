/* The inference engine: a decoder run one token at a time (or a few, for prefill) against
 * a KV cache, for dense models and models with a memory variant in either form (the
 * variant's decoding path and its state come from its ops, models/memory.h).
 * It reads the weights of a Model (models/model.h) and owns only what inference needs:
 * the KV cache, RoPE tables, activations for `chunk` rows, and the prefetch bookkeeping.
 *
 *   Engine e;
 *   engine_create(&e, &model, context, 0);
 *   const float *logits = engine_prefill(&e, prompt, n, 0);   // positions 0..n-1
 *   logits = engine_forward(&e, next, n);                      // position n, and so on
 *
 * Folded models whose tables live in a ROM file (bundle_load) read their rows through the
 * read-only mapping, zero-copy: the file keeps a token's rows of every layer together, and a
 * step reads them once per token before layer 0 (one read per token, not one per layer and
 * token). With prefetch on, those pages are requested from storage as soon as the token is
 * known, so the read overlaps the layers before them. */
#ifndef INFER_ENGINE_H
#define INFER_ENGINE_H
#include "models/model.h"
#include "formats/prefetch.h"
#include <stddef.h>
#include <stdint.h>

/* Candidates the engine prefetches by default after each step (engine_set_prefetch_topk). */
enum { ENGINE_DEFAULT_PREFETCH_TOPK = 0 };

typedef struct {
    const Model *model;          /* weights; not owned */
    int context;                 /* positions the KV cache holds */
    int chunk;                   /* rows per step of a batched prefill */
    float *key_cache, *value_cache;   /* [L][context][KV * hd] */
    float *cos_table, *sin_table;     /* [context][hd / 2] */
    /* one step's activations, [chunk][width] */
    float *embedded, *x, *h, *q, *k, *v, *attn, *ffn_gate, *ffn_up;
    float *scores;               /* [chunk][context] attention weights */
    float *logits;               /* [V] for the last row of a step */
    void *memory;                /* the memory variant's decoding state (its infer_create) */
    Prefetcher *prefetcher;      /* NULL without a ROM table */
    /* [chunk]: where each row's ROM rows of every layer start, read once per step before
     * layer 0 (NULL without a ROM table, or when the variant's rows are not the token's) */
    const uint8_t **rom_rows;
    /* Top-k prefetch (engine_set_prefetch_topk): the k likeliest next tokens of the last
     * step, predicted for position candidates_pos (-1: none), and how often the token
     * that came next was among them. */
    int prefetch_topk, n_candidates, candidates_pos;
    int32_t *candidates;         /* [prefetch_topk] */
    long topk_steps, topk_hits;
    /* With weights_dtype set (kernels/wquant.h), every step reads these copies of the block
     * matrices and the head (and of a tied embedding), never the model's f32 ones: decode
     * steps directly, prefill's products through `unpacked`, one matrix decoded at a time. */
    int weights_dtype;
    void *packed[MAX_LAYERS][7];   /* wq wk wv wo w_gate w_up w_down */
    unsigned char site[MAX_LAYERS];   /* each layer's MemorySite (models/memory.h), asked once */
    void *packed_head;
    float *unpacked;               /* [max(q_dim, F) * d]: the largest block matrix */
} Engine;

/* chunk <= 0: a default (64). Prefetch starts in PREFETCH_MADVISE, top-k prefetch at
 * ENGINE_DEFAULT_PREFETCH_TOPK. ERR_INPUT for a model
 * the engine cannot run. */
int engine_create(Engine *e, const Model *m, int context, int chunk);
/* Decode with the RAM weights in dtype (a WeightsDtype: f32, bf16, q8_0). ERR_INPUT when a
 * matrix's width does not fit the format (q8_0: multiples of 32), or when the model's f32
 * weights were released. */
int engine_set_weights_dtype(Engine *e, int dtype);
/* The same for dtype bf16 or q8_0, giving each f32 matrix of m (the engine's model) back to
 * the OS as soon as its packed copy exists (params_release): the block matrices, the head
 * and a tied embedding; an untied embedding stays, as eval's roundtrip leaves it f32. This
 * is what makes the RAM smaller, and keeps the peak near f32's (one matrix packed ahead).
 * Afterwards those pointers of m are NULL and their pages unreadable; m's other tensors,
 * engine_* on this engine and model_free stay valid, but no other engine may read m (a new
 * one is refused), nor can m be trained, saved or roundtripped. On a failure m may be
 * partly released: free both. */
int engine_set_weights_dtype_release(Engine *e, Model *m, int dtype);
/* The model's f32 block matrices and head replaced by what dtype's encoding decodes to:
 * the training forward (eval) then computes what a decode in dtype computes. */
int model_roundtrip_weights(Model *m, int dtype);
void engine_free(Engine *e);

/* Logits [V] of token at position pos; the cache must hold positions 0..pos-1 (earlier
 * calls). Positions >= pos in the cache are overwritten, so a caller may rewind.
 * NULL (with the error message set) if token or pos is out of range. */
const float *engine_forward(Engine *e, int token, int pos);
/* tokens[0..n) at positions pos..pos+n-1, in batched steps of `chunk` rows (matrix
 * products instead of matrix-vector ones: 3.6x the speed of token-by-token prefill on the
 * medium preset, 5800 vs 1600 tok/s measured with bench decode --chunk 64 / 1); returns
 * the logits of the last one. */
const float *engine_prefill(Engine *e, const int32_t *tokens, int n, int pos);
/* Request the ROM rows of tokens[0..n) in every layer (no-op without a ROM table or with
 * prefetch off). engine_forward and engine_prefill call it themselves. */
void engine_prefetch(Engine *e, const int32_t *tokens, int n);
/* No-op without a ROM table; ERR_FAILURE if the helper thread cannot start. */
int engine_set_prefetch(Engine *e, PrefetchMode mode);
/* Top-k prefetch: after each step's logits (engine_forward, the end of engine_prefill),
 * request the ROM rows of the k likeliest next tokens (every layer's, through the memory
 * variant's prefetch hook when it has one), so their reads run while the caller samples.
 * Only pages are requested, not cache lines. 0: off; with prefetch off or without a ROM
 * table nothing is predicted. ERR_INPUT unless 0 <= k <= the vocabulary. Resets the hits. */
int engine_set_prefetch_topk(Engine *e, int k);
/* Of the engine_forward calls that followed a prediction for their position, how many
 * had their token among the k candidates (hits <= steps). */
void engine_prefetch_hits(const Engine *e, long *steps, long *hits);
void engine_reset_prefetch_hits(Engine *e);

/* The ROM table's residency, for the benchmark. Without a ROM table these return 0. */
int engine_has_rom(const Engine *e);
size_t engine_rom_bytes(const Engine *e);               /* file size */
size_t engine_table_resident_bytes(const Engine *e);     /* pages in the page cache (mincore) */
/* Drop the table from this mapping and from the page cache, so the next reads go to
 * storage. Returns the resident bytes left afterwards (0 unless another process maps it). */
size_t engine_table_evict(Engine *e);
/* Read every page of the table (the warm state). */
void engine_table_populate(Engine *e);
/* Heap bytes the engine owns (KV cache and activations). */
size_t engine_bytes(const Engine *e);
/* ERR_INPUT, naming the context, when an engine of this many positions could never fit
 * this machine's memory (engine_create checks it too, before allocating). */
int engine_check_context(const ModelConfig *c, long context, int chunk);
#endif
