#!/usr/bin/env bash
# make test-interop: the exports checked by tools no one here wrote (HF tokenizers.js,
# @huggingface/gguf, llama.cpp through npm node-llama-cpp, PyTorch through python/meki_torch.py). Every check prints
# `PASS: name` or `FAIL: name`; the last line is `N passed, M failed`; exit 1 on any failure.
# usage: tests/interop/run.sh MEKI_BIN NODE_MODULES_DIR
set -uo pipefail
M=$1; NODE=$2
PY=/usr/bin/python3                 # Debian's python3-torch is importable only from it
D=data/cache/bible-v4096
N=4096                              # the held-out slice both sides score: its first N predictions
T=$(mktemp -d /tmp/meki-interop-XXXXXX)
trap 'rm -rf "$T"' EXIT
LOG=$T/checks.log
: > "$LOG"
pass() { echo "PASS: $1" | tee -a "$LOG"; }
fail() { echo "FAIL: $1" | tee -a "$LOG"; }
check() { local name=$1; shift; if "$@" >"$T/out" 2>&1; then pass "$name"; else cat "$T/out"; fail "$name"; fi; }
[ -f $D/val.tok ] || $M data >/dev/null
# one thread per process: the models are tiny, and on a loaded machine OpenMP's (and
# PyTorch's, llama.cpp's) threads spin at barriers and slow a run many times over
export OMP_NUM_THREADS=1
start=$(date +%s)

# tiny models, 8 steps each at a learning rate high enough from the first step that every
# weight (Engram's convolution and Bias's tables start at zero) moves well past the 1e-5
# the losses are compared to; the evaluation during training on a few tokens only
train() {   # name, then ini lines for the model
  printf '[experiment]\nname = interop\n[model]\npreset = tiny\n%b[train]\ntokens = 2048\nbatch = 4\nlr = 0.01\nwarmup = 0\neval_every = 0\neval_tokens = 64\n' "${2:-}" > "$T/$1.ini"
  nice $M train "$T/$1.ini" --data $D --out "$T/$1" --threads 1 --quiet >/dev/null 2>"$T/train.err" || { cat "$T/train.err"; fail "train $1"; }
}
train dense
train meki '[memory]\nkind = meki\n'
train ple '[memory]\nkind = ple\n'
train engram '[memory]\nkind = engram\n[engram]\nnormalize_tokens = on\n'
train bias '[memory]\nkind = bias\n'
echo "trained 5 models in $(( $(date +%s) - start )) s"

# HF tokenizer.json: HF tokenizers (JS) gives the harness's ids on the whole held-out text
check "export hf dense" $M export --checkpoint "$T/dense" --format hf --out "$T/hf_dense"
check "tokenizer.json: HF tokenizers ids and bytes on the held-out text" \
  node tests/interop/tokenizer_check.mjs "$NODE" "$T/hf_dense" $D

