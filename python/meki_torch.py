#!/usr/bin/python3
"""MeKi harness models in PyTorch, for users of `./meki export --format hf`.

    import meki_torch
    model = meki_torch.load("export_dir")          # ./meki export --format hf --out export_dir
    logits = model(torch.tensor([[1, 2, 3]]))      # [B, T, vocab]
    loss = model.loss(tokens, targets)

`load` reads model.safetensors (Hugging Face Qwen3 names), config.json and, for a folded
model (exported from a bundle), memory_table.safetensors. A dense export is a plain Qwen3
checkpoint that transformers' Qwen3ForCausalLM loads too; this module also runs the MeKi
memory (tensors model.layers.N.meki.*, settings in config.json's "meki" object), in its
training form (static table + projector) or folded form (one table row per token).
PLE and Engram exports load as tensors (model.tensors) but have no forward here yet.

Computation is float64 from the stored float32 weights, written from the equations
(PAPER.md, DESIGN.md) and shared with tests/reference/make_fixture.py, which builds the
C model's reference fixtures from the same functions.
"""
import json
import math
import os
import struct

import numpy as np
import torch

# ---------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.float32, "I32": np.int32, "F16": np.float16}


def read_safetensors(path):
    """name -> numpy array, and the metadata dict."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out, meta


# ---------------------------------------------------------------- the model (equations)

def rmsnorm(x, gain, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x, theta):
    """x [B, T, heads, hd]; Hugging Face half-split rotation, position t for row t."""
    T, hd = x.shape[1], x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]   # [T, hd/2]
    angles = torch.cat((angles, angles), dim=-1)[None, :, None, :]
    return x * angles.cos() + rotate_half(x) * angles.sin()


def attention(p, pre, c, h):
    B, T, d = h.shape
    H, KV = c["n_heads"], c["n_kv_heads"]
    hd = c.get("head_dim") or d // H
    q = (h @ p[pre + "q_proj.weight"].T).view(B, T, H, hd)
    k = (h @ p[pre + "k_proj.weight"].T).view(B, T, KV, hd)
    v = (h @ p[pre + "v_proj.weight"].T).view(B, T, KV, hd)
    if c["qk_norm"]:
        q = rmsnorm(q, p[pre + "q_norm.weight"], c["norm_eps"])
        k = rmsnorm(k, p[pre + "k_norm.weight"], c["norm_eps"])
    q, k = rope(q, c["rope_theta"]), rope(k, c["rope_theta"])
    k = k.repeat_interleave(H // KV, dim=2)   # query head i uses kv head i // (H / KV)
    v = v.repeat_interleave(H // KV, dim=2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))   # [B, H, T, hd]
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    out = scores.softmax(-1) @ v
    return out.transpose(1, 2).reshape(B, T, H * hd) @ p[pre + "o_proj.weight"].T


def swiglu(x, gate, up, down):
    return (torch.nn.functional.silu(x @ gate.T) * (x @ up.T)) @ down.T


def mlp(p, pre, h):
    return swiglu(h, p[pre + "gate_proj.weight"], p[pre + "up_proj.weight"], p[pre + "down_proj.weight"])


def meki(p, mk, c, tokens, u, x):
    """PAPER.md "Training form": x is the module's input (h_t, or the residual stream for
    the positions that carry their own pre-norm); u = E[tokens] the shared embeddings.
    Folded form: mk + "folded_table" holds alpha * RMSNorm(mix) per token."""
    eps = c["norm_eps"]
    h = rmsnorm(x, p[mk + "in_norm.weight"], eps) if mk + "in_norm.weight" in p else x
    if mk + "folded_table" in p:
        e = p[mk + "folded_table"][tokens]
    else:
        mix = 0
        if mk + "table" in p:
            mix = mix + p[mk + "table"][tokens]                       # s = M[x]
        if mk + "beta" in p:
            if c["meki_projector"] == "swiglu":
                q = swiglu(u, p[mk + "proj.gate_proj.weight"], p[mk + "proj.up_proj.weight"],
                           p[mk + "proj.down_proj.weight"])
            else:
                q = u @ p[mk + "proj.weight"].T
            mix = mix + p[mk + "beta"] * q
        e = p[mk + "alpha"] * rmsnorm(mix, p[mk + "mix_norm.weight"], eps)
    pre_gate = h @ p[mk + "gate.weight"].T
    act = torch.sigmoid if c["meki_fusion"].endswith("sigmoid") else torch.nn.functional.silu
    g = act(pre_gate)
    v = e * g if c["meki_fusion"].startswith("mul") else e + g
    return rmsnorm(v @ p[mk + "out.weight"].T, p[mk + "out_norm.weight"], eps)


def meki_layer_flags(c, p=None):
    """Which layers carry MeKi: from the config's layer list, or (p given) from the tensors."""
    L = c["n_layers"]
    if c["memory"] != "meki":
        return [False] * L
    if p is not None:
        return [any(n.startswith(f"layers.{l}.meki.") for n in p) for l in range(L)]
    text = c["meki_layers"]
    if text == "all":
        return [True] * L
    chosen = {int(s) for s in text.split(",")}
    return [l in chosen for l in range(L)]


