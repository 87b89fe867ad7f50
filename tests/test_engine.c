/* The inference engine gives the training forward's logits at every position, for dense
 * models, MeKi in training form, MeKi folded into heap tables and MeKi read from a ROM
 * table in a bundle; its KV cache can be reused and rewound; the sampler is deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include "kernels/wquant.h"
#include "train/checkpoint.h"
#include "bench/decode_bench.h"
#include "bench/decode_processes.h"
#include "infer/engine.h"
#include "kernels/inference.h"
#include "deploy/fold.h"
#include "models/engram.h"
#include "models/meki.h"
#include "models/memory.h"
#include "models/ple.h"
#include "models/model.h"
#include "infer/sampler.h"
#include "formats/romtable.h"
#include "util/error.h"
#include "util/rng.h"

enum { T = 12, V = 300 };
static const double TOLERANCE = 1e-5;

static void small_config(ModelConfig *c, MemoryKind memory) {
    model_preset(c, "tiny");
    c->vocab_size = V;
    c->d_model = 32;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->ffn_hidden = 48;
    c->seq_len = T;
    c->memory = memory;
    meki_config(c)->d_mem = 8;
}

static void random_tokens(int32_t *tokens, int n, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) tokens[i] = (int32_t)rng_below(&rng, V);
}

/* Random weights, with norm gains and MeKi scalars moved away from 1 so that every
 * tensor matters. */
static void randomize(Model *m, uint64_t seed) {
    model_init_weights(m, seed);
    Rng rng;
    rng_seed(&rng, seed + 1);
    for (long i = 0; i < m->params.total; i++) m->params.data[i] += 0.2f * rng_normal(&rng);
}

