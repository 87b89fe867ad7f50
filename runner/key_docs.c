#include "runner/key_docs.h"
#include <string.h>

static const char *const DOCS[][2] = {
    {"experiment.name", "the experiment's name: the report's section and `./meki runs --experiment`"},
    {"experiment.description", "free text shown in the report"},
    {"experiment.seeds", "seeds, e.g. `1, 2, 3`: every grid point runs once per seed (sets train.seed)"},
    {"model.preset", "a built-in shape the other model keys start from (`--preset` of `./meki train` lists them)"},
    {"train.tokens", "training tokens (steps = tokens / (batch x seq_len), rounded up)"},
    {"train.tokens_per_param", "the budget as training tokens per RAM parameter (MeKi's ROM table not counted), rounded up; exclusive with tokens"},
    {"train.batch", "sequences per optimizer step"},
    {"train.seq_len", "training sequence length (0: the model's seq_len)"},
    {"train.lr", "peak learning rate (linear warm-up, then cosine to min_lr)"},
    {"train.min_lr", "learning rate at the end of the cosine schedule"},
    {"train.warmup", "warm-up steps"},
    {"train.beta1", "AdamW beta1"},
    {"train.beta2", "AdamW beta2"},
    {"train.eps", "AdamW epsilon"},
    {"train.weight_decay", "AdamW decoupled weight decay (matrices; see weight_decay_embeddings)"},
    {"train.clip", "gradient clipping by global norm (0: off)"},
    {"train.seed", "seed of initialisation and data order (set by [experiment] seeds)"},
    {"train.eval_every", "validation every N steps (and at the last); 0: only at the end"},
    {"train.eval_tokens", "held-out tokens scored at each validation step, whole windows spread over the split"},
    {"train.checkpoint_every", "checkpoint every N steps (resume is exact, so where they fall changes nothing)"},
    {"train.recipe", "harness | reference: sets weight_decay_embeddings, init_std, scaled_init and model.qk_norm as the recipe has them"},
    {"train.weight_decay_embeddings", "on: weight decay on every >= 2-D tensor, the embedding and memory tables too (the reference's recipe)"},
    {"train.init_std", "std of the normal initialisation"},
    {"train.scaled_init", "on: output projections initialised with std / sqrt(2 n_layers)"},
    {"train.diverge_loss", "a training loss above this (or not finite) ends the run as diverged"},
    {"analysis.baseline", "the variant every other is compared with in the report, as section.key=value of a swept axis (default: the dense variant, else the first value of the first axis)"},
    {"train.precision", "f32 | bf16: the GEMMs' operands (bf16 keeps f32 weights, gradients and AdamW state)"},
    {"eval.final_tokens", "held-out tokens of the final evaluation, whole windows spread over the split from a fixed seed; 0: the whole split (default: a tenth of the training tokens, at least 65,536)"},
    {"eval.zero_shot", "on: score the zero-shot tasks (cloze, 4-way choice, 2-way word) after training"},
    {"eval.logit_lens", "on: the per-layer KL of the logit lens (Fig. 7), under each reading"},
    {"bench.table_dtypes", "ROM table dtypes to fold and measure (f32, f16, bf16, q8_0, q4_0), or none: no deploy measurements"},
    {"bench.weights_dtypes", "RAM weight dtypes the decode benchmark measures besides f32 (f32, bf16, q8_0)"},
    {"bench.decode_tokens", "tokens decoded per benchmark repeat"},
    {"bench.cold", "on: also measure decode with the table's pages dropped from the page cache"},
    {"bench.prefetch", "on: the cold measurement prefetches each token's rows"},
    {"data.corpus", "bible (the default), debian (the built-in multi-domain corpus: make corpus-debian; named by its packages' versions), or files, folders and @lists, comma-separated; hashed by content"},
    {"data.tokenizer", "a Hugging Face tokenizer.json (byte-level BPE) used in place of learning one; hashed by content (docs/interop.md)"},
    {"model.d_model", "hidden width"},
    {"model.n_layers", "decoder blocks"},
    {"model.n_heads", "query heads"},
    {"model.n_kv_heads", "key/value heads (grouped-query attention)"},
    {"model.ffn_hidden", "SwiGLU hidden width"},
    {"model.vocab_size", "BPE vocabulary (must match the prepared corpus)"},
    {"model.seq_len", "context length"},
    {"model.rope_theta", "RoPE base"},
    {"model.norm_eps", "RMSNorm epsilon"},
    {"model.qk_norm", "RMSNorm on queries and keys per head (Qwen3)"},
    {"model.tie_embeddings", "the LM head shares the embedding matrix"},
    {"memory.kind", "none (dense) or a memory variant (`--memory` of `./meki train` lists them)"},
    {"meki.d_mem", "width of MeKi's per-token memory row (the paper's d_mem)"},
    {"meki.memory", "static (a learned V x d_mem table per layer) | dynamic (a SwiGLU projector of the token embedding) | both, summed"},
    {"meki.position", "where the memory enters a block: parallel_ffn | parallel_attn | after_attn | after_ffn"},
    {"meki.fusion", "how it is fused: add_sigmoid | mul_sigmoid | add_silu | mul_silu"},
    {"meki.projector", "the memory's projector: swiglu | linear"},
    {"meki.layers", "layers with memory: all | 0,2,4 | first:N | last:N | every:K"},
    {"ple.width", "width of PLE's per-layer token vector"},
    {"ple.layers", "layers with PLE (as meki.layers)"},
    {"engram.max_ngram", "longest hashed n-gram"},
    {"engram.heads", "hash heads per n-gram order"},
    {"engram.table_size", "rows per hashed table"},
    {"engram.width", "width of a hashed row"},
    {"engram.normalize_tokens", "on: hash normalised token ids (the token map)"},
    {"engram.layers", "layers with Engram (as meki.layers)"},
    {"bias.layers", "layers with a per-token bias (as meki.layers)"},
};
enum { N_DOCS = sizeof DOCS / sizeof DOCS[0] };

const char *key_doc_find(const char *key) {
    for (int i = 0; i < N_DOCS; i++)
        if (!strcmp(DOCS[i][0], key)) return DOCS[i][1];
    return NULL;
}

const char *key_doc(const char *key) {
    const char *doc = key_doc_find(key);
    return doc ? doc : "(undocumented: add it to runner/key_docs.c)";
}

const char *key_doc_key(int i) { return i >= 0 && i < N_DOCS ? DOCS[i][0] : NULL; }
