#!/usr/bin/python3
"""MeKi harness models in PyTorch: dense, MeKi, PLE, Engram and Bias, training and folded form.

    import meki_torch
    model = meki_torch.load("dir")                 # an HF export, a run folder or a bundle
    logits = model(torch.tensor([[1, 2, 3]]))      # [B, T, vocab]
    loss = model.loss(tokens, targets)
    model.eval_loss(ids, max_tokens=4096)          # ./meki eval --eval-tokens 4096

`load` reads
  - an HF export (./meki export --format hf): model.safetensors (Hugging Face Qwen3 names),
    config.json (Qwen3 keys; a memory model's own model_type, its settings typed in the
    "meki" object) and, exported from a
    bundle, memory_table.safetensors (the folded tables decoded to f32);
  - a run folder (./meki train): checkpoint.safetensors, settings in its metadata;
  - a bundle (./meki fold): weights.safetensors and table.DTYPE.rom (table_dtype=...), whose
    f32 / f16 / bf16 / q8_0 / q4_0 rows are decoded here (formats/romtable.h, kernels/quant.h).
A dense export is a plain Qwen3 checkpoint that transformers' Qwen3ForCausalLM loads too.

Computation is float64 from the stored float32 weights, written from the equations
(PAPER.md, DESIGN.md; the module comments of models/meki.c, ple.c, engram.c, bias.c).
tests/reference/make_fixture.py builds the C model's reference fixtures from these functions.
"""
import json
import math
import os
import struct

import numpy as np
import torch

# ---------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.float32, "I32": np.int32, "F16": np.float16}
_SKIP_PREFIXES = ("optim.",)   # a checkpoint's AdamW moments


def read_safetensors(path):
    """name -> numpy array, and the metadata dict."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        if name.startswith(_SKIP_PREFIXES):
            continue
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
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)   # float32 stays float32 (bench/peers)
    return x * cos + rotate_half(x) * sin


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
    # a bundle (and its HF export) holds the output product transposed, [d_mem, d]
    w_out = p[mk + "out_t.weight"] if mk + "out_t.weight" in p else p[mk + "out.weight"].T
    return rmsnorm(v @ w_out, p[mk + "out_norm.weight"], eps)


def gelu_tanh(x):
    """kernels/activation.c's GELU: the tanh approximation (as Gemma's PLE uses)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def ple(p, pk, c, tokens, u, x):
    """models/ple.c: x the residual stream after the FFN, u = E[tokens].
    e = (T[x] + RMSNorm(W u)) / sqrt(2)  (folded: pk + "folded_table"[x]);
    y = RMSNorm(W_p (GELU(W_g x) * e))."""
    eps = c["norm_eps"]
    if pk + "folded_table" in p:
        e = p[pk + "folded_table"][tokens]
    else:
        q = rmsnorm(u @ p[pk + "proj.weight"].T, p[pk + "proj_norm.weight"], eps)
        e = (p[pk + "table"][tokens] + q) * math.sqrt(0.5)
    v = gelu_tanh(x @ p[pk + "gate.weight"].T) * e
    return rmsnorm(v @ p[pk + "out.weight"].T, p[pk + "out_norm.weight"], eps)


def bias(p, bk, tokens):
    """models/bias.c: B_l[x], added to the residual stream before attention."""
    table = p[bk + "folded_table"] if bk + "folded_table" in p else p[bk + "table"]
    return table[tokens]


# ---- Engram: hashed n-gram rows (models/engram.c)

ENGRAM_HASH_SEED = 0x454E4752414D3031   # "ENGRAM01"
ENGRAM_CONV_KERNEL = 4
GATE_SQRT_EPS = float(np.float32(1e-3))
_U64 = (1 << 64) - 1


def hash64(x):
    """util/rng.c: the splitmix64 finaliser."""
    x = (x + 0x9E3779B97F4A7C15) & _U64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _U64
    return x ^ (x >> 31)


def _is_prime(n):
    return n >= 2 and all(n % f for f in range(2, int(math.isqrt(n)) + 1))