/* max |a - b| / max |b| */
static double relative_error(const float *a, const float *b, int n) {
    double diff = 0, scale = 0;
    for (int i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

/* Reference logits [T, V] of `m` in training form for tokens. */
static float *reference_logits(Model *m, const int32_t *tokens) {
    assert_int_equal(model_reserve(m, 1, T), 0);
    model_forward(m, tokens, NULL, 1, T);
    float *out = malloc(sizeof(float) * T * V);
    memcpy(out, m->logits, sizeof(float) * T * V);
    return out;
}

/* The engine, token by token, against reference logits at every position; then a batched
 * prefill in uneven chunks followed by decoding, which must reuse the cache. */
static double engine_error(const Model *m, const float *reference, const int32_t *tokens) {
    Engine e;
    double worst = 0;
    assert_int_equal(engine_create(&e, m, T, 5), 0);
    for (int t = 0; t < T; t++) {
        const float *logits = engine_forward(&e, tokens[t], t);
        assert_non_null(logits);
        worst = fmax(worst, relative_error(logits, reference + (long)t * V, V));
    }
    for (int split = 1; split < T; split += 4) {
        const float *logits = engine_prefill(&e, tokens, split, 0);
        assert_non_null(logits);
        worst = fmax(worst, relative_error(logits, reference + (long)(split - 1) * V, V));
        for (int t = split; t < T; t++) {
            logits = engine_forward(&e, tokens[t], t);
            worst = fmax(worst, relative_error(logits, reference + (long)t * V, V));
        }
    }
    engine_free(&e);
    return worst;
}

static void test_dense_equals_training_forward(void **state) {
    for (int tied = 0; tied < 2; tied++)
        for (int qk_norm = 0; qk_norm < 2; qk_norm++) {
            ModelConfig c;
            small_config(&c, MEMORY_NONE);
            c.tie_embeddings = tied;
            c.qk_norm = qk_norm;
            Model m;
            assert_int_equal(model_create(&m, &c, 0, 0), 0);
            randomize(&m, 3 + tied * 2 + qk_norm);
            int32_t tokens[T];
            random_tokens(tokens, T, 11);
            float *reference = reference_logits(&m, tokens);
            double err = engine_error(&m, reference, tokens);
            if (err > TOLERANCE) fprintf(stderr, "dense tied %d qk_norm %d: %.2e\n", tied, qk_norm, err);
            assert_true(err < TOLERANCE);
            free(reference);
            model_free(&m);
        }
}

/* Unfolded against its own training forward, and the folded model (heap tables) against
 * the same reference and its own forward, for every MeKi variant. */
static double check_meki_variant(const ModelConfig *c, uint64_t seed) {
    Model trained, folded;
    assert_int_equal(model_create(&trained, c, 0, 0), 0);
    randomize(&trained, seed);
    int32_t tokens[T];
    random_tokens(tokens, T, seed + 7);
    float *reference = reference_logits(&trained, tokens);
    double unfolded_err = engine_error(&trained, reference, tokens);
    assert_int_equal(model_fold(&trained, &folded), 0);
    double folded_err = engine_error(&folded, reference, tokens);
    float *own = reference_logits(&folded, tokens);
    double folded_own_err = engine_error(&folded, own, tokens);
    if (unfolded_err > TOLERANCE || folded_err > TOLERANCE || folded_own_err > TOLERANCE)
        fprintf(stderr, "%s %s %s %s layers %s: unfolded %.2e folded %.2e / %.2e\n",
                meki_memory_name(meki_config(c)->memory), meki_fusion_name(meki_config(c)->fusion),
                meki_position_name(meki_config(c)->position), meki_projector_name(meki_config(c)->projector),
                meki_config(c)->layers_spec, unfolded_err, folded_err, folded_own_err);
    assert_true(unfolded_err < TOLERANCE && folded_err < TOLERANCE && folded_own_err < TOLERANCE);
    free(reference);
    free(own);
    model_free(&folded);
    model_free(&trained);
    return fmax(unfolded_err, fmax(folded_err, folded_own_err));
}

static void test_meki_unfolded_and_folded_equal_training_forward(void **state) {
    int variants = 0;
    double worst = 0;
    for (int memory = MEKI_STATIC; memory <= MEKI_BOTH; memory++)
        for (int fusion = 0; fusion < 4; fusion++)
            for (int position = 0; position < 4; position++)
                for (int projector = 0; projector < 2; projector++) {
                    if (!(memory & MEKI_DYNAMIC) && projector) continue;
                    ModelConfig c;
                    small_config(&c, memory_kind_parse("meki"));
                    meki_config(&c)->memory = memory;
                    meki_config(&c)->fusion = fusion;
                    meki_config(&c)->position = position;
                    meki_config(&c)->projector = projector;
                    c.tie_embeddings = variants % 2;
                    worst = fmax(worst, check_meki_variant(&c, 100 + variants++));
                }
    ModelConfig c;   /* memory in one layer only */
    small_config(&c, memory_kind_parse("meki"));
    strcpy(meki_config(&c)->layers_spec, "last:1");
    worst = fmax(worst, check_meki_variant(&c, 500));
    fprintf(stderr, "engine == training forward for %d MeKi variants (worst relative error %.1e)\n",
            variants + 1, worst);
}

/* A bundle in a temporary folder: the f32 ROM table gives the training form's logits;
 * a q8 table gives the logits of model_forward over the same quantized rows. Prefetch on
 * or off changes nothing; populate makes the whole table resident. */
static void test_bundle_rom_table(void **state) {
    ModelConfig c;
    small_config(&c, memory_kind_parse("meki"));
    meki_config(&c)->position = POS_AFTER_ATTN;
    Model trained, folded, loaded;
    assert_int_equal(model_create(&trained, &c, 0, 0), 0);
    randomize(&trained, 77);
    assert_int_equal(model_fold(&trained, &folded), 0);
    char dir[] = "/tmp/meki-engine-XXXXXX";
    assert_non_null(mkdtemp(dir));
    TableDtype dtypes[] = {TABLE_F32, TABLE_Q8};
    assert_int_equal(bundle_write(&folded, dir, dtypes, 2), 0);
    int32_t tokens[T];
    random_tokens(tokens, T, 78);
    float *reference = reference_logits(&trained, tokens);

    assert_int_equal(bundle_load(&loaded, dir, TABLE_F32), 0);
    assert_non_null(loaded.rom);
    assert_true(engine_error(&loaded, reference, tokens) < TOLERANCE);
    Engine e;
    assert_int_equal(engine_create(&e, &loaded, T, 0), 0);
    assert_true(engine_has_rom(&e));
    float with_prefetch[V];
    memcpy(with_prefetch, engine_prefill(&e, tokens, T, 0), sizeof with_prefetch);
    for (int mode = PREFETCH_OFF; mode <= PREFETCH_THREAD; mode++) {
        assert_int_equal(engine_set_prefetch(&e, mode), 0);
        engine_table_evict(&e);
        assert_memory_equal(engine_prefill(&e, tokens, T, 0), with_prefetch, sizeof with_prefetch);
        for (int t = 0; t < T; t++) engine_forward(&e, tokens[T - 1 - t], t);
    }
    engine_table_populate(&e);
    assert_int_equal(engine_table_resident_bytes(&e), engine_rom_bytes(&e));
    engine_free(&e);
    model_free(&loaded);

    assert_int_equal(bundle_load(&loaded, dir, TABLE_Q8), 0);
    float *quantized = reference_logits(&loaded, tokens);
    assert_true(engine_error(&loaded, quantized, tokens) < TOLERANCE);
    assert_true(relative_error(quantized, reference, T * V) > 0);   /* the q8 rows are really read */
    model_free(&loaded);

    char path[4096];
    for (int i = 0; i < 2; i++) { bundle_table_path(path, sizeof path, dir, dtypes[i]); unlink(path); }
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    unlink(path);
    rmdir(dir);
    free(reference);
    free(quantized);
    model_free(&folded);
    model_free(&trained);
}

/* Rewinding: after a full sequence, positions from k on are replaced by other tokens and
 * the logits are those of the new sequence; running twice gives the same bits. */
static void test_kv_cache_reuse_and_rewind(void **state) {
    ModelConfig c;
    small_config(&c, memory_kind_parse("meki"));
    Model m;
    assert_int_equal(model_create(&m, &c, 0, 0), 0);
    randomize(&m, 21);
    int32_t first[T], second[T];
    random_tokens(first, T, 22);
    memcpy(second, first, sizeof first);
    random_tokens(second + 5, T - 5, 23);
    float *reference = reference_logits(&m, second);
    Engine e;
    assert_int_equal(engine_create(&e, &m, T, 4), 0);
    float once[V];
    memcpy(once, engine_prefill(&e, first, T, 0), sizeof once);
    assert_memory_equal(engine_prefill(&e, first, T, 0), once, sizeof once);
    for (int t = 5; t < T; t++) {
        const float *logits = engine_forward(&e, second[t], t);
        assert_true(relative_error(logits, reference + (long)t * V, V) < TOLERANCE);
    }
    const float *logits = engine_prefill(&e, second + 5, T - 5, 5);
    assert_true(relative_error(logits, reference + (long)(T - 1) * V, V) < TOLERANCE);
    assert_null(engine_forward(&e, V, 0));          /* token outside the vocabulary */
    assert_null(engine_forward(&e, 1, T));          /* position outside the context */
    assert_null(engine_prefill(&e, second, T, 1));  /* runs past the context */
    engine_free(&e);
    free(reference);
    model_free(&m);
}

static void remove_tree(const char *dir) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

/* The peers: PLE (training form, and folded into heap tables) and Engram (whose rows come
 * from the last tokens, kept by the engine's stream) against the training forward. */
static void test_peers_equal_training_forward(void **state) {
    for (int kind = 0; kind < 3; kind++) {
        ModelConfig c;
        small_config(&c, kind == 2 ? memory_kind_parse("engram") : memory_kind_parse("ple"));
        ple_config(&c)->width = 8;
        engram_config(&c)->width = 4;
        engram_config(&c)->table_size = 97;
        if (kind == 1) strcpy(ple_config(&c)->layers_spec, "last:1");
        Model m, folded;
        assert_int_equal(model_create(&m, &c, 0, 0), 0);
        randomize(&m, 40 + kind);
        int32_t tokens[T];
        random_tokens(tokens, T, 50 + kind);
        float *reference = reference_logits(&m, tokens);
        double err = engine_error(&m, reference, tokens);
        fprintf(stderr, "%s%s: engine vs training forward %.2e\n", memory_kind_name(c.memory),
                kind == 1 ? " (last layer only)" : "", err);
        assert_true(err < TOLERANCE);
        /* the inference form through a bundle: the ROM file mapped, rows prefetched
         * (by token for PLE, by the hashed context for Engram) */
        char dir[] = "/tmp/meki-test-engine-peers-XXXXXX";
        assert_non_null(mkdtemp(dir));
        TableDtype f32 = TABLE_F32;
        Model loaded;
        assert_int_equal(model_fold(&m, &folded), 0);
        assert_int_equal(bundle_write(&folded, dir, &f32, 1), 0);
        assert_int_equal(bundle_load(&loaded, dir, TABLE_F32), 0);
        double bundle_err = engine_error(&loaded, reference, tokens);
        fprintf(stderr, "%s bundle: engine vs training forward %.2e\n", memory_kind_name(c.memory), bundle_err);
        assert_true(bundle_err < TOLERANCE);
        model_free(&loaded);
        model_free(&folded);
        remove_tree(dir);
        free(reference);
        model_free(&m);
    }
}

/* A model of each variant with a folded form, all layers with memory, random weights. */
static void variant_config(ModelConfig *c, const char *kind) {
    small_config(c, memory_kind_parse(kind));
    ple_config(c)->width = 8;
    engram_config(c)->width = 4;
    engram_config(c)->table_size = 97;
}

/* The folded model's heap tables as a table of `dtype` decodes them: what the ROM file of
 * that dtype holds, in the heap path (a copy per row, no file). */
static void round_heap_tables(Model *folded, TableDtype dtype) {
    RomTableList list;
    folded->ops->rom_tables(folded, &list);
    uint8_t *encoded = malloc(table_row_bytes(dtype, list.width));
    for (int s = 0; s < list.count; s++)
        for (int r = 0; r < list.rows; r++) {
            float *row = (float *)list.tables[s] + (size_t)r * list.width;
            quant_encode_row(dtype, encoded, row, list.width);
            quant_decode_row(dtype, row, encoded, list.width);
        }
    free(encoded);
}

/* Prefill of half the tokens, then one step at a time: every step's logits, [T][V]. */
static void engine_steps(const Model *m, const int32_t *tokens, float *out) {
    Engine e;
    assert_int_equal(engine_create(&e, m, T, 4), 0);
    memcpy(out + (long)(T / 2 - 1) * V, engine_prefill(&e, tokens, T / 2, 0), sizeof(float) * V);
    for (int t = T / 2; t < T; t++) memcpy(out + (long)t * V, engine_forward(&e, tokens[t], t), sizeof(float) * V);
    engine_free(&e);
}

/* Every step's logits, [T][V], one token at a time from position 0 (the one-row path,
 * where MemoryOps.infer_shared is used). */
static void engine_tokens_in(const Model *m, int dtype, const int32_t *tokens, float *out) {
    Engine e;
    assert_int_equal(engine_create(&e, m, T, 0), 0);
    assert_int_equal(engine_set_weights_dtype(&e, dtype), 0);
    for (int t = 0; t < T; t++) memcpy(out + (long)t * V, engine_forward(&e, tokens[t], t), sizeof(float) * V);
    engine_free(&e);
}

static void engine_tokens(const Model *m, const int32_t *tokens, float *out) {
    engine_tokens_in(m, WEIGHTS_F32, tokens, out);
}

/* MemoryOps.infer_shared: MeKi's gate product computed as one more part of the engine's
 * pass over the normed input (the FFN's gate/up for parallel_ffn, Q/K/V for parallel_attn),
 * and MemoryOps.infer_shared_out: its output product as one more part of the pass that
 * closes the block (the FFN's down product, attention's output product), give the logits of
 * MeKi computing them itself (the same model with the hooks removed, one or both), bit
 * for bit, and those of the training form within TOLERANCE (the unfolded model for f32
 * tables; for q8_0, the folded model's forward over the same decoded rows): every fusion,
 * f32 and q8_0 tables, 1 thread at d 32 and 2 threads at d 128 (a thread region that
 * splits the group's rows). At the sites with MeKi's own norm the hook declines. And the
 * same bit-for-bit agreement with bf16 and q8_0 RAM weights, where MeKi's two matrices are
 * read packed in the shared parts as in its own products (d 128, 2 threads). */
static void test_meki_shared_pass_equals_own_gate(void **state) {
    int checked = 0;
    for (int wide = 0; wide < 2; wide++)
        for (int position = 0; position < 4; position++)
            for (int fusion = 0; fusion < 4; fusion++)
                for (int table = 0; table < 2; table++) {
                    ModelConfig c;
                    small_config(&c, memory_kind_parse("meki"));
                    if (wide) { c.d_model = 128; c.ffn_hidden = 256; meki_config(&c)->d_mem = 16; }
                    meki_config(&c)->position = position;
                    meki_config(&c)->fusion = fusion;
                    kernels_set_threads(wide ? 2 : 1);
                    Model trained, folded;
                    assert_int_equal(model_create(&trained, &c, 0, 0), 0);
                    randomize(&trained, 900 + position * 8 + fusion * 2 + table);
                    assert_int_equal(model_fold(&trained, &folded), 0);
                    if (table) round_heap_tables(&folded, TABLE_Q8);
                    int parallel = position == POS_PARALLEL_FFN || position == POS_PARALLEL_ATTN;
                    Engine e;   /* a probe: the hook's answer for layer 0 (it marks the gate computed) */
                    MatvecPart probe;
                    assert_int_equal(engine_create(&e, &folded, T, 0), 0);
                    assert_int_equal(folded.ops->infer_shared(&folded, e.memory, 0, &probe), parallel);
                    engine_free(&e);
                    int32_t tokens[T];
                    random_tokens(tokens, T, 950 + position);
                    float *shared = malloc(sizeof(float) * T * V), *own = malloc(sizeof(float) * T * V);
                    engine_tokens(&folded, tokens, shared);
                    MemoryOps without = *folded.ops, gate_only = *folded.ops;
                    without.infer_shared = NULL;   /* then infer_shared_out declines too */
                    gate_only.infer_shared_out = NULL;
                    Model plain = folded;   /* the same weights and tables, read only */
                    plain.ops = &without;
                    engine_tokens(&plain, tokens, own);
                    float *half = malloc(sizeof(float) * T * V);   /* the gate shared, not the output */
                    plain.ops = &gate_only;
                    engine_tokens(&plain, tokens, half);
                    assert_memory_equal(half, own, sizeof(float) * T * V);
                    free(half);
                    float *reference = reference_logits(table ? &folded : &trained, tokens);
                    double err = relative_error(shared, reference, T * V);
                    if (memcmp(shared, own, sizeof(float) * T * V) || err > TOLERANCE)
                        fprintf(stderr, "%s %s %s d %d: shared pass differs from the own gate by %.2e, "
                                "from the training form by %.2e\n", meki_position_name(position),
                                meki_fusion_name(fusion), table ? "q8_0" : "f32", c.d_model,
                                relative_error(shared, own, T * V), err);
                    assert_memory_equal(shared, own, sizeof(float) * T * V);
                    assert_true(err < TOLERANCE);
                    checked += parallel;
                    for (int dtype = WEIGHTS_BF16; wide && table == 0 && dtype <= WEIGHTS_Q8_0; dtype++) {
                        plain.ops = folded.ops;
                        engine_tokens_in(&plain, dtype, tokens, shared);
                        plain.ops = &without;
                        engine_tokens_in(&plain, dtype, tokens, own);
                        assert_memory_equal(shared, own, sizeof(float) * T * V);
                        assert_true(relative_error(shared, reference, T * V) > 1e-5);   /* packed: not f32 */
                    }
                    free(shared);
                    free(own);
                    free(reference);
                    model_free(&folded);
                    model_free(&trained);
                }
    kernels_set_threads(1);
    assert_int_equal(checked, 2 * 2 * 4 * 2);
}

/* The read path of a bundle (each token's rows of every layer fetched once, zero-copy from
 * the token-major file) gives the logits of the heap tables holding the same decoded rows,
 * bit for bit: every variant with a folded form, every table dtype. */
static void test_rom_rows_equal_heap_rows_bitwise(void **state) {
    const char *kinds[] = {"meki", "ple", "bias", "engram"};
    for (int k = 0; k < 4; k++)
        for (int dtype = 0; dtype < TABLE_DTYPE_COUNT; dtype++) {
            ModelConfig c;
            variant_config(&c, kinds[k]);
            Model trained, folded, loaded;
            assert_int_equal(model_create(&trained, &c, 0, 0), 0);
            randomize(&trained, 300 + k);
            assert_int_equal(model_fold(&trained, &folded), 0);
            char dir[] = "/tmp/meki-engine-rows-XXXXXX";
            assert_non_null(mkdtemp(dir));
            TableDtype d = (TableDtype)dtype;
            assert_int_equal(bundle_write(&folded, dir, &d, 1), 0);
            assert_int_equal(bundle_load(&loaded, dir, d), 0);
            round_heap_tables(&folded, d);
            int32_t tokens[T];
            random_tokens(tokens, T, 310 + k);
            float *heap = calloc((size_t)T * V, sizeof(float)), *rom = calloc((size_t)T * V, sizeof(float));
            engine_steps(&folded, tokens, heap);
            engine_steps(&loaded, tokens, rom);
            if (memcmp(heap, rom, sizeof(float) * T * V))
                fail_msg("%s, table %s: ROM logits differ from the heap tables'", kinds[k],
                         table_dtype_name(d));
            free(heap), free(rom);
            model_free(&loaded), model_free(&folded), model_free(&trained);
            remove_tree(dir);
        }
}

/* A step reads each token's ROM rows once for all layers: a prefill of n tokens is n reads,
 * a decoded token one, whatever the number of memory layers (here 2; the per-layer reads
 * of version 2 were 2 per token), with prefetch on or off. */
static void test_rom_reads_one_per_token(void **state) {
    const char *kinds[] = {"meki", "ple", "bias"};   /* Engram's rows are hashed per layer */
    for (int k = 0; k < 3; k++) {
        ModelConfig c;
        variant_config(&c, kinds[k]);
        Model trained, folded, loaded;
        assert_int_equal(model_create(&trained, &c, 0, 0), 0);
        randomize(&trained, 320 + k);
        assert_int_equal(model_fold(&trained, &folded), 0);
        char dir[] = "/tmp/meki-engine-reads-XXXXXX";
        assert_non_null(mkdtemp(dir));
        TableDtype q8 = TABLE_Q8;
        assert_int_equal(bundle_write(&folded, dir, &q8, 1), 0);
        assert_int_equal(bundle_load(&loaded, dir, q8), 0);
        assert_true(loaded.rom->n_tables >= 2);
        int32_t tokens[T];
        random_tokens(tokens, T, 330 + k);
        Engine e;
        assert_int_equal(engine_create(&e, &loaded, T, 4), 0);
        for (int mode = PREFETCH_OFF; mode <= PREFETCH_THREAD; mode++) {
            assert_int_equal(engine_set_prefetch(&e, mode), 0);
            unsigned long before = rom_table_reads();
            assert_non_null(engine_prefill(&e, tokens, T / 2, 0));
            if (rom_table_reads() - before != T / 2)
                fail_msg("%s: a prefill of %d tokens made %lu ROM reads", kinds[k], T / 2,
                         rom_table_reads() - before);
            for (int t = T / 2; t < T; t++) {
                before = rom_table_reads();
                assert_non_null(engine_forward(&e, tokens[t], t));
                if (rom_table_reads() - before != 1)
                    fail_msg("%s: one decoded token made %lu ROM reads (%d memory layers)", kinds[k],
                             rom_table_reads() - before, loaded.rom->n_tables);
            }
        }
        engine_free(&e);
        model_free(&loaded), model_free(&folded), model_free(&trained);
        remove_tree(dir);
    }
}

static void test_engine_refuses_bad_context(void **state) {
    ModelConfig c;
    small_config(&c, MEMORY_NONE);
    Model m;
    assert_int_equal(model_create(&m, &c, 0, 0), 0);
    Engine e;
    assert_int_equal(engine_create(&e, &m, 0, 0), 2);
    model_free(&m);
}

static void test_sampler(void **state) {
    float logits[V];
    Rng rng;
    rng_seed(&rng, 5);
    for (int i = 0; i < V; i++) logits[i] = rng_normal(&rng);
    Sampler greedy, a, b, c;
    assert_int_equal(sampler_create(&greedy, V, 0.0f, 1.0f, 1), 0);
    assert_int_equal(sampler_next(&greedy, logits), sample_argmax(logits, V));
    assert_int_equal(sampler_create(&a, V, 1.0f, 0.9f, 42), 0);
    assert_int_equal(sampler_create(&b, V, 1.0f, 0.9f, 42), 0);
    assert_int_equal(sampler_create(&c, V, 1.0f, 0.9f, 43), 0);
    int differ = 0;
    for (int i = 0; i < 50; i++) {
        int x = sampler_next(&a, logits), y = sampler_next(&b, logits), z = sampler_next(&c, logits);
        assert_int_equal(x, y);
        differ += x != z;
    }
    assert_true(differ > 0);
    sampler_free(&a);
    sampler_free(&c);
    /* a nucleus smaller than the top token is the top token */
    assert_int_equal(sampler_create(&a, V, 1.0f, 1e-6f, 9), 0);
    for (int i = 0; i < 20; i++) assert_int_equal(sampler_next(&a, logits), sample_argmax(logits, V));
    sampler_free(&a);
    /* frequencies follow the softmax: p = 1/4, 3/4 */
    float two[2] = {0.0f, logf(3.0f)};
    assert_int_equal(sampler_create(&a, 2, 1.0f, 1.0f, 10), 0);
    int ones = 0;
    for (int i = 0; i < 4000; i++) ones += sampler_next(&a, two);
    assert_true(fabs(ones / 4000.0 - 0.75) < 0.03);
    assert_int_equal(sampler_create(&c, V, -1.0f, 1.0f, 1), 2);
    assert_int_equal(sampler_create(&c, V, 1.0f, 0.0f, 1), 2);
    assert_int_equal(sampler_create(&c, V, 1.0f, 1.5f, 1), 2);
    sampler_free(&a);
    sampler_free(&b);
    sampler_free(&greedy);
}

/* sample_top_k against a sort of every index (largest first, the first index on ties), on
 * values with many ties; its first index is argmax's. */
static void test_sample_top_k(void **state) {
    float values[V];
    int expected[V], got[V + 1];
    Rng rng;
    rng_seed(&rng, 11);
    for (int round = 0; round < 20; round++) {
        int levels = round % 2 ? 5 : 1000;   /* few levels: ties everywhere */
        for (int i = 0; i < V; i++) values[i] = (float)rng_below(&rng, (uint64_t)levels);
        for (int i = 0; i < V; i++) expected[i] = i;
        for (int i = 1; i < V; i++)   /* stable insertion sort by value, descending */
            for (int j = i; j > 0 && values[expected[j]] > values[expected[j - 1]]; j--) {
                int t = expected[j]; expected[j] = expected[j - 1]; expected[j - 1] = t;
            }
        int ks[] = {1, 4, 16, V, V + 1};
        for (int q = 0; q < 5; q++) {
            int n = sample_top_k(values, V, ks[q], got);
            assert_int_equal(n, ks[q] < V ? ks[q] : V);
            assert_memory_equal(got, expected, sizeof(int) * (size_t)n);
            assert_int_equal(got[0], sample_argmax(values, V));
        }
    }
    assert_int_equal(sample_top_k(values, V, 0, got), 0);
}

/* Generation with k candidates prefetched after each step: the same token ids as without
 * (prefetch only warms pages); greedy's next token is the argmax, always a candidate, so
 * every step hits; sampled tokens hit at a rate in [0, 1]. Through the default prefetch
 * (MeKi: rows by token) and a variant's own hook (Engram: rows by the hashed context). */
static int generate_ids(Engine *e, Sampler *s, const int32_t *prompt, int n_prompt, int n, int *ids) {
    const float *logits = engine_prefill(e, prompt, n_prompt, 0);
    for (int i = 0; i < n; i++) {
        assert_non_null(logits);
        ids[i] = sampler_next(s, logits);
        if (i + 1 < n) logits = engine_forward(e, ids[i], n_prompt + i);
    }
    return n - 1;   /* forward steps */
}

static void test_topk_prefetch_hits(void **state) {
    for (int kind = 0; kind < 2; kind++) {
        ModelConfig c;
        small_config(&c, memory_kind_parse(kind ? "engram" : "meki"));
        engram_config(&c)->width = 4;
        engram_config(&c)->table_size = 97;
        Model m, folded, loaded;
        assert_int_equal(model_create(&m, &c, 0, 0), 0);
        randomize(&m, 90 + kind);
        char dir[] = "/tmp/meki-test-topk-XXXXXX";
        assert_non_null(mkdtemp(dir));
        TableDtype f32 = TABLE_F32;
        assert_int_equal(model_fold(&m, &folded), 0);
        assert_int_equal(bundle_write(&folded, dir, &f32, 1), 0);
        assert_int_equal(bundle_load(&loaded, dir, TABLE_F32), 0);
        enum { PROMPT = 3, N = T - PROMPT };
        int32_t prompt[PROMPT];
        random_tokens(prompt, PROMPT, 93 + kind);
        Engine e;
        assert_int_equal(engine_create(&e, &loaded, T, 0), 0);
        assert_true(engine_has_rom(&e));
        assert_int_equal(engine_set_prefetch_topk(&e, -1), 2);
        assert_int_equal(engine_set_prefetch_topk(&e, V + 1), 2);
        for (int temperature = 0; temperature < 2; temperature++) {
            int plain[N], with[N];
            long steps, hits;
            Sampler s;
            assert_int_equal(engine_set_prefetch_topk(&e, 0), 0);
            assert_int_equal(sampler_create(&s, V, (float)temperature, 1.0f, 5), 0);
            generate_ids(&e, &s, prompt, PROMPT, N, plain);
            engine_prefetch_hits(&e, &steps, &hits);
            assert_int_equal(steps, 0);   /* off: nothing predicted */
            sampler_free(&s);
            int ks[] = {1, 4};
            for (int q = 0; q < 2; q++) {
                assert_int_equal(engine_set_prefetch_topk(&e, ks[q]), 0);
                engine_table_evict(&e);
                assert_int_equal(sampler_create(&s, V, (float)temperature, 1.0f, 5), 0);
                int forwards = generate_ids(&e, &s, prompt, PROMPT, N, with);
                sampler_free(&s);
                assert_memory_equal(with, plain, sizeof plain);
                engine_prefetch_hits(&e, &steps, &hits);
                fprintf(stderr, "%s, temperature %d, top-%d: %ld of %ld hits\n",
                        memory_kind_name(c.memory), temperature, ks[q], hits, steps);
                assert_int_equal(steps, forwards);
                assert_true(hits >= 0 && hits <= steps);
                if (temperature == 0) assert_int_equal(hits, steps);
            }
        }
        /* forced tokens (random ids, not the model's) mostly miss a single candidate */
        long steps, hits;
        int32_t forced[T];
        random_tokens(forced, T, 97);
        assert_int_equal(engine_set_prefetch_topk(&e, 1), 0);
        engine_prefill(&e, forced, 1, 0);
        for (int t = 1; t < T; t++) engine_forward(&e, forced[t], t);
        engine_prefetch_hits(&e, &steps, &hits);
        assert_int_equal(steps, T - 1);
        assert_true(hits < steps);
        engine_free(&e);
        model_free(&loaded);
        model_free(&folded);
        model_free(&m);
        remove_tree(dir);
    }
}


/* The benchmark on a tiny bundle and its checkpoint: every variant measured, the warm table
 * fully resident; a checkpoint of another model is refused. */
static void test_decode_bench_smoke(void **state) {
    ModelConfig c;
    small_config(&c, memory_kind_parse("meki"));
    Model trained, folded;
    assert_int_equal(model_create(&trained, &c, 0, 0), 0);
    randomize(&trained, 91);
    assert_int_equal(model_fold(&trained, &folded), 0);
    char dir[] = "/tmp/meki-bench-XXXXXX", bundle[4096], checkpoint[4096], other[4096];
    assert_non_null(mkdtemp(dir));
    snprintf(bundle, sizeof bundle, "%s/bundle", dir);
    snprintf(checkpoint, sizeof checkpoint, "%s/run", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    TableDtype f32 = TABLE_F32;
    TrainState ts = {0};
    assert_int_equal(bundle_write(&folded, bundle, &f32, 1), 0);
    assert_int_equal(checkpoint_save(&trained, checkpoint, &ts), 0);
    DecodeBenchOptions o = {.bundle = bundle, .checkpoint = checkpoint, .dtype = TABLE_F32,
                            .context = 6, .tokens = 4, .repeats = 3, .warmup = 1, .chunk = 4,
                            .cold = 1, .seed = 1, .prefetch_topk = 2};
    DecodeBenchResult r;
    assert_int_equal(decode_bench_run(&o, &r), 0);
    for (int v = 0; v < VARIANT_COUNT; v++) {
        assert_true(r.v[v].measured);
        assert_true(r.v[v].decode_tok_s > 0 && r.v[v].prefill_tok_s > 0 && r.v[v].over_dense > 0);
        if (v == VARIANT_COLD_TOPK_FOLDED) continue;
        assert_int_equal(r.v[v].topk_steps, 0);   /* top-k prefetch is that variant's alone */
        assert_true(r.v[v].topk_hit_rate == -1);
    }
    /* every timed decode step follows a prediction (the stream's ids are the "sampled" ones) */
    const VariantFigures *topk = &r.v[VARIANT_COLD_TOPK_FOLDED];
    assert_int_equal(topk->prefetch_topk, 2);
    assert_int_equal(topk->topk_steps, (long)o.repeats * o.tokens);
    assert_true(topk->topk_hit_rate >= 0 && topk->topk_hit_rate <= 1);
    assert_int_equal(r.table_resident_bytes, r.rom_bytes);
    assert_true(r.peak_rss_bytes > 0 && r.folded_weights_bytes > r.dense_weights_bytes);
    /* the RSS split, from the kernel: the populated table is all mapped (file-backed, the
     * table's mapping found in smaps), the weights are private */
    assert_int_equal(r.warm.table_bytes, r.rom_bytes);
    assert_true(r.deployed.table_bytes <= r.rom_bytes);
    assert_true(r.warm.file_bytes >= r.warm.table_bytes && r.deployed.file_bytes >= r.deployed.table_bytes);
    assert_true(r.deployed.private_bytes > r.folded_weights_bytes);
    size_t one_copy_peak = r.peak_rss_bytes;

    /* three placements: every variant measured, the rounds rotating over the copies (the
     * top-k count covers every copy's steps), and the peak is still one copy's */
    o.placements = 3;
    assert_int_equal(decode_bench_run(&o, &r), 0);
    assert_int_equal(r.placements, 3);
    for (int v = 0; v < VARIANT_COUNT; v++) assert_true(r.v[v].measured && r.v[v].over_dense > 0);
    assert_int_equal(r.v[VARIANT_COLD_TOPK_FOLDED].topk_steps, (long)o.repeats * o.tokens);
    assert_true(r.peak_rss_bytes < one_copy_peak + (4u << 20));
    o.placements = DECODE_BENCH_MAX_PLACEMENTS + 1;
    assert_int_equal(decode_bench_run(&o, &r), 2);
    o.placements = 0;

    Model dense;   /* same shape without memory: not the bundle's model */
    small_config(&c, MEMORY_NONE);
    assert_int_equal(model_create(&dense, &c, 0, 0), 0);
    assert_int_equal(checkpoint_save(&dense, other, &ts), 0);
    o.checkpoint = other;
    assert_int_equal(decode_bench_run(&o, &r), 2);
    o.checkpoint = NULL;
    o.repeats = 0;
    assert_int_equal(decode_bench_run(&o, &r), 2);

    /* the same in fresh processes (meki bench decode as a child, read back from its JSON):
     * every process's ratio kept, the figures their medians */
    o.repeats = 3;
    o.placements = 2;
    DecodeProcessFigures p;
    decode_processes_set_executable(getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki");
    if (decode_in_processes(&o, 3, &p)) fail_msg("%s", error_message());
    assert_int_equal(p.processes, 3);
    double low = p.over_dense[0], high = p.over_dense[0];
    for (int i = 0; i < 3; i++) {
        assert_true(p.over_dense[i] > 0);
        low = p.over_dense[i] < low ? p.over_dense[i] : low;
        high = p.over_dense[i] > high ? p.over_dense[i] : high;
    }
    assert_true(p.median_over_dense >= low && p.median_over_dense <= high);
    assert_true(p.dense_tok_s > 0 && p.folded_tok_s > 0 && p.dense_cpu_tok_s > 0 && p.folded_cpu_tok_s > 0);
    o.bundle = other;   /* a checkpoint, not a bundle: the child fails, and so does the call */
    assert_int_equal(decode_in_processes(&o, 1, &p), ERR_FAILURE);
    assert_non_null(strstr(error_message(), "exit status 2"));
    o.bundle = bundle;
    decode_processes_set_executable("/bin/true");   /* exits 0 without figures */
    assert_int_equal(decode_in_processes(&o, 1, &p), ERR_FAILURE);
    assert_non_null(strstr(error_message(), "/bin/true"));
    decode_processes_set_executable("/nonexistent/meki");
    assert_int_equal(decode_in_processes(&o, 1, &p), ERR_FAILURE);
    assert_non_null(strstr(error_message(), "cannot start /nonexistent/meki"));
    decode_processes_set_executable(NULL);
    assert_int_equal(decode_in_processes(&o, 1, &p), ERR_FAILURE);
    model_free(&dense);
    remove_tree(dir);
    model_free(&folded);
    model_free(&trained);
}

/* Decoding with bf16 and q8_0 RAM weights gives the training forward of the same model
 * with its weights rounded through that format (what eval --weights-dtype computes), for
 * dense and MeKi models; and differs from f32, so the packed weights are really read. */
static void test_weights_dtypes_equal_roundtrip_forward(void **state) {
    for (int dtype = WEIGHTS_BF16; dtype <= WEIGHTS_Q8_0; dtype++)
        for (int kind = 0; kind < 3; kind++) {   /* dense, MeKi, MeKi folded (its two matrices packed too) */
            ModelConfig c;
            small_config(&c, kind ? memory_kind_parse("meki") : MEMORY_NONE);
            c.ffn_hidden = 64;   /* every width a multiple of q8_0's block of 32 */
            Model m, rounded, trained[2];   /* a Model is not moved: its tensors know their slots */
            Model *made[2] = {kind == 2 ? &trained[0] : &m, kind == 2 ? &trained[1] : &rounded};
            for (int i = 0; i < 2; i++) {
                assert_int_equal(model_create(made[i], &c, 0, 0), 0);
                randomize(made[i], 60 + kind);
            }
            if (kind == 2) {
                assert_int_equal(model_fold(&trained[0], &m), 0);
                assert_int_equal(model_fold(&trained[1], &rounded), 0);
                model_free(&trained[0]);
                model_free(&trained[1]);
                size_t bytes;   /* the folded form's gate and output count among the packed */
                long values = m.ops->packed_values(&m, dtype, &bytes);
                assert_int_equal(values, 2L * c.n_layers * meki_config(&c)->d_mem * c.d_model);
                assert_int_equal(bytes, 2 * c.n_layers * weights_bytes(dtype, meki_config(&c)->d_mem, c.d_model));
            }
            assert_int_equal(model_roundtrip_weights(&rounded, dtype), 0);
            int32_t tokens[T];
            random_tokens(tokens, T, 70 + kind);
            float *reference = reference_logits(&rounded, tokens), *exact = reference_logits(&m, tokens);
            Engine e;
            assert_int_equal(engine_create(&e, &m, T, 0), 0);
            assert_int_equal(engine_set_weights_dtype(&e, dtype), 0);
            double worst = 0, moved = 0;
            float *logits = malloc(sizeof(float) * T * V);
            for (int t = 0; t < T; t++) {
                memcpy(logits + (long)t * V, engine_forward(&e, tokens[t], t), sizeof(float) * V);
                worst = fmax(worst, relative_error(logits + (long)t * V, reference + (long)t * V, V));
                moved = fmax(moved, relative_error(logits + (long)t * V, exact + (long)t * V, V));
            }
            fprintf(stderr, "%s %s: engine vs rounded training forward %.2e (vs f32 %.2e)\n",
                    weights_dtype_name(dtype), kind == 2 ? "meki folded" : kind ? "meki" : "dense", worst, moved);
            assert_true(worst < TOLERANCE);
            assert_true(moved > 10 * worst);
            engine_free(&e);
            /* a deploy releases the f32 tensors it packed (the folded MeKi's two matrices
             * too) and decodes the same logits, bit for bit */
            assert_int_equal(engine_create(&e, &m, T, 0), 0);
            if (engine_set_weights_dtype_release(&e, &m, dtype)) fail_msg("%s", error_message());
            if (kind == 2) assert_null(((const MekiState *)m.memory)->w[0].w_gate);
            for (int t = 0; t < T; t++)
                assert_memory_equal(engine_forward(&e, tokens[t], t), logits + (long)t * V, sizeof(float) * V);
            engine_free(&e);
            free(logits);
            free(reference);
            free(exact);
            model_free(&rounded);
            model_free(&m);
        }
    ModelConfig c;   /* q8_0 refuses widths its blocks do not divide (ffn 48) */
    small_config(&c, MEMORY_NONE);
    Model m;
    Engine e;
    assert_int_equal(model_create(&m, &c, 0, 0), 0);
    assert_int_equal(engine_create(&e, &m, T, 0), 0);
    assert_int_equal(engine_set_weights_dtype(&e, WEIGHTS_Q8_0), ERR_INPUT);
    assert_int_equal(model_roundtrip_weights(&m, WEIGHTS_Q8_0), ERR_INPUT);
    engine_free(&e);
    model_free(&m);
}

/* Prefill (n > 1 rows: matrix products) with bf16 and q8_0 RAM weights reads the packed
 * copies too: the training forward on roundtripped weights at every split, for dense and
 * MeKi, tied and untied; the same after the model's f32 matrices, head and tied embedding
 * were released (NULL pointers, unreadable pages), which also fixes the model: no new
 * engine, no other dtype, no roundtrip; model_free still frees it. */
static void test_packed_prefill_equals_roundtrip_forward(void **state) {
    for (int dtype = WEIGHTS_BF16; dtype <= WEIGHTS_Q8_0; dtype++)
        for (int kind = 0; kind < 4; kind++) {
            ModelConfig c;
            small_config(&c, kind & 1 ? memory_kind_parse("meki") : MEMORY_NONE);
            c.ffn_hidden = 64;   /* every width a multiple of q8_0's block of 32 */
            c.tie_embeddings = kind >> 1;
            Model m, kept, rounded;
            Model *models[] = {&m, &kept, &rounded};
            for (int i = 0; i < 3; i++) {
                assert_int_equal(model_create(models[i], &c, 0, 0), 0);
                randomize(models[i], 80 + kind);
            }
            assert_int_equal(model_roundtrip_weights(&rounded, dtype), 0);
            int32_t tokens[T];
            random_tokens(tokens, T, 90 + kind);
            float *reference = reference_logits(&rounded, tokens), *exact = reference_logits(&kept, tokens);
            double worst = 0, moved = 0;
            for (int release = 0; release < 2; release++) {
                Model *model = release ? &m : &kept;
                Engine e;
                assert_int_equal(engine_create(&e, model, T, 5), 0);   /* chunks of 5 rows */
                assert_int_equal(release ? engine_set_weights_dtype_release(&e, model, dtype)
                                         : engine_set_weights_dtype(&e, dtype), 0);
                for (int split = 2; split <= T; split += 3) {
                    const float *logits = engine_prefill(&e, tokens, split, 0);
                    assert_non_null(logits);
                    worst = fmax(worst, relative_error(logits, reference + (long)(split - 1) * V, V));
                    moved = fmax(moved, relative_error(logits, exact + (long)(split - 1) * V, V));
                    for (int t = split; t < T; t++) {
                        logits = engine_forward(&e, tokens[t], t);
                        worst = fmax(worst, relative_error(logits, reference + (long)t * V, V));
                    }
                }
                engine_free(&e);
                if (worst >= TOLERANCE) fprintf(stderr, "release %d: %.2e\n", release, worst);
                assert_true(worst < TOLERANCE);
            }
            fprintf(stderr, "%s %s tied %d: prefill vs rounded training forward %.2e (vs f32 %.2e)\n",
                    weights_dtype_name(dtype), kind & 1 ? "meki" : "dense", c.tie_embeddings, worst, moved);
            assert_true(worst < TOLERANCE);
            assert_true(moved > 10 * worst);
            assert_null(m.w[0].wq);
            assert_null(m.w[c.n_layers - 1].w_down);
            assert_null(m.lm_head);
            assert_true(c.tie_embeddings ? m.embed == NULL : m.embed != NULL);
            Engine e;
            assert_int_equal(engine_create(&e, &m, T, 0), ERR_INPUT);
            assert_int_equal(model_roundtrip_weights(&m, dtype), ERR_INPUT);
            assert_int_equal(engine_create(&e, &kept, T, 0), 0);   /* only the engine's own model */
            assert_int_equal(engine_set_weights_dtype_release(&e, &m, dtype), ERR_INPUT);
            assert_int_equal(engine_set_weights_dtype_release(&e, &kept, WEIGHTS_F32), ERR_INPUT);
            engine_free(&e);
            free(reference);
            free(exact);
            for (int i = 0; i < 3; i++) model_free(models[i]);
        }
}

/* A "Name:   123 kB" line of /proc/self/status, in bytes. */
static long status_bytes(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t len = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, len) && line[len] == ':') kb = atol(line + len + 1);
    if (f) fclose(f);
    assert_true(kb >= 0);
    return kb * 1024;
}

/* Peak RSS from now on (VmHWM restarts at the current RSS). */
static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    assert_non_null(f);
    fputs("5", f);
    fclose(f);
}

/* The benchmark's peaks are its own: after 256 MB came and went (as a sweep trains before it
 * measures), a small bundle's decode records a peak near the process's current RSS. The
 * sweep recorded its lifetime peak (36.8 MiB where the deployed decode peaks at 7.6). */
static void test_decode_bench_peak_is_its_own(void **state) {
    ModelConfig c;
    small_config(&c, memory_kind_parse("meki"));
    Model trained, folded;
    assert_int_equal(model_create(&trained, &c, 0, 0), 0);
    randomize(&trained, 92);
    assert_int_equal(model_fold(&trained, &folded), 0);
    char dir[] = "/tmp/meki-bench-peak-XXXXXX", bundle[4096];
    assert_non_null(mkdtemp(dir));
    snprintf(bundle, sizeof bundle, "%s/bundle", dir);
    TableDtype f32 = TABLE_F32;
    assert_int_equal(bundle_write(&folded, bundle, &f32, 1), 0);
    size_t ballast = (size_t)256 << 20;
    char *volatile big = malloc(ballast);   /* volatile: the compiler may not drop the pair */
    assert_non_null(big);
    for (size_t i = 0; i < ballast; i += 4096) big[i] = 1;
    long with_ballast = status_bytes("VmRSS");
    free(big);
    assert_true(with_ballast > (long)(ballast / 2));
    long rss = status_bytes("VmRSS");
    DecodeBenchOptions o = {.bundle = bundle, .dtype = TABLE_F32, .context = 6, .tokens = 4, .repeats = 1,
                            .warmup = 0, .chunk = 4, .seed = 1};
    DecodeBenchResult r;
    assert_int_equal(decode_bench_run(&o, &r), 0);
    fprintf(stderr, "after a 256 MB ballast: RSS %.1f MB, benchmark peak %.1f MB, deploy peak %.1f MB\n",
            rss / 1e6, r.peak_rss_bytes / 1e6, r.deploy_peak_rss_bytes / 1e6);
    assert_true(r.peak_rss_bytes > 0 && r.deploy_peak_rss_bytes > 0);
    assert_true(r.peak_rss_bytes < (size_t)rss + ballast / 4);
    assert_true(r.deploy_peak_rss_bytes < (size_t)rss + ballast / 4);
    remove_tree(dir);
    model_free(&folded);
    model_free(&trained);
}

/* Private RAM stays flat as the table grows: loading a bundle whose ROM table is far larger
 * than its weights, and decoding with it, copies no table byte into the process's private
 * memory (no checksum read at load, rows read zero-copy from the mapping). The rows it
 * reads are file-backed pages, the page cache standing in for the ROM: counted in RssFile,
 * never more than the table. The table is still verifiable on demand, which does read it
 * all and catches a corrupted byte. */
static void test_decode_keeps_table_out_of_private_rss(void **state) {
    ModelConfig c;
    small_config(&c, memory_kind_parse("meki"));
    meki_config(&c)->d_mem = 4096;   /* 300 rows x 16 KiB x 2 layers: about 10 MB of table */
    Model trained, folded, loaded;
    assert_int_equal(model_create(&trained, &c, 0, 0), 0);
    randomize(&trained, 91);
    assert_int_equal(model_fold(&trained, &folded), 0);
    char dir[] = "/tmp/meki-engine-rss-XXXXXX";
    assert_non_null(mkdtemp(dir));
    TableDtype f32 = TABLE_F32;
    assert_int_equal(bundle_write(&folded, dir, &f32, 1), 0);
    model_free(&folded);
    model_free(&trained);

    long anon = status_bytes("RssAnon"), file = status_bytes("RssFile");
    assert_int_equal(bundle_load(&loaded, dir, TABLE_F32), 0);
    long table = (long)loaded.rom->file_bytes, weights = (long)sizeof(float) * loaded.params.total;
    Engine e;
    enum { N = 64 };   /* context of N positions: every token of the vocabulary would be V */
    int32_t tokens[N];
    random_tokens(tokens, N, 92);
    assert_int_equal(engine_create(&e, &loaded, N, 0), 0);
    for (int t = 0; t < N; t++) assert_non_null(engine_forward(&e, tokens[t], t));
    long private = status_bytes("RssAnon") - anon, shared = status_bytes("RssFile") - file;
    fprintf(stderr, "table %.1f MB, weights %.1f MB, engine %.1f MB: private RSS grew %.2f MB, "
            "file-backed %.2f MB\n", table / 1e6, weights / 1e6, engine_bytes(&e) / 1e6,
            private / 1e6, shared / 1e6);
    /* weights, engine buffers and MeKi's scratch for one row: nothing in the table's size */
    assert_true(private < weights + (long)engine_bytes(&e) + (1L << 20));
    assert_true(private < table / 4);
    /* what was read is the page cache's, mapped: at most the whole table */
    assert_true(shared <= table + (1L << 20));
    engine_free(&e);
    model_free(&loaded);

    assert_int_equal(bundle_verify(dir, TABLE_F32), OK);
    char path[4096];
    bundle_table_path(path, sizeof path, dir, TABLE_F32);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 4096 + 12345, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, 4096 + 12345, SEEK_SET);
    fputc(byte ^ 0x40, f);
    fclose(f);
    assert_int_equal(bundle_verify(dir, TABLE_F32), ERR_INPUT);
    remove_tree(dir);
}

