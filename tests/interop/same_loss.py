#!/usr/bin/python3
"""PyTorch (python/meki_torch.py) against ./meki eval: usage
    same_loss.py TOKENS.tok EVAL_TOKENS < checks
each line of checks `name<TAB>model dir<TAB>table dtype<TAB>./meki eval's loss`; prints
`PASS: name ...` or `FAIL: name ...` per line (1e-5 relative), and first whether the hash of
Engram's rows reproduces tests/engram_hash_expected.inc (the values the C test pins)."""
import os
import re
import sys
import traceback

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import meki_torch  # noqa: E402

torch.set_default_dtype(torch.float64)


def engram_hash_check():
    """tests/test_engram.c's test_hash_regression_values: layers 1 and 3 of a 4-layer model,
    vocabulary 4096, N 3, 4 heads, tables of 4093; rows less each head's offset."""
    h = meki_torch.EngramHash(dict(engram_max_ngram=3, engram_heads=4, engram_table_size=4093, vocab_size=4096))
    windows = np.array([[17, 4095, 4096], [0, 0, 0], [1234, 99, 3071]])
    got = [sum((list(h.rows_of_windows(l, windows[w][None])[0] - np.array(h.offset)) for l in (1, 3)), [])
           for w in range(3)]
    with open(os.path.join(HERE, "..", "engram_hash_expected.inc")) as f:
        expected = [list(map(int, re.findall(r"-?\d+", line))) for line in f if line.startswith("{{")]
    ok = got == expected
    print(f"{'PASS' if ok else 'FAIL'}: engram hash rows equal tests/engram_hash_expected.inc ({len(expected)} windows x 2 layers x 8 heads)")


def memory_effect(name, model, ids, eval_tokens, loss):
    """The agreement means something only if the memory moves the loss well past 1e-5: the
    same model with its memory switched off must score differently by >= 1e-4 relative.
    Engram's is reported only (INFO): after a few steps its rows still move the loss by
    about 1e-5, so its agreement says little beyond the hash check."""
    flags, model.flags = model.flags, [False] * len(model.flags)
    without = model.eval_loss(ids, max_tokens=eval_tokens)
    model.flags = flags
    effect = abs(without - loss) / abs(loss)
    verdict = "INFO" if model.config["memory"] == "engram" else "PASS" if effect >= 1e-4 else "FAIL"
    print(f"{verdict}: {name}: the memory moves the loss by {effect:.1e} relative "
          f"({without:.6g} without it)")


def main():
    tokens_path, eval_tokens = sys.argv[1], int(sys.argv[2])
    ids = meki_torch.read_token_file(tokens_path)
    engram_hash_check()
    for line in sys.stdin:
        if not line.strip():
            continue
        name, model_dir, dtype, expected = line.rstrip("\n").split("\t")
        try:
            model = meki_torch.load(model_dir, dtype)
            got = model.eval_loss(ids, max_tokens=eval_tokens)
            c = float(expected)
            rel = abs(got - c) / abs(c)
            verdict = "PASS" if rel <= 1e-5 else "FAIL"
            print(f"{verdict}: {name}: meki eval {c:.9g}, meki_torch {got:.9g}, relative difference {rel:.1e}")
            if model.flags is not None and name.endswith("run folder"):
                memory_effect(name, model, ids, eval_tokens, got)
        except Exception:
            traceback.print_exc()
            print(f"FAIL: {name}: meki_torch raised")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
