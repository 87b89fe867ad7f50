#!/usr/bin/python3
"""PyTorch eager peer of `./meki bench train`: the same dense model, trained the same way.

    bench/peers/torch_train.py --like "$(./meki bench train --preset large --json | tail -1)" --threads 2

--like takes the harness's JSON line and trains its shape (batch, seq_len, d_model, layers,
heads, kv heads, head_dim, ffn_hidden, vocab, rope theta, norm eps): the model is
python/meki_torch.py's forward (the one the interop tests check against ./meki eval), in
float32 with autograd, AdamW (lr 1e-4, betas 0.9/0.95, eps 1e-8, wd 0.1, as bench/speed.c),
random token ids and targets. Like bench/speed.c it times `--steps` steps after 3 warm-up
steps and prints one JSON line: tok/s, the forward/backward/optimizer seconds, threads,
the torch version. --autocast bf16 runs the forward (and so the backward's matmuls) under
torch.autocast('cpu', dtype=torch.bfloat16), as a researcher would train bf16 on this CPU:
f32 parameters, gradients and AdamW state (the harness's `--precision bf16`).
"""
import contextlib
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import meki_torch  # noqa: E402

SHAPE_KEYS = ("batch", "seq_len", "d_model", "n_layers", "n_heads", "n_kv_heads", "head_dim",
              "ffn_hidden", "vocab_size", "rope_theta", "norm_eps", "qk_norm", "tie_embeddings")


def make_params(c, generator):
    """meki_torch.forward's tensor names (Hugging Face Qwen3 layout), normal(0, 0.02), norms 1."""
    d, hd, H, KV, F = c["d_model"], c["head_dim"], c["n_heads"], c["n_kv_heads"], c["ffn_hidden"]
    shapes = {"embed_tokens.weight": (c["vocab_size"], d), "norm.weight": (d,)}
    for l in range(c["n_layers"]):
        pre = f"layers.{l}."
        shapes.update({pre + "input_layernorm.weight": (d,), pre + "post_attention_layernorm.weight": (d,),
                       pre + "self_attn.q_proj.weight": (H * hd, d), pre + "self_attn.k_proj.weight": (KV * hd, d),
                       pre + "self_attn.v_proj.weight": (KV * hd, d), pre + "self_attn.o_proj.weight": (d, H * hd),
                       pre + "mlp.gate_proj.weight": (F, d), pre + "mlp.up_proj.weight": (F, d),
                       pre + "mlp.down_proj.weight": (d, F)})
        if c["qk_norm"]:
            shapes.update({pre + "self_attn.q_norm.weight": (hd,), pre + "self_attn.k_norm.weight": (hd,)})
    if not c["tie_embeddings"]:
        shapes["lm_head.weight"] = (c["vocab_size"], d)
    p = {}
    for name, shape in shapes.items():
        t = torch.ones(shape) if len(shape) == 1 else torch.randn(shape, generator=generator) * 0.02
        p[name] = t.requires_grad_()
    return p


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--like", required=True, help="a `./meki bench train --json` line: the shape to train")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps after 3 warm-up steps (default 10)")
    ap.add_argument("--autocast", choices=("off", "bf16"), default="off",
                    help="bf16: the forward under torch.autocast('cpu', dtype=torch.bfloat16) (default off)")
    args = ap.parse_args(argv)
    like = json.loads(args.like)
    missing = [k for k in SHAPE_KEYS if k not in like]
    if missing:
        sys.exit(f"torch_train.py: --like lacks {', '.join(missing)} (a `./meki bench train --json` line)")
    if like.get("memory", "none") != "none":
        sys.exit("torch_train.py: only the dense model (--memory none) has a peer")
    c = {k: like[k] for k in SHAPE_KEYS}
    c["memory"] = "none"
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(1)
    p = make_params(c, gen)
    B, T, V = c["batch"], c["seq_len"], c["vocab_size"]
    tokens = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    opt = torch.optim.AdamW(p.values(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    autocast = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.autocast == "bf16"
                else contextlib.nullcontext)
    warmup, fwd, bwd, optim = 3, 0.0, 0.0, 0.0
    for step in range(warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast():
            _, loss = meki_torch.forward(p, c, tokens, targets)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if step >= warmup:
            fwd, bwd, optim = fwd + t1 - t0, bwd + t2 - t1, optim + t3 - t2
    total = fwd + bwd + optim
    print(json.dumps({"peer": "torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "autocast": args.autocast,
                      "batch": B, "seq_len": T, "steps": args.steps,
                      "train_tok_s": B * T * args.steps / total, "forward_seconds": fwd,
                      "backward_seconds": bwd, "optimizer_seconds": optim, "loss": loss.item()}))


if __name__ == "__main__":
    main(sys.argv[1:])