/* A dense model with about 17 MB of block matrices: RSS changes of its size stand well
 * clear of the allocator's noise. */
static void rss_sized_config(ModelConfig *c) {
    small_config(c, MEMORY_NONE);
    c->d_model = 256;
    c->ffn_hidden = 1024;
    c->n_heads = 4;
    c->n_kv_heads = 4;
    c->n_layers = 4;
}

/* Decoding with q8_0 RAM weights holds less RAM than f32: once packed, the f32 block
 * matrices and tied head leave the process (RSS drops by their bytes less the q8_0 copies
 * and the prefill scratch), and packing them one at a time keeps the peak within one
 * matrix of where it was. */
static void test_release_drops_f32_weights_from_rss(void **state) {
    ModelConfig c;
    rss_sized_config(&c);
    c.tie_embeddings = 1;
    Model m;
    Engine e;
    assert_int_equal(model_create(&m, &c, 0, 0), 0);
    randomize(&m, 94);   /* every page of the weights written */
    assert_int_equal(engine_create(&e, &m, T, 0), 0);
    long d = c.d_model, F = c.ffn_hidden, q = (long)c.n_heads * m.cfg.head_dim, kv = (long)c.n_kv_heads * m.cfg.head_dim;
    long f32 = 0, packed = 0, largest = 0;
    long rows[8] = {q, kv, kv, d, F, F, d, V}, cols[8] = {d, d, d, q, d, d, F, d};
    for (int j = 0; j < 8; j++) {
        long times = j < 7 ? c.n_layers : 1, bytes = (long)weights_bytes(WEIGHTS_Q8_0, rows[j], (int)cols[j]);
        f32 += times * (long)sizeof(float) * rows[j] * cols[j];
        packed += times * bytes;
        largest = bytes > largest ? bytes : largest;
    }
    long scratch = (long)sizeof(float) * (q > F ? q : F) * d;
    long before = status_bytes("VmRSS");
    reset_peak_rss();
    assert_int_equal(engine_set_weights_dtype_release(&e, &m, WEIGHTS_Q8_0), 0);
    long after = status_bytes("VmRSS"), peak = status_bytes("VmHWM") - before;
    int32_t tokens[T];
    random_tokens(tokens, T, 95);
    assert_non_null(engine_prefill(&e, tokens, T, 0));
    long dropped = before - after;
    fprintf(stderr, "f32 matrices %.1f MB, q8_0 %.1f MB: RSS dropped %.1f MB, peak grew %.2f MB\n",
            f32 / 1e6, packed / 1e6, dropped / 1e6, peak / 1e6);
    /* whole pages only: each released run keeps up to two partial pages */
    assert_true(dropped > f32 - packed - scratch - (1L << 20));
    assert_true(peak < largest + scratch + (1L << 20));
    engine_free(&e);
    model_free(&m);
}

