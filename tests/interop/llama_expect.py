#!/usr/bin/python3
"""What llama_check.mjs compares llama.cpp to, from PyTorch (python/meki_torch.py) on the HF
export of the same checkpoint: the top-1 token at each of the first N positions (windows of
seq_len as ./meki eval) and GREEDY greedy tokens after the first 8 held-out ids.
usage: llama_expect.py HF_DIR TOKENS.tok N LOSS RTOL TOP1_MIN GREEDY > expect.json"""
import json, os, sys
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import meki_torch

hf_dir, tokens_path, n, loss, rtol, top1_min, greedy = sys.argv[1:8]
n, greedy = int(n), int(greedy)
torch.set_default_dtype(torch.float64)
model = meki_torch.load(hf_dir)
ids = torch.as_tensor(meki_torch.read_token_file(tokens_path)[:n + 1].astype("int64"))
T = model.config["seq_len"]
top1 = []
with torch.no_grad():
    for s in range(0, n, T):
        top1 += model(ids[s:min(s + T, n)][None])[0].argmax(-1).tolist()
    prompt, out = ids[:8].tolist(), []
    for _ in range(greedy):
        out.append(int(model(torch.tensor([prompt + out]))[0, -1].argmax()))
print(json.dumps({"loss": float(loss), "loss_rtol": float(rtol), "top1": top1, "top1_min": float(top1_min),
                  "greedy_prompt": prompt, "greedy": out or None}))