# An outside tokenizer (./meki data --tokenizer): a byte-level BPE trained by HF tokenizers
# itself, on the Bible and on mixed text with non-ASCII (tests/interop/mixed_text.py); the
# harness's ids must equal both HF libraries' on the prepared train and val text
bible -f 'Genesis1:1-Revelation22:21' > "$T/bible.txt"
mkdir -p "$T/mixed"
$PY tests/interop/mixed_text.py "$T/bible.txt" "$T/mixed" 40
check "HF tokenizers trains a tokenizer.json (Bible)" node tests/interop/hf_train.cjs "$NODE" "$T/hf_bible.json" "$T/bible.txt"
check "HF tokenizers trains a tokenizer.json (Bible and mixed text)" \
  node tests/interop/hf_train.cjs "$NODE" "$T/hf_mixed.json" "$T/bible.txt" "$T"/mixed/*.txt
check "meki data --tokenizer (Bible)" $M data --tokenizer "$T/hf_bible.json" --out "$T/hfdata_bible"
check "meki data --tokenizer (mixed text)" $M data --corpus "$T/mixed" --tokenizer "$T/hf_mixed.json" --out "$T/hfdata_mixed"
# the Bible's tokenizer with add_prefix_space switched on (the JS binding trains without it)
sed 's/"add_prefix_space":false/"add_prefix_space":true/' "$T/hf_bible.json" > "$T/hf_prefix.json"
check "meki data --tokenizer (add_prefix_space)" $M data --tokenizer "$T/hf_prefix.json" --out "$T/hfdata_prefix"
for c in bible mixed prefix; do
  node tests/interop/hf_tokenizer_check.mjs "$NODE" "$T/hf_$c.json" "$T/hfdata_$c" "outside tokenizer, $c" > "$T/hf.out" 2>&1
  cat "$T/hf.out"; grep -E '^(PASS|FAIL)' "$T/hf.out" >> "$LOG"
  [ "$(grep -cE '^(PASS|FAIL)' "$T/hf.out")" -ge 2 ] || fail "outside tokenizer, $c: a verdict for every check"
done

# GGUF read back by @huggingface/gguf against llama.cpp's names and ggml's type sizes
for dt in f32 f16 q8_0 q4_0; do
  $M export --checkpoint "$T/dense" --format gguf --dtype $dt --out "$T/dense.$dt.gguf" >/dev/null 2>"$T/out" || cat "$T/out"
  $PY tests/interop/gguf_expect.py "$T/hf_dense" $dt > "$T/expect.$dt.json"
  check "gguf $dt read back by @huggingface/gguf" node tests/interop/gguf_check.mjs "$NODE" "$T/dense.$dt.gguf" "$T/expect.$dt.json"
done

# llama.cpp (node-llama-cpp's prebuilt binary) runs each GGUF: token ids of the whole held-out
# text, no load warning, loss against ./meki eval (f32 1e-5 relative; f16 1e-4, q8_0 1e-3,
# q4_0 1e-2: the rounding of the weights, measured 2e-6, 1e-5 and 6e-4), top-1 against PyTorch
# (>= 99%; q4_0 >= 90%), 16 greedy tokens for f32. 4,096 positions for f32 and q8_0, 1,024 for
# f16 and q4_0 (llama.cpp through node: about 0.1 s a position on a loaded 2-core machine).
llama() {   # dtype, positions, loss bound, top-1 fraction, greedy tokens
  local loss; loss=$($M eval --checkpoint "$T/dense" --eval-tokens $2 --threads 1 --json 2>/dev/null | tail -1 \
    | $PY -c 'import json,sys; print(repr(json.load(sys.stdin)["val_loss"]))') || { fail "llama.cpp $1: ./meki eval"; return; }
  $PY tests/interop/llama_expect.py "$T/hf_dense" $D/val.tok $2 $loss $3 $4 $5 > "$T/llama.$1.json" \
    || { fail "llama.cpp $1: PyTorch expectation"; return; }
  nice node tests/interop/llama_check.mjs "$NODE" "$T/dense.$1.gguf" $D $2 "$T/llama.$1.json" > "$T/llama.out" 2>&1
  cat "$T/llama.out"; grep -E '^(PASS|FAIL)' "$T/llama.out" >> "$LOG"
  [ "$(grep -cE '^(PASS|FAIL)' "$T/llama.out")" -ge 4 ] || fail "llama.cpp $1: a verdict for every check"
}
llama f32 $N 1e-5 0.99 16
llama q8_0 $N 1e-3 0.99 0
llama f16 1024 1e-4 0.99 0
llama q4_0 1024 1e-2 0.90 0

# PyTorch loss == ./meki eval on the same slice, 1e-5 relative, for every kind, from the
# HF export and straight from the run folder / bundle (every ROM dtype for MeKi)
meki_loss() { $M eval "$@" --eval-tokens $N --threads 1 --json 2>/dev/null | tail -1 \
  | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j["val_tokens"] == '$N'; print(repr(j["val_loss"]))'; }
checks=$T/losses.tsv
: > "$checks"
add() { local loss; loss=$(meki_loss "${@:4}") && printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$loss" >> "$checks" \
  || fail "$1: ./meki eval"; }
add "dense loss, HF export" "$T/hf_dense" f32 --checkpoint "$T/dense"
add "dense loss, run folder" "$T/dense" f32 --checkpoint "$T/dense"
for k in meki ple engram bias; do
  dtypes=q8_0,q4_0
  [ $k = meki ] && dtypes=f32,f16,bf16,q8_0,q4_0
  check "fold $k" $M fold --checkpoint "$T/$k" --out "$T/bundle_$k" --table-dtype $dtypes
  check "export hf $k" $M export --checkpoint "$T/$k" --format hf --out "$T/hf_$k"
  check "export hf $k bundle q8_0" $M export --bundle "$T/bundle_$k" --table-dtype q8_0 --format hf --out "$T/hfb_$k"
  # not Qwen3 (a Qwen3 loader would drop the memory), and only this variant's settings, typed
  check "hf $k config.json: own architecture, only $k settings" $PY -c '
import json, sys
k, c = sys.argv[1], json.load(open(sys.argv[2] + "/config.json"))
want = "meki" if k == "meki" else "meki_" + k
assert c["model_type"] == want and c["architectures"][0].startswith("Meki"), (c["model_type"], c["architectures"])
m = c["meki"]
assert m["memory.kind"] == k and m["folded"] is False, m
assert all(key.split(".")[0] in ("memory", "folded", k) for key in m), m
assert all(not isinstance(v, str) for key, v in m.items() if key.endswith((".layers", ".width", ".d_mem", ".heads"))), m
' $k "$T/hf_$k"
  add "$k loss, HF export" "$T/hf_$k" f32 --checkpoint "$T/$k"
  add "$k loss, run folder" "$T/$k" f32 --checkpoint "$T/$k"
  add "$k loss, HF export of the q8_0 bundle" "$T/hfb_$k" f32 --bundle "$T/bundle_$k" --table-dtype q8_0
  for dt in ${dtypes//,/ }; do
    add "$k loss, bundle $dt" "$T/bundle_$k" $dt --bundle "$T/bundle_$k" --table-dtype $dt
  done
done
nice $PY tests/interop/same_loss.py $D/val.tok $N < "$checks" > "$T/torch.out" 2>&1 || fail "same_loss.py ran"
cat "$T/torch.out"; grep -E '^(PASS|FAIL)' "$T/torch.out" >> "$LOG"
# a verdict per line of checks, per memory kind's effect (but Engram's) and for the hash: none lost to a crash
[ "$(grep -cE '^(PASS|FAIL)' "$T/torch.out")" -eq $(( $(wc -l < "$checks") + 3 + 1 )) ] || fail "a verdict for every PyTorch check"

passed=$(grep -c '^PASS' "$LOG"); failed=$(grep -c '^FAIL' "$LOG")
echo "interop took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