/* A checkpoint's load copies tensors out of the mapped file: the copied pages leave the
 * process as it goes, so the peak stays near one copy of the weights, not two. */
static void test_checkpoint_load_peaks_near_one_copy(void **state) {
    ModelConfig c;
    rss_sized_config(&c);
    Model m, loaded;
    assert_int_equal(model_create(&m, &c, 0, 0), 0);
    randomize(&m, 93);
    char dir[] = "/tmp/meki-engine-load-XXXXXX", path[4096];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    TrainState s = {0};
    assert_int_equal(model_save_file(&m, path, &s), 0);
    long weights = (long)sizeof(float) * m.params.total;
    model_free(&m);
    long before = status_bytes("VmRSS");
    reset_peak_rss();
    assert_int_equal(model_load_file(&loaded, path, 0, &s), 0);
    long grown = status_bytes("VmHWM") - before;
    fprintf(stderr, "weights %.1f MB: peak RSS grew %.1f MB during the load\n", weights / 1e6, grown / 1e6);
    long shadow = 0;   /* ASan backs each 8 bytes of the copy with a shadow byte */
#ifdef __SANITIZE_ADDRESS__
    shadow = weights / 8;
#endif
    assert_true(grown < weights * 5 / 4 + shadow);
    model_free(&loaded);
    remove_tree(dir);
}

