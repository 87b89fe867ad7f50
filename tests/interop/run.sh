#!/usr/bin/env bash
# make test-interop: the exports checked by tools no one here wrote (HF tokenizers.js,
# @huggingface/gguf, PyTorch through python/meki_torch.py), and the ROM size goal.
# usage: tests/interop/run.sh MEKI_BIN NODE_MODULES_DIR
set -uo pipefail
M=$1; NODE=$2
D=data/cache/bible-v4096
T=$(mktemp -d /tmp/meki-interop-XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
[ -f $D/val.tok ] || $M data >/dev/null
train() { nice $M train --preset tiny --tokens 4096 --batch 4 --out "$T/$1" --quiet "${@:2}" >/dev/null; }

# ROM size goal: q8_0 <= 0.28, q4_0 <= 0.16 of f32 from d_mem 16 (d_mem 8 reported)
for dm in 8 16 32 64; do
  train meki$dm --memory meki --set meki.d_mem=$dm --set meki.layers=0 || bad "train d_mem $dm"
  json=$($M fold --checkpoint "$T/meki$dm" --out "$T/bundle$dm" --table-dtype f32,q8_0,q4_0 --json | tail -1)
  read q8 q4 < <(echo "$json" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["rom_ratio_q8_0"], j["rom_ratio_q4_0"])')
  echo "d_mem $dm: q8_0 $q8, q4_0 $q4 of f32"
  if [ $dm -ge 16 ]; then
    /usr/bin/python3 -c "import sys; sys.exit(not ($q8 <= 0.28 and $q4 <= 0.16))" && ok "ROM goal at d_mem $dm" || bad "ROM goal at d_mem $dm"
  fi
done

# dense: HF export (tokenizer.json, PyTorch loss) and GGUF in every dtype
train dense
$M export --checkpoint "$T/dense" --format hf --out "$T/hf_dense" >/dev/null || bad "export hf dense"
node tests/interop/tokenizer_check.mjs "$NODE" "$T/hf_dense" $D && ok "tokenizer.json ids and bytes" || bad "tokenizer.json"
for dt in f32 f16 q8_0 q4_0; do
  $M export --checkpoint "$T/dense" --format gguf --dtype $dt --out "$T/dense.$dt.gguf" >/dev/null || bad "export gguf $dt"
  /usr/bin/python3 tests/interop/gguf_expect.py "$T/hf_dense" $dt > "$T/expect.$dt.json"
  node tests/interop/gguf_check.mjs "$NODE" "$T/dense.$dt.gguf" "$T/expect.$dt.json" >"$T/gguf.log" \
    && ok "gguf $dt read back" || { cat "$T/gguf.log"; bad "gguf $dt"; }
done

# PyTorch loss == ./meki eval (1e-5 relative), from the HF export of a checkpoint and of a bundle
same_loss() {   # name, meki eval args, export dir
  local c p
  c=$($M eval $2 --json | tail -1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["val_loss"])')
  p=$(nice /usr/bin/python3 python/meki_torch.py "$3" $D/val.tok)
  echo "$1: meki eval $c, meki_torch $p"
  /usr/bin/python3 -c "import sys; sys.exit(abs($c - $p) > 1e-5 * abs($c))" && ok "$1 loss" || bad "$1 loss"
}
same_loss dense "--checkpoint $T/dense" "$T/hf_dense"
train meki --memory meki
$M export --checkpoint "$T/meki" --format hf --out "$T/hf_meki" >/dev/null || bad "export hf meki"
same_loss meki "--checkpoint $T/meki" "$T/hf_meki"
$M fold --checkpoint "$T/meki" --out "$T/bundle_meki" --table-dtype q8_0 >/dev/null
$M export --bundle "$T/bundle_meki" --table-dtype q8_0 --format hf --out "$T/hf_bundle" >/dev/null || bad "export hf bundle"
[ -f "$T/hf_bundle/memory_table.safetensors" ] && ok "bundle exports memory_table.safetensors" || bad "memory_table"
same_loss "meki bundle q8_0" "--bundle $T/bundle_meki --table-dtype q8_0" "$T/hf_bundle"
for k in ple engram; do
  train $k --memory $k
  $M export --checkpoint "$T/$k" --format hf --out "$T/hf_$k" >/dev/null && ok "export hf $k" || bad "export hf $k"
done
echo "interop: $passed passed, $failed failed"
[ $failed -eq 0 ]
