#!/usr/bin/env bash
# Seed inputs for the fuzz targets, made by ./meki itself so they are real files:
#   tests/fuzz/make_seeds.sh [MEKI] [OUT]   (defaults ./meki, build-fuzz/seeds)
# OUT/<target>/ gets a few files per target: a tiny corpus, tokenizer and token files, tiny
# dense / MeKi / PLE / Engram checkpoints, a folded bundle with every table dtype, a
# results database from a two-run sweep, the repository's experiment files, command lines.
set -euo pipefail
MEKI=$(realpath "${1:-./meki}")
OUT=$(realpath -m "${2:-build-fuzz/seeds}")
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/meki-seeds-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"
for t in safetensors checkpoint romtable tokenizer tokens experiment corpus store args dispatch export wquant tokenizer_json tokenizer_hf shards; do
  mkdir -p "$OUT/$t"
done
cd "$WORK"
export OMP_NUM_THREADS=1

# corpus: three small documents
for i in 1 2 3; do
  printf 'In the beginning was the word %s, and the word was with the text.\n%.0s' "$i" $(seq 40) > "t$i.txt"
done
printf 'tiny: a b c.\n1:1 Verses, digits 123 and UTF-8 \xc3\xa9\xe2\x80\x94 here.\n' > "t4.txt"
cp t1.txt t4.txt "$OUT/corpus/"
cat t1.txt > "$OUT/corpus/two_files"; printf '\0' >> "$OUT/corpus/two_files"; cat t4.txt >> "$OUT/corpus/two_files"
printf 'one\0two\0three\0four words\n' > "$OUT/corpus/four_files"

# outside tokenizers (Hugging Face tokenizer.json): ByteLevel, and Split + ByteLevel
python3 "$ROOT/tests/badinput/mkhftok.py" good "$OUT/tokenizer_hf/bytelevel.json"
python3 "$ROOT/tests/badinput/mkhftok.py" sequence "$OUT/tokenizer_hf/sequence.json"

# prepared data: tokenizers of two sizes, token files
"$MEKI" data --corpus t1.txt t2.txt t3.txt t4.txt --vocab 256 --out d256 >/dev/null 2>&1
"$MEKI" data --corpus t1.txt t2.txt t3.txt t4.txt --vocab 300 --out d300 >/dev/null 2>&1
cp d256/tokenizer.bin "$OUT/tokenizer/vocab256.bin"
cp d300/tokenizer.bin "$OUT/tokenizer/vocab300.bin"
cp d300/train.tok "$OUT/tokens/train.tok"
cp d300/val.tok "$OUT/tokens/val.tok"
head -c 64 d300/val.tok > "$OUT/tokens/short.tok"

# tiny models: every memory kind, dims as small as the config allows
SMALL=(--preset tiny --set model.vocab_size=256 --set model.d_model=8 --set model.n_layers=2
       --set model.n_heads=1 --set model.n_kv_heads=1 --set model.ffn_hidden=8 --set model.seq_len=8
       --set model.tie_embeddings=on --tokens 64 --batch 2 --data d256 --quiet)
"$MEKI" train "${SMALL[@]}" --out dense >/dev/null
"$MEKI" train "${SMALL[@]}" --memory meki --set meki.d_mem=2 --out meki >/dev/null
"$MEKI" train "${SMALL[@]}" --memory ple --set ple.width=2 --out ple >/dev/null 2>&1 || true
"$MEKI" train "${SMALL[@]}" --memory engram --set engram.table_size=61 --set engram.width=2 --set engram.heads=1 --out engram >/dev/null 2>&1 || true
"$MEKI" fold --checkpoint meki --out bundle --table-dtype f32,f16,bf16,q8,q4 >/dev/null
for kind in dense meki ple engram; do
  [ -f "$kind/checkpoint.safetensors" ] || continue
  cp "$kind/checkpoint.safetensors" "$OUT/checkpoint/$kind.safetensors"
