/* Export to the Hugging Face layout, so that transformers / PyTorch users can load a model:
 * DIR/model.safetensors (weights only, metadata format = pt) under Qwen3's names
 * (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight,
 * lm_head.weight unless tied) and DIR/config.json (Qwen3ForCausalLM). The harness's RoPE is
 * Qwen3's rotate-half form and its QK-norm sits where Qwen3's does (per head, before RoPE),
 * so no weight is permuted.
 * Memory variants keep their tensors under the same prefix, named by the variant:
 * model.layers.N.<kind>.* (and model.<kind>.* for tensors shared by layers), and are not
 * Qwen3: config.json names them MekiForCausalLM / model_type meki (and MekiPle, MekiEngram,
 * MekiBias / meki_ple, meki_engram, meki_bias), the Qwen3 keys kept for the shared part, the
 * settings in its "meki" object (memory.kind, folded and the active variant's fields, typed;
 * python/meki_torch.py reads them). A folded model (bundle) writes its ROM table, decoded to f32, as
 * DIR/memory_table.safetensors: model.layers.N.memory_table [rows, width] per memory layer. */
#ifndef DEPLOY_EXPORT_HF_H
#define DEPLOY_EXPORT_HF_H
#include "models/model.h"
#include "formats/romtable.h"

/* ERR_INPUT when the model has no Qwen3 form (QK-norm off: Qwen3 always normalizes q, k). */
/* eos: the tokenizer's end-of-text id (data/tokenizer_json.h) for bos/eos_token_id, or -1. */
int export_hf(const Model *m, const char *dir, int eos);
#endif
