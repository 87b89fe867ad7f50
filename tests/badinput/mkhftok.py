#!/usr/bin/env python3
"""Writes a small byte-level BPE tokenizer.json, whole or damaged, for the bad-input cases of
./meki data --tokenizer. usage: mkhftok.py KIND OUT
KIND: good, sequence (Split with GPT-2's regex, then ByteLevel), wordpiece, bad-merge, unknown-merge, whitespace, other-regex, oversized, malformed,
lacks-byte (no token for the byte 'I')."""
import json
import sys

kind, out = sys.argv[1], sys.argv[2]

def byte_chars():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars

chars = byte_chars()
vocab = {chars[b]: b for b in range(256)}
merges = [["t", "h"], ["th", "e"], ["\u0120", "the"]]
for a, b in merges:
    vocab[a + b] = len(vocab)
tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
       "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
       "post_processor": None, "decoder": {"type": "ByteLevel"},
       "model": {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab, "merges": merges}}
if kind == "sequence":
    tok["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
elif kind == "wordpiece":
    tok["model"]["type"] = "WordPiece"
elif kind == "bad-merge":
    merges[1] = "th e x"
elif kind == "unknown-merge":
    merges[2] = ["\u0120", "thee"]
elif kind == "whitespace":
    tok["pre_tokenizer"] = {"type": "Whitespace"}
elif kind == "other-regex":
    tok["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
elif kind == "oversized":
    for i in range(65537 - len(vocab)):
        vocab[f"<x{i}>"] = len(vocab)
elif kind == "lacks-byte":
    vocab["<I>"] = vocab.pop("I")
elif kind != "good" and kind != "malformed":
    sys.exit(f"unknown kind {kind}")
text = json.dumps(tok, ensure_ascii=False)
if kind == "malformed":
    text = text[: len(text) // 2]
with open(out, "w", encoding="utf-8") as f:
    f.write(text)