done
cp meki/checkpoint.safetensors "$OUT/safetensors/checkpoint.safetensors"
cp bundle/weights.safetensors "$OUT/safetensors/weights.safetensors"
cp bundle/weights.safetensors "$OUT/checkpoint/folded.safetensors"
cp bundle/table.*.rom "$OUT/romtable/"

# export: mode byte (dtype, hf), checkpoint length, checkpoint, tokenizer (tests/fuzz/fuzz_export.c);
# a 32-wide dense model too, so that q8_0 / q4_0 write ggml blocks rather than the f16 fallback
"$MEKI" train "${SMALL[@]}" --set model.d_model=32 --set model.ffn_hidden=32 --out dense32 >/dev/null
# (the checkpoint without its AdamW moments: an export reads the weights alone)
export_seed() {
  python3 -c 'import json, struct, sys
raw = open(sys.argv[2], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; header = json.loads(raw[8:8 + n])
data, kept, at = raw[8 + n:], {"__metadata__": header["__metadata__"]}, b""
for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0] if kv[0] != "__metadata__" else -1):
    if k == "__metadata__" or k.startswith("optim."): continue
    a, b = v["data_offsets"]; kept[k] = dict(v, data_offsets=[len(at), len(at) + b - a]); at += data[a:b]
text = json.dumps(kept, separators=(",", ":")).encode(); text += b" " * (-len(text) % 8)
c = struct.pack("<Q", len(text)) + text + at; t = open(sys.argv[3], "rb").read()
open(sys.argv[4], "wb").write(bytes([int(sys.argv[1])]) + struct.pack("<I", len(c)) + c + t)' "$@"
}
export_seed 0 dense/checkpoint.safetensors d256/tokenizer.bin "$OUT/export/dense_f32"
export_seed 1 dense32/checkpoint.safetensors d256/tokenizer.bin "$OUT/export/dense32_f16"
export_seed 2 dense32/checkpoint.safetensors d256/tokenizer.bin "$OUT/export/dense32_q8_0"
export_seed 3 dense32/checkpoint.safetensors d256/tokenizer.bin "$OUT/export/dense32_q4_0"
export_seed 4 meki/checkpoint.safetensors d256/tokenizer.bin "$OUT/export/meki_hf"
export_seed 4 dense/checkpoint.safetensors d256/tokenizer.bin "$OUT/export/dense_hf"

# wquant: mode byte, then floats: trained weights, and blocks of tiny and huge values
{ printf '\001'; tail -c 4096 dense32/checkpoint.safetensors; } > "$OUT/wquant/weights"
python3 -c 'import struct, sys
v = [1e-39, -2e-38, 0.0, 3.0] * 8 + [1e30, 1.0, -7e6, 65519.0] * 8 + [0.5 * i for i in range(64)]
open(sys.argv[1], "wb").write(bytes([6]) + struct.pack("<%df" % len(v), *v))' "$OUT/wquant/extremes"

# tokenizer_json: the tokenizers
cp d256/tokenizer.bin "$OUT/tokenizer_json/vocab256.bin"
cp d300/tokenizer.bin "$OUT/tokenizer_json/vocab300.bin"
# merges that double 'aa' up to 256 bytes: longer than any trained token (checksum left 0:
# the target recomputes it)
python3 -c 'import struct, sys
merges = [(97, 97)] + [(256 + i, 256 + i) for i in range(7)] + [(98, 99), (264, 263)]
head = b"MEKIBPE1" + struct.pack("<III", 1, 256 + len(merges), len(merges)) + bytes(12)
open(sys.argv[1], "wb").write(head + b"".join(struct.pack("<HH", a, b) for a, b in merges))' "$OUT/tokenizer_json/long_tokens.bin"

# a results database: a two-run sweep on the tiny corpus
cat > seed.ini <<INI
[experiment]
name = seed
description = fuzz seed database
seeds = 1, 2

[model]
preset = tiny
vocab_size = 256
d_model = 16
n_heads = 2
n_kv_heads = 1
ffn_hidden = 16

[train]
tokens = 256
batch = 2
seq_len = 16
eval_every = 4
eval_tokens = 64
checkpoint_every = 4