int main(void) {
    kernels_set_threads(1);   /* tiny products: threads would only wait for each other */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_equals_training_forward),
        cmocka_unit_test(test_meki_unfolded_and_folded_equal_training_forward),
        cmocka_unit_test(test_bundle_rom_table),
        cmocka_unit_test(test_kv_cache_reuse_and_rewind),
        cmocka_unit_test(test_peers_equal_training_forward),
        cmocka_unit_test(test_rom_rows_equal_heap_rows_bitwise),
        cmocka_unit_test(test_rom_reads_one_per_token),
        cmocka_unit_test(test_engine_refuses_bad_context),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_sample_top_k),
        cmocka_unit_test(test_topk_prefetch_hits),
        cmocka_unit_test(test_decode_bench_smoke),
        cmocka_unit_test(test_decode_bench_peak_is_its_own),
        cmocka_unit_test(test_decode_keeps_table_out_of_private_rss),
        cmocka_unit_test(test_weights_dtypes_equal_roundtrip_forward),
        cmocka_unit_test(test_checkpoint_load_peaks_near_one_copy),
        cmocka_unit_test(test_packed_prefill_equals_roundtrip_forward),
        cmocka_unit_test(test_release_drops_f32_weights_from_rss),
        cmocka_unit_test(test_meki_shared_pass_equals_own_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
