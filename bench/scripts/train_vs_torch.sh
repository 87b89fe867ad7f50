#!/usr/bin/env bash
# Training speed against PyTorch eager, for `make bench-peers`: for each preset in PRESETS and
# threads 1 and 2, `./meki bench train` and bench/peers/torch_train.py on the same shape
# (the harness's JSON line is handed to the peer), interleaved, REPEATS rounds. Prints per
# preset and thread count the median tok/s of each side, the harness's MFU (and the peer's,
# the same FLOPs per token over the same measured sgemm peak), their ratio, and the ratio
# at each side's best thread count.
# The peer runs under jemalloc with page returns off (PEER_MALLOC=glibc: without): with
# glibc, every tensor past the mmap threshold (the logits) is mapped and faulted in afresh
# each step, which made elementwise ops 20x slower here; the harness reserves its buffers once.
set -euo pipefail
MEKI=${MEKI:-./meki}
REPEATS=${REPEATS:-2}
PRESETS=${PRESETS:-small large}
THREADS=${THREADS:-1 2}
STEPS=${STEPS:-10}
PEER=${PEER:-bench/peers/torch_train.py}
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
peer_env=()
if [ "${PEER_MALLOC:-jemalloc}" = jemalloc ]; then
  [ -e $JEMALLOC ] || { echo "train_vs_torch.sh: $JEMALLOC missing (apt-get install libjemalloc2, or PEER_MALLOC=glibc)" >&2; exit 2; }
  peer_env=(env LD_PRELOAD=$JEMALLOC MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1)
fi
T=$(mktemp -d /tmp/meki-bench-peers.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPEATS"); do
  for preset in $PRESETS; do
    for threads in $THREADS; do
      $MEKI bench train --preset "$preset" --threads "$threads" --steps "$STEPS" --json | tail -n 1 \
           >"$T/meki-$preset-$threads-$r.json"
      "${peer_env[@]}" /usr/bin/python3 "$PEER" --like "$(cat "$T/meki-$preset-$threads-$r.json")" \
           --threads "$threads" --steps "$STEPS" >"$T/torch-$preset-$threads-$r.json"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$T" "$REPEATS" "$PRESETS" "$THREADS" "${PEER_MALLOC:-jemalloc}" <<'EOF'
import json, statistics, sys
d, repeats, presets, threads, malloc = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split(), sys.argv[5]
def runs(side, p, t):
    return [json.load(open(f"{d}/{side}-{p}-{t}-{r}.json")) for r in range(1, repeats + 1)]
version = runs("torch", presets[0], threads[0])[0]["torch"]
print(f"torch {version} eager ({malloc}), medians of {repeats} interleaved rounds")
print("| preset | threads | meki tok/s | meki MFU | torch tok/s | torch MFU | meki / torch |")
print("|---|---|---|---|---|---|---|")
for p in presets:
    best = {"meki": (0, 0), "torch": (0, 0)}
    for t in threads:
        m, tr = runs("meki", p, t), runs("torch", p, t)
        mt = statistics.median(x["train_tok_s"] for x in m)
        tt = statistics.median(x["train_tok_s"] for x in tr)
        mfu = statistics.median(x["mfu"] for x in m)
        # the peer's MFU: the harness's FLOPs per token over the sgemm peak the harness measured
        peak = statistics.median(x["sgemm_flop_s"] for x in m)
        tmfu = tt * m[0]["train_flops_per_token"] / peak
        best["meki"] = max(best["meki"], (mt, t), key=lambda v: v[0])
        best["torch"] = max(best["torch"], (tt, t), key=lambda v: v[0])
        shape = f'{m[0]["batch"]}x{m[0]["seq_len"]}'
        print(f"| {p} ({shape}) | {t} | {mt:.0f} | {mfu:.2f} | {tt:.0f} | {tmfu:.2f} | {mt / tt:.2f} |")
    (mb, mbt), (tb, tbt) = best["meki"], best["torch"]
    print(f"| {p} best | {mbt} vs {tbt} | {mb:.0f} | | {tb:.0f} | | {mb / tb:.2f} |")
EOF
