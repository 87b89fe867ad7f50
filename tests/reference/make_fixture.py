#!/usr/bin/python3
"""PyTorch reference for the C model: writes the fixtures that tests/test_reference.c checks.

Run once with Debian's torch (importable only by /usr/bin/python3):

    /usr/bin/python3 tests/reference/make_fixture.py

MEKI_FIXTURE_DIR=DIR writes them to DIR instead (to compare with the committed ones).
The model is python/meki_torch.py's, imported.

Each fixture is a safetensors file holding, for one tiny model with random weights:
every parameter under its C (Hugging Face Qwen3) name, the batch ("input.tokens",
"input.targets", I32 [B, T]), the outputs ("output.logits" F32 [B*T, V], "output.loss"
F32 [1]), the gradient of the mean loss for every parameter ("grad.<name>"), and the
configuration as strings in "__metadata__", under the C config's own field names
("model.d_model", "meki.d_mem", ...; models/config_fields.c). The model is written from the equations
(PAPER.md; DESIGN.md), not from the C code, and computed in float64 from the float32
weights that are stored, so the only error the test sees is the C model's.
"""
import json
import math
import os
import struct

import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import meki_torch  # noqa: E402  the model's equations, shared with users of the exports

torch.set_default_dtype(torch.float64)
OUT = os.environ.get("MEKI_FIXTURE_DIR", HERE)   # elsewhere: to compare with the committed ones


# ---------------------------------------------------------------- configurations

def config(**overrides):
    c = dict(vocab_size=256, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=48,
             seq_len=8, rope_theta=10000.0, norm_eps=1e-6, qk_norm=1, tie_embeddings=0,
             memory="none", meki_d_mem=8, meki_memory="both", meki_position="parallel_ffn",
             meki_fusion="add_sigmoid", meki_projector="swiglu", meki_layers="all",
             batch=2, seq=8, seed=0)
    c.update(overrides)
    return c


# The core fixtures follow the paper's chosen design; the ablation ones cover the other
# memory types, positions, fusions and the linear projector on a narrower model.
ABLATION = dict(d_model=16, n_heads=2, n_kv_heads=1, ffn_hidden=24, tie_embeddings=1,
                memory="meki", meki_d_mem=8)
FIXTURES = {
    "dense": config(seed=1),
    "dense_tied": config(seed=2, tie_embeddings=1, qk_norm=0, n_layers=1),
    "meki": config(seed=3, memory="meki", tie_embeddings=1),
    # d_mem > d_model and a layer without memory: catches m/d mix-ups in shapes and strides
    "meki_wide": config(seed=4, memory="meki", d_model=16, n_heads=2, n_kv_heads=1,
                        ffn_hidden=24, meki_d_mem=24, meki_layers="1"),
    "meki_after_attn": config(seed=5, **ABLATION, meki_position="after_attn",
                              meki_fusion="mul_sigmoid", meki_projector="linear"),
    "meki_parallel_attn": config(seed=6, **ABLATION, meki_position="parallel_attn",
                                 meki_fusion="add_silu", meki_memory="dynamic"),
    "meki_after_ffn": config(seed=7, **ABLATION, meki_position="after_ffn",
                             meki_fusion="mul_silu", meki_memory="static"),
}


def metadata_key(key):
    """The C config field (models/config_fields.c) a setting is stored under; the batch
    shape and seed go under "reference.", which the C test reads itself."""
    if key in ("batch", "seq", "seed"):
        return "reference." + key
    if key == "memory":
        return "memory.kind"
    if key.startswith("meki_"):
        return "meki." + key[len("meki_"):]
    return "model." + key


def meki_layer_flags(c):
    text, L = c["meki_layers"], c["n_layers"]
    if c["memory"] != "meki":
        return [False] * L
    if text == "all":
        return [True] * L
    chosen = {int(s) for s in text.split(",")}
    return [l in chosen for l in range(L)]


# ---------------------------------------------------------------- parameters