[data]
corpus = $WORK/t1.txt, $WORK/t2.txt

[sweep]
memory.kind = none
INI
"$MEKI" sweep seed.ini --db seed.db >/dev/null 2>&1
sqlite3 seed.db 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
cp seed.db "$OUT/store/wal.db"
cp seed.db rollback.db
sqlite3 rollback.db 'PRAGMA journal_mode=DELETE; VACUUM;' >/dev/null
cp rollback.db "$OUT/store/rollback.db"
cp seed.ini "$OUT/experiment/seed.ini"

# experiment files: the repository's
for f in "$ROOT"/experiments/*.ini "$ROOT"/experiments/quick/*.ini; do
  cp "$f" "$OUT/experiment/$(basename "$(dirname "$f")")_$(basename "$f")"
done

# command lines, NUL-separated words
words() { printf '%s\0' "$@" | head -c -1; }
words --threads 2 --tokens 1e6 --lr 3e-3 --out x --corpus a.txt b.txt --quiet > "$OUT/args/all"
words --threads=4 --tokens=2048 -o out.db in.db > "$OUT/args/equals"
words --corpus a b c -- --lr nan > "$OUT/args/list"
words train --preset tiny --memory meki --set meki.d_mem=16 --tokens 2048 --batch 4 --threads 1 > "$OUT/dispatch/train"
words data --corpus a.txt b.txt --vocab 300 --out d > "$OUT/dispatch/data"
words fold --checkpoint c --out b --table-dtype f32,q8 > "$OUT/dispatch/fold"
words eval --bundle b --table-dtype q8 --zero-shot --logit-lens > "$OUT/dispatch/eval"
words decode --bundle b --prompt 'And God said' -n 40 > "$OUT/dispatch/decode"
words bench decode --bundle b --checkpoint c --cold > "$OUT/dispatch/bench_decode"
words bench train --preset small > "$OUT/dispatch/bench_train"
words sweep experiments/smoke.ini --dry-run --db x.db --shard 1/2 > "$OUT/dispatch/sweep"
words runs --experiment smoke --status done --json > "$OUT/dispatch/runs"
words db merge a.db b.db -o c.db > "$OUT/dispatch/db_merge"
words db export --csv --db a.db > "$OUT/dispatch/db_export"
words report --db a.db --out r > "$OUT/dispatch/report"
n=$(find "$OUT" -type f | wc -l)
echo "fuzz seeds: $n files in $OUT"

# token shards (tests/fuzz/fuzz_shards.c): mode byte, u16 shard length, the shard, then a
# manifest as ./meki data wrote it for that shard, its path replaced by $S
shard_seed() {   # MODE FORMAT SHARD NAME
  rm -rf sp; cp "$3" sv.bin
  local vocab=50257; [ $(( $1 & 2 )) -ne 0 ] && vocab=256
  "$MEKI" data --shards "$WORK/$3" --val-shards "$WORK/sv.bin" --shard-format "$2" --vocab "$vocab" --out sp >/dev/null 2>&1
  python3 -c 'import struct, sys
shard = open(sys.argv[2], "rb").read(); manifest = open(sys.argv[3], "rb").read().replace(sys.argv[4].encode(), b"$S")
open(sys.argv[5], "wb").write(bytes([int(sys.argv[1])]) + struct.pack("<H", len(shard)) + shard + manifest)' \
    "$1" "$3" sp/train.shards "$WORK/$3" "$OUT/shards/$4"
}
python3 -c 'import struct
ids = [(i * 7) % 256 for i in range(200)]
open("llmc.bin", "wb").write(struct.pack("<256i", 20240520, 1, len(ids), *([0] * 253)) + struct.pack("<%dH" % len(ids), *ids))
open("raw.bin", "wb").write(struct.pack("<%dH" % len(ids), *ids))'
shard_seed 2 llmc llmc.bin llmc_v256
shard_seed 7 raw raw.bin raw_v256_full
shard_seed 0 llmc llmc.bin llmc_gpt2
