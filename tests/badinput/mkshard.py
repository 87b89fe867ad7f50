#!/usr/bin/env python3
"""Token shards for tests/badinput/files.inc: mkshard.py KIND OUT [SEED].

llm.c's GPT-2 layout (a header of 256 int32: magic 20240520, version 1, token count; then
uint16 ids) or nanoGPT's raw uint16 .bin, with 3000 ids below 50257 (SEED varies them):
  good        a valid llm.c shard          raw        a valid raw .bin
  magic       magic 12345                  llama3     llm.c's LLaMA-3 magic 20240801 (uint32 ids)
  version     version 2                    truncated  the header says 3000, the file holds 2999
  short       600 bytes: less than the header
  big-id      id 50257 at token 1234 (byte 1024 + 2 * 1234 = 3492)
  raw-odd     a raw .bin of 6001 bytes     raw-big-id a raw .bin with id 60000 at token 77
"""
import struct, sys

kind, out = sys.argv[1], sys.argv[2]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
ids = [(i * 7919 + seed * 104729) % 50257 for i in range(3000)]
magic, version, count = 20240520, 1, len(ids)
if kind == "magic": magic = 12345
if kind == "llama3": magic = 20240801
if kind == "version": version = 2
if kind == "big-id": ids[1234] = 50257
if kind == "raw-big-id": ids[77] = 60000
body = struct.pack("<%dH" % len(ids), *ids)
header = struct.pack("<256i", magic, version, count, *([0] * 253))
if kind in ("raw", "raw-big-id"): data = body
elif kind == "raw-odd": data = body + b"\0"
elif kind == "truncated": data = header + body[:-2]
elif kind == "short": data = header[:600]
else: data = header + body
open(out, "wb").write(data)
