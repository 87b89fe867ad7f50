#!/usr/bin/python3
"""Expected GGUF contents of a dense HF export, from llama.cpp's qwen3 names and ggml's
type sizes (not from the C writer): usage gguf_expect.py HF_DIR DTYPE > expected.json"""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import meki_torch

hf_dir, dtype = sys.argv[1], sys.argv[2]
weights, _ = meki_torch.read_safetensors(os.path.join(hf_dir, "model.safetensors"))
cfg = json.load(open(os.path.join(hf_dir, "config.json")))
GGML = {"f32": (0, 4, 1), "f16": (1, 2, 1), "q8_0": (8, 34, 32), "q4_0": (2, 18, 32)}   # type, bytes per block, block
LAYER = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
         "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
         "self_attn.k_norm": "attn_k_norm", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
         "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}

def gguf_name(name):
    if name == "model.embed_tokens.weight": return "token_embd.weight"
    if name == "model.norm.weight": return "output_norm.weight"
    if name == "lm_head.weight": return "output.weight"
    parts = name.split(".")                    # model.layers.N.<part>.weight
    return f"blk.{parts[2]}.{LAYER['.'.join(parts[3:-1])]}.weight"

order = ["model.embed_tokens.weight"]
for l in range(cfg["num_hidden_layers"]):
    order += [f"model.layers.{l}.{k}.weight" for k in LAYER]
order += ["model.norm.weight"] + ([] if cfg["tie_word_embeddings"] else ["lm_head.weight"])
tensors, offset = [], 0
for name in order:
    shape = list(weights[name].shape)[::-1]
    kind = "f32" if len(shape) == 1 else dtype
    if kind in ("q8_0", "q4_0") and shape[0] % 32: kind = "f16"
    t, size, block = GGML[kind]
    n = 1
    for s in shape: n *= s
    nbytes = n // block * size
    tensors.append({"name": gguf_name(name), "shape": shape, "type": t, "offset": offset, "bytes": nbytes})
    offset += (nbytes + 31) // 32 * 32
metadata = {"general.architecture": "qwen3", "tokenizer.ggml.model": "gpt2",
            "qwen3.context_length": cfg["max_position_embeddings"], "qwen3.embedding_length": cfg["hidden_size"],
            "qwen3.block_count": cfg["num_hidden_layers"], "qwen3.feed_forward_length": cfg["intermediate_size"],
            "qwen3.attention.head_count": cfg["num_attention_heads"],
            "qwen3.attention.head_count_kv": cfg["num_key_value_heads"],
            "qwen3.attention.key_length": cfg["head_dim"], "qwen3.attention.value_length": cfg["head_dim"],
            "qwen3.attention.layer_norm_rms_epsilon": cfg["rms_norm_eps"], "qwen3.rope.freq_base": cfg["rope_theta"]}
print(json.dumps({"metadata": metadata, "tensors": tensors, "vocab_size": cfg["vocab_size"]}))