def declare(c):
    """name -> (shape, kind); kind: 'matrix', 'gain', 'scalar', 'table' or 'embedding'."""
    V, d, F = c["vocab_size"], c["d_model"], c["ffn_hidden"]
    hd = d // c["n_heads"]
    qd, kvd = c["n_heads"] * hd, c["n_kv_heads"] * hd
    m, half = c["meki_d_mem"], d // 2
    p = {"embed_tokens.weight": ((V, d), "embedding")}
    for l, meki in enumerate(meki_layer_flags(c)):
        pre = f"layers.{l}."
        p[pre + "input_layernorm.weight"] = ((d,), "gain")
        p[pre + "self_attn.q_proj.weight"] = ((qd, d), "matrix")
        p[pre + "self_attn.k_proj.weight"] = ((kvd, d), "matrix")
        p[pre + "self_attn.v_proj.weight"] = ((kvd, d), "matrix")
        p[pre + "self_attn.o_proj.weight"] = ((d, qd), "matrix")
        if c["qk_norm"]:
            p[pre + "self_attn.q_norm.weight"] = ((hd,), "gain")
            p[pre + "self_attn.k_norm.weight"] = ((hd,), "gain")
        p[pre + "post_attention_layernorm.weight"] = ((d,), "gain")
        p[pre + "mlp.gate_proj.weight"] = ((F, d), "matrix")
        p[pre + "mlp.up_proj.weight"] = ((F, d), "matrix")
        p[pre + "mlp.down_proj.weight"] = ((d, F), "matrix")
        if not meki:
            continue
        mk = pre + "meki."
        if c["meki_memory"] in ("static", "both"):
            p[mk + "table"] = ((V, m), "table")
        if c["meki_memory"] in ("dynamic", "both"):
            if c["meki_projector"] == "swiglu":
                p[mk + "proj.gate_proj.weight"] = ((half, d), "matrix")
                p[mk + "proj.up_proj.weight"] = ((half, d), "matrix")
                p[mk + "proj.down_proj.weight"] = ((m, half), "matrix")
            else:
                p[mk + "proj.weight"] = ((m, d), "matrix")
            p[mk + "beta"] = ((1,), "scalar")
        p[mk + "alpha"] = ((1,), "scalar")
        p[mk + "mix_norm.weight"] = ((m,), "gain")
        if c["meki_position"] in ("after_attn", "after_ffn"):
            p[mk + "in_norm.weight"] = ((d,), "gain")
        p[mk + "gate.weight"] = ((m, d), "matrix")
        p[mk + "out.weight"] = ((d, m), "matrix")
        p[mk + "out_norm.weight"] = ((d,), "gain")
    p["norm.weight"] = ((d,), "gain")
    if not c["tie_embeddings"]:
        p["lm_head.weight"] = ((V, d), "matrix")
    return p


def random_parameters(c, gen):
    """Weights large enough that every non-linearity is away from its linear regime; gains,
    alpha and beta away from 1 so that a missing factor shows. Rounded to float32 (stored)."""
    params = {}
    for name, (shape, kind) in declare(c).items():
        if kind == "matrix":
            w = torch.randn(shape, generator=gen) / math.sqrt(shape[1])
        elif kind == "table":
            w = torch.randn(shape, generator=gen)
        elif kind == "embedding":   # tied: logits of a few units, not a one-hot softmax
            w = 0.35 * torch.randn(shape, generator=gen)
        elif kind == "gain":
            w = 1.0 + 0.3 * torch.randn(shape, generator=gen)
        else:
            w = 0.6 + 0.8 * torch.rand(shape, generator=gen)   # alpha, beta in [0.6, 1.4]
        params[name] = w.float().double().requires_grad_(True)
    return params


# ---------------------------------------------------------------- the model

def forward(p, c, tokens, targets):
    """python/meki_torch.py's model (the one users run on exports), on the layers the
    config gives MeKi."""
    return meki_torch.forward(p, c, tokens, targets, meki_layer_flags(c))


# ---------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (float32 or int32). The format: u64 header length,
    JSON header (dtype, shape, data_offsets per tensor; "__metadata__" strings), data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}
    for name, array in tensors.items():
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)


def make(name, c):
    gen = torch.Generator().manual_seed(1000 + c["seed"])
    params = random_parameters(c, gen)
    B, T, V = c["batch"], c["seq"], c["vocab_size"]
    tokens = torch.randint(0, V, (B, T), generator=gen)
    tokens[1, 5] = tokens[0, 2]        # repeated tokens: gradients into one row accumulate
    tokens[1, 6] = tokens[1, 1]
    targets = torch.randint(0, V, (B, T), generator=gen)
    logits, loss = forward(params, c, tokens, targets)
    loss.backward()

    out = {n: t.detach().numpy().astype(np.float32) for n, t in params.items()}
    out["input.tokens"] = tokens.numpy().astype(np.int32)
    out["input.targets"] = targets.numpy().astype(np.int32)
    out["output.logits"] = logits.detach().numpy().astype(np.float32)
    out["output.loss"] = np.array([loss.item()], dtype=np.float32)
    for n, t in params.items():
        out["grad." + n] = t.grad.numpy().astype(np.float32)
    meta = {metadata_key(k): str(v) for k, v in c.items()}
    path = os.path.join(OUT, name + ".safetensors")
    write_safetensors(path, out, meta)
    print(f"{path}: {len(params)} parameters, loss {loss.item():.6f}, "
          f"{os.path.getsize(path) / 1024:.0f} KB")


if __name__ == "__main__":
    for fixture_name, fixture_config in FIXTURES.items():
        make(fixture_name, fixture_config)