def forward(p, c, tokens, targets=None, flags=None):
    """tokens [B, T] -> logits [B*T, V] and, with targets, the mean cross-entropy."""
    eps, pos = c["norm_eps"], c["meki_position"]
    u = p["embed_tokens.weight"][tokens]          # [B, T, d]; gradient flows into E
    x = u
    for l, has_meki in enumerate(flags if flags is not None else meki_layer_flags(c)):
        pre, mk = f"layers.{l}.", f"layers.{l}.meki."
        h = rmsnorm(x, p[pre + "input_layernorm.weight"], eps)
        x = x + attention(p, pre + "self_attn.", c, h)
        if has_meki and pos == "parallel_attn":
            x = x + meki(p, mk, c, tokens, u, h)
        if has_meki and pos == "after_attn":
            x = x + meki(p, mk, c, tokens, u, x)
        h = rmsnorm(x, p[pre + "post_attention_layernorm.weight"], eps)
        x = x + mlp(p, pre + "mlp.", h)
        if has_meki and pos == "parallel_ffn":
            x = x + meki(p, mk, c, tokens, u, h)
        if has_meki and pos == "after_ffn":
            x = x + meki(p, mk, c, tokens, u, x)
    x = rmsnorm(x, p["norm.weight"], eps)
    head = p["embed_tokens.weight"] if c["tie_embeddings"] else p["lm_head.weight"]
    logits = (x @ head.T).reshape(-1, c["vocab_size"])
    if targets is None:
        return logits, None
    return logits, torch.nn.functional.cross_entropy(logits, targets.reshape(-1))


# ---------------------------------------------------------------- loading an export

def config_from_hf(hf):
    """config.json (Qwen3 keys + the "meki" object) -> the flat config `forward` reads."""
    m = hf.get("meki", {})
    return dict(vocab_size=hf["vocab_size"], d_model=hf["hidden_size"], n_layers=hf["num_hidden_layers"],
                n_heads=hf["num_attention_heads"], n_kv_heads=hf["num_key_value_heads"],
                head_dim=hf["head_dim"], ffn_hidden=hf["intermediate_size"], seq_len=hf["max_position_embeddings"],
                rope_theta=float(np.float32(hf["rope_theta"])), norm_eps=float(np.float32(hf["rms_norm_eps"])),
                qk_norm=1, tie_embeddings=int(hf["tie_word_embeddings"]),
                memory=m.get("memory.kind", "none"), meki_memory=m.get("meki.memory", "both"),
                meki_position=m.get("meki.position", "parallel_ffn"), meki_fusion=m.get("meki.fusion", "add_sigmoid"),
                meki_projector=m.get("meki.projector", "swiglu"), meki_layers=m.get("meki.layers", "all"),
                folded=int(m.get("folded", 0)))


class MekiModel(torch.nn.Module):
    """A loaded export: call it on token ids [B, T] for logits [B, T, V]."""

    def __init__(self, tensors, config):
        super().__init__()
        self.config = config
        self.tensors = {n: torch.from_numpy(np.array(a, dtype=np.float64)) for n, a in tensors.items()}
        if config["memory"] not in ("none", "meki"):
            self.flags = None
        else:
            self.flags = meki_layer_flags(config, self.tensors)

    def _check(self):
        if self.flags is None:
            raise NotImplementedError(f"meki_torch: no forward for memory kind {self.config['memory']} yet")

    def forward(self, tokens):
        self._check()
        logits, _ = forward(self.tensors, self.config, tokens, None, self.flags)
        return logits.view(*tokens.shape, -1)

    def loss(self, tokens, targets):
        self._check()
        return forward(self.tensors, self.config, tokens, targets, self.flags)[1]

    @torch.no_grad()
    def eval_loss(self, ids, batch=16):
        """./meki eval's figure: non-overlapping windows of seq_len + 1 tokens (the last one
        shorter), every token but the first predicted once; the mean loss."""
        ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        T, predicted = self.config["seq_len"], len(ids) - 1
        full = predicted // T
        total = 0.0
        for w in range(0, full, batch):
            rows = min(batch, full - w)
            starts = torch.arange(w, w + rows) * T
            index = starts[:, None] + torch.arange(T)[None, :]
            total += self.loss(ids[index], ids[index + 1]).item() * rows * T
        tail = predicted - full * T
        if tail:
            s = full * T
            total += self.loss(ids[s:s + tail][None], ids[s + 1:s + 1 + tail][None]).item() * tail
        return total / predicted


def load(directory):
    """An HF export folder (./meki export --format hf) -> MekiModel."""
    with open(os.path.join(directory, "config.json")) as f:
        config = config_from_hf(json.load(f))
    weights, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    tensors = {}
    for name, array in weights.items():
        tensors[name[len("model."):] if name.startswith("model.") else name] = array
    table_path = os.path.join(directory, "memory_table.safetensors")
    if os.path.exists(table_path):
        tables, _ = read_safetensors(table_path)
        for name, array in tables.items():      # model.layers.N.memory_table
            layer = name.split(".")[2]
            tensors[f"layers.{layer}.{config['memory']}.folded_table"] = array
    return MekiModel(tensors, config)


def read_token_file(path):
    """A harness .tok file: 32-byte header (u64 count at byte 16), then u16 ids."""
    with open(path, "rb") as f:
        data = f.read()
    count = struct.unpack_from("<Q", data, 16)[0]
    return np.frombuffer(data, dtype="<u2", count=count, offset=32)


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3:
        sys.exit("usage: meki_torch.py EXPORT_DIR TOKENS.tok   (prints the held-out loss)")
    torch.set_default_dtype(torch.float64)
    print(f"{load(sys.argv[1]).eval_loss(read_token_file(sys.argv[2])):.9g}")