class EngramHash:
    """Head j = (n - 2) K + k for n-gram order n = 2..N, head k < K: its table is the j-th
    prime >= table_size rows, stacked after the earlier heads' (offset_j); the row of a
    window w (w[i] = token at t - i, the vocabulary size V before position 0) is
    offset_j + (XOR_{i<n} w[i] * mult[l, j, i] mod 2^64) mod prime_j."""

    def __init__(self, c):
        self.N, self.K, self.V = c["engram_max_ngram"], c["engram_heads"], c["vocab_size"]
        self.heads = (self.N - 1) * self.K
        self.prime, self.offset = [], []
        candidate, total = c["engram_table_size"], 0
        for _ in range(self.heads):
            while not _is_prime(candidate):
                candidate += 1
            self.prime.append(candidate)
            self.offset.append(total)
            total += candidate
            candidate += 1
        self.total_rows = total

    def multiplier(self, layer, j, i):
        x = hash64(ENGRAM_HASH_SEED ^ layer)
        x = hash64(x ^ (2 + j // self.K))
        x = hash64(x ^ (j % self.K))
        return hash64(x ^ i) | 1

    def rows_of_windows(self, layer, windows):
        """windows: uint64 [..., N] (w[..., i] the token i steps back) -> int64 [..., heads]."""
        windows = np.asarray(windows, dtype=np.uint64)
        out = np.empty(windows.shape[:-1] + (self.heads,), dtype=np.int64)
        with np.errstate(over="ignore"):
            for j in range(self.heads):
                h = np.zeros(windows.shape[:-1], dtype=np.uint64)
                for i in range(2 + j // self.K):
                    h ^= windows[..., i] * np.uint64(self.multiplier(layer, j, i))
                out[..., j] = self.offset[j] + (h % np.uint64(self.prime[j])).astype(np.int64)
        return out

    def rows(self, layer, tokens):
        """tokens [B, T] (normalised) -> table rows [B, T, heads], each row of tokens its own sequence."""
        t = np.asarray(tokens, dtype=np.int64)
        B, T = t.shape
        padded = np.concatenate([np.full((B, self.N - 1), self.V, dtype=np.int64), t], axis=1)
        windows = np.stack([padded[:, self.N - 1 - i:self.N - 1 - i + T] for i in range(self.N)], axis=-1)
        return self.rows_of_windows(layer, windows)


def engram_normalize(p, tokens, V):
    """engram.token_map holds canonical id - id per token (zeros: no merging)."""
    if "engram.token_map" not in p:
        return tokens
    canonical = tokens + torch.round(p["engram.token_map"][tokens]).long()
    return torch.where((canonical >= 0) & (canonical < V), canonical, tokens)


def engram(p, ek, c, layer, rows, x):
    """models/engram.c: k = the heads' rows concatenated; a = sigmoid(signed_sqrt(
    <RMSNorm(W_key k), RMSNorm(x)> / sqrt(d))); v = a W_value k; y = v + conv(v), a causal
    depthwise convolution of kernel 4 and dilation N over each sequence."""
    eps, d = c["norm_eps"], c["d_model"]
    table = p[ek + "folded_table"] if ek + "folded_table" in p else p[ek + "table"]
    B, T, H = rows.shape
    k = table[torch.as_tensor(rows)].reshape(B, T, -1)                   # [B, T, H w]
    kn = rmsnorm(k @ p[ek + "key.weight"].T, p[ek + "key_norm.weight"], eps)
    hn = rmsnorm(x, p[ek + "query_norm.weight"], eps)
    score = (kn * hn).sum(-1, keepdim=True) / math.sqrt(d)
    magnitude = torch.sqrt(score.abs() + GATE_SQRT_EPS) - math.sqrt(GATE_SQRT_EPS)
    gate = torch.sigmoid(torch.where(score < 0, -magnitude, magnitude))
    v = gate * (k @ p[ek + "value.weight"].T)                              # [B, T, d]
    w, dilation = p[ek + "conv.weight"], c["engram_max_ngram"]             # w [d, 4]
    y = v
    for tap in range(ENGRAM_CONV_KERNEL):
        shift = (ENGRAM_CONV_KERNEL - 1 - tap) * dilation
        if shift >= T:
            continue
        shifted = torch.cat((torch.zeros_like(v[:, :shift]), v[:, :T - shift]), dim=1) if shift else v
        y = y + w[:, tap] * shifted
    return y


# ---- the whole model

MEMORY_KINDS = ("meki", "ple", "engram", "bias")


def layer_flags(p, kind, L):
    """Which layers carry the memory `kind`: those with tensors layers.N.<kind>.*."""
    return [any(n.startswith(f"layers.{l}.{kind}.") for n in p) for l in range(L)]


def forward(p, c, tokens, targets=None, flags=None):
    """tokens [B, T] -> logits [B*T, V] and, with targets, the mean cross-entropy.
    flags: the layers that carry the memory (default: from the tensors present)."""
    eps, L, kind = c["norm_eps"], c["n_layers"], c.get("memory", "none")
    if kind not in MEMORY_KINDS:
        flags = [False] * L
    elif flags is None:
        flags = layer_flags(p, kind, L)
    pos = c.get("meki_position", "parallel_ffn")
    u = p["embed_tokens.weight"][tokens]          # [B, T, d]; gradient flows into E
    x = u
    if kind == "engram":
        hasher = c.get("_engram_hash") or EngramHash(c)
        normalized = engram_normalize(p, tokens, c["vocab_size"]).numpy()
    for l, has in enumerate(flags):
        pre, mk = f"layers.{l}.", f"layers.{l}.{kind}."
        if has and kind == "engram":
            x = x + engram(p, mk, c, l, hasher.rows(l, normalized), x)
        if has and kind == "bias":
            x = x + bias(p, mk, tokens)
        h = rmsnorm(x, p[pre + "input_layernorm.weight"], eps)
        x = x + attention(p, pre + "self_attn.", c, h)
        if has and kind == "meki" and pos == "parallel_attn":
            x = x + meki(p, mk, c, tokens, u, h)
        if has and kind == "meki" and pos == "after_attn":
            x = x + meki(p, mk, c, tokens, u, x)
        h = rmsnorm(x, p[pre + "post_attention_layernorm.weight"], eps)
        x = x + mlp(p, pre + "mlp.", h)
        if has and kind == "meki" and pos == "parallel_ffn":
            x = x + meki(p, mk, c, tokens, u, h)
        if has and kind == "meki" and pos == "after_ffn":
            x = x + meki(p, mk, c, tokens, u, x)
        if has and kind == "ple":
            x = x + ple(p, mk, c, tokens, u, x)
    x = rmsnorm(x, p["norm.weight"], eps)
    head = p["embed_tokens.weight"] if c["tie_embeddings"] else p["lm_head.weight"]
    logits = (x @ head.T).reshape(-1, c["vocab_size"])
    if targets is None:
        return logits, None
    return logits, torch.nn.functional.cross_entropy(logits, targets.reshape(-1))


# ---------------------------------------------------------------- settings

def _f32(text):
    return float(np.float32(float(text)))


def config_from_fields(f):
    """The C config's fields (models/config_fields.c; "model.d_model", "meki.d_mem", ...) as
    strings, as a checkpoint's metadata holds them -> the flat config `forward` reads."""
    on = lambda key, default="off": f.get(key, default) in ("on", "1", "true")
    i = lambda key, default: int(f.get(key, default))
    d, H = i("model.d_model", 0), i("model.n_heads", 1)
    return dict(vocab_size=i("model.vocab_size", 0), d_model=d, n_layers=i("model.n_layers", 0),
                n_heads=H, n_kv_heads=i("model.n_kv_heads", H), head_dim=i("model.head_dim", d // H),
                ffn_hidden=i("model.ffn_hidden", 0), seq_len=i("model.seq_len", 0),
                rope_theta=_f32(f.get("model.rope_theta", 10000)), norm_eps=_f32(f.get("model.norm_eps", 1e-6)),
                qk_norm=int(on("model.qk_norm", "on")), tie_embeddings=int(on("model.tie_embeddings")),
                memory=f.get("memory.kind", "none"), meki_memory=f.get("meki.memory", "both"),
                meki_position=f.get("meki.position", "parallel_ffn"), meki_fusion=f.get("meki.fusion", "add_sigmoid"),
                meki_projector=f.get("meki.projector", "swiglu"), meki_layers=f.get("meki.layers", "all"),
                engram_max_ngram=i("engram.max_ngram", 3), engram_heads=i("engram.heads", 4),
                engram_table_size=i("engram.table_size", 4093), engram_width=i("engram.width", 1),
                folded=i("folded", 0))


def _field_text(value):
    """A typed config.json value as the C field's text (layers "0,2", booleans on/off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def config_from_hf(hf):
    """config.json (Qwen3 keys + the "meki" object of the memory settings) -> `forward`'s config.
    A memory model's model_type names its kind (meki, meki_ple, meki_engram, meki_bias)."""
    mem = hf.get("meki", {})
    kind = mem.get("memory.kind", "none")
    expected = "qwen3" if kind == "none" else "meki" if kind == "meki" else f"meki_{kind}"
    if hf.get("model_type") != expected:
        raise ValueError(f"config.json: model_type {hf.get('model_type')!r} but memory.kind {kind!r} "
                         f"(expected {expected!r})")
    fields = {"model.vocab_size": hf["vocab_size"], "model.d_model": hf["hidden_size"],
              "model.n_layers": hf["num_hidden_layers"], "model.n_heads": hf["num_attention_heads"],
              "model.n_kv_heads": hf["num_key_value_heads"], "model.head_dim": hf["head_dim"],
              "model.ffn_hidden": hf["intermediate_size"], "model.seq_len": hf["max_position_embeddings"],
              "model.rope_theta": hf["rope_theta"], "model.norm_eps": hf["rms_norm_eps"],
              "model.qk_norm": "on", "model.tie_embeddings": "on" if hf["tie_word_embeddings"] else "off"}
    fields.update({k: _field_text(v) for k, v in mem.items() if k != "folded"})
    fields["folded"] = str(int(bool(mem.get("folded", False))))
    return config_from_fields(fields)


# ---------------------------------------------------------------- the ROM table file

ROM_DTYPES = ("f32", "f16", "bf16", "q8_0", "q4_0")   # kernels/quant.h TableDtype order
QK = 32


def _half(b):
    return b.view("<f2").astype(np.float64)


def decode_rom_rows(data, dtype, width):
    """data: uint8 [rows, row_bytes] -> float64 [rows, width] (kernels/quant.c's decoders;
    every product there is exact in float32, so float64 gives the same values)."""
    rows = data.shape[0]
    if dtype == "f32":
        return data[:, :4 * width].copy().view("<f4").astype(np.float64)
    if dtype == "f16":
        return data[:, :2 * width].copy().view("<f2").astype(np.float64)
    if dtype == "bf16":
        bits = data[:, :2 * width].copy().view("<u2").astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    blocked = width % QK == 0
    if dtype == "q8_0":
        if blocked:    # ggml blocks: f16 d, 32 int8
            b = data[:, :width // QK * (2 + QK)].reshape(rows, width // QK, 2 + QK)
            d = _half(b[:, :, :2].copy())                                       # [rows, blocks, 1]
            return (d * b[:, :, 2:].view(np.int8)).reshape(rows, width)
        scale = np.ldexp(1.0, data[:, :1].astype(np.int64) - 127)              # E8M0 byte
        return scale * data[:, 1:1 + width].view(np.int8)
    if dtype == "q4_0":
        n = QK if blocked else width     # values per block; byte j: value j low, j + h high
        h, blocks = (n + 1) // 2, width // n
        b = data[:, :blocks * (2 + h)].reshape(rows, blocks, 2 + h)
        d = _half(b[:, :, :2].copy())
        nibbles = np.concatenate((b[:, :, 2:] & 0xF, b[:, :, 2:] >> 4), axis=-1)[:, :, :n]
        return (d * (nibbles.astype(np.float64) - 8)).reshape(rows, width)
    raise ValueError(f"unknown ROM dtype {dtype}")


def read_rom_table(path):
    """formats/romtable.h: layer -> float64 [rows, width]; the header checked against the file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 4096 or blob[:8] != b"MEKIROM1":
        raise ValueError(f"{path}: not a MeKi ROM table")
    version, dtype, n_tables, rows, width, group = struct.unpack_from("<6I", blob, 8)
    row_bytes, stride, data_offset, file_bytes = struct.unpack_from("<4Q", blob, 32)
    layers = struct.unpack_from("<64i", blob, 72)
    data_end = data_offset + rows * stride
    if (version != 3 or file_bytes != len(blob) or stride != n_tables * row_bytes
            or file_bytes != data_offset + (rows * stride + 4095) // 4096 * 4096):
        raise ValueError(f"{path}: ROM version {version} or sizes do not match the file (fold again)")
    # token-major: row r of every table together, [rows, n_tables, row_bytes]
    raw = np.frombuffer(blob, dtype=np.uint8)[data_offset:data_end].reshape(rows, n_tables, row_bytes)
    tables = {}
    for s in range(n_tables):
        tables[layers[s]] = decode_rom_rows(np.ascontiguousarray(raw[:, s, :]), ROM_DTYPES[dtype], width)
    return tables


# ---------------------------------------------------------------- loading

class MekiModel(torch.nn.Module):
    """A loaded model: call it on token ids [B, T] for logits [B, T, V]."""

    def __init__(self, tensors, config):
        super().__init__()
        self.config = config
        self.tensors = {n: torch.from_numpy(np.array(a, dtype=np.float64)) for n, a in tensors.items()}
        kind = config["memory"]
        if kind not in ("none",) + MEMORY_KINDS:
            raise NotImplementedError(f"meki_torch: no forward for memory kind {kind}")
        self.flags = layer_flags(self.tensors, kind, config["n_layers"]) if kind != "none" else None
        if kind == "engram":
            config["_engram_hash"] = EngramHash(config)

    def forward(self, tokens):
        logits, _ = forward(self.tensors, self.config, tokens, None, self.flags)
        return logits.view(*tokens.shape, -1)

    def loss(self, tokens, targets):
        return forward(self.tensors, self.config, tokens, targets, self.flags)[1]

    @torch.no_grad()
    def eval_loss(self, ids, batch=16, max_tokens=0):
        """./meki eval's figure (--eval-tokens max_tokens; 0: all): non-overlapping windows of
        seq_len + 1 tokens (the last one shorter), every token but the first predicted once
        (the first max_tokens of them); the mean loss."""
        ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        T, predicted = self.config["seq_len"], len(ids) - 1
        if 0 < max_tokens < predicted:
            predicted = max_tokens
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


def _strip_model(weights):
    return {(n[len("model."):] if n.startswith("model.") else n): a for n, a in weights.items()}


def _add_tables(tensors, config, tables):
    for layer, table in tables.items():
        tensors[f"layers.{layer}.{config['memory']}.folded_table"] = table


def load_hf(directory):
    """An HF export folder (./meki export --format hf)."""
    with open(os.path.join(directory, "config.json")) as f:
        config = config_from_hf(json.load(f))
    weights, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    tensors = _strip_model(weights)
    table_path = os.path.join(directory, "memory_table.safetensors")
    if os.path.exists(table_path):
        tables, _ = read_safetensors(table_path)    # model.layers.N.memory_table
        _add_tables(tensors, config, {int(n.split(".")[2]): a for n, a in tables.items()})
    return MekiModel(tensors, config)


def load_checkpoint(directory):
    """A run folder (./meki train --out DIR): checkpoint.safetensors, training form."""
    weights, meta = read_safetensors(os.path.join(directory, "checkpoint.safetensors"))
    return MekiModel(weights, config_from_fields(meta))


def load_bundle(directory, table_dtype="f32"):
    """A bundle (./meki fold --out DIR): weights.safetensors and table.<table_dtype>.rom."""
    weights, meta = read_safetensors(os.path.join(directory, "weights.safetensors"))
    if meta.get("folded") != "2":   # train/checkpoint.c's FOLDED_FORMAT
        raise ValueError(f"{directory}/weights.safetensors: folded format {meta.get('folded')}, this "
                         "reader knows 2: fold the checkpoint again")
    config = config_from_fields(meta)
    _add_tables(weights, config, read_rom_table(os.path.join(directory, f"table.{table_dtype}.rom")))
    return MekiModel(weights, config)


def load(directory, table_dtype="f32"):
    """A run folder, a bundle or an HF export, told apart by the files they hold."""
    if os.path.exists(os.path.join(directory, "checkpoint.safetensors")):
        return load_checkpoint(directory)
    if os.path.exists(os.path.join(directory, "weights.safetensors")):
        return load_bundle(directory, table_dtype)
    return load_hf(directory)


def read_token_file(path):
    """A harness .tok file: 32-byte header (u64 count at byte 16), then u16 ids."""
    with open(path, "rb") as f:
        data = f.read()
    count = struct.unpack_from("<Q", data, 16)[0]
    return np.frombuffer(data, dtype="<u2", count=count, offset=32)


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description="the held-out loss of a MeKi model in PyTorch "
                                     "(the figure of ./meki eval)")
    parser.add_argument("model", help="HF export folder, run folder or bundle")
    parser.add_argument("tokens", help="a .tok file, e.g. data/cache/bible-v4096/val.tok")
    parser.add_argument("--table-dtype", default="f32", help="a bundle's ROM table (default f32)")
    parser.add_argument("--eval-tokens", type=int, default=0, help="the first N predicted tokens (default all)")
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    model = load(args.model, args.table_dtype)
    print(f"{model.eval_loss(read_token_file(args.tokens), max_tokens=args.eval_tokens):.9g}")


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
