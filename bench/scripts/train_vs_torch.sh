#!/usr/bin/env bash
# Training speed against PyTorch eager, for `make bench-peers`: for each preset in PRESETS and
# thread count in THREADS, `./meki bench train` in each of SIDES (f32 on OpenBLAS, today's
# baseline; f32 on the default backend; bf16 mixed precision) and bench/peers/torch_train.py
# on the same shape in each of PEERS (f32; under bf16 autocast), all interleaved, REPEATS
# rounds. Prints per preset and thread count the median tok/s of each, the harness's MFU
# (against the GEMM peak of the precision it trains, measured in the same process), and the
# ratios the goals of issue 23 name. PEERS="" measures the harness's sides alone.
# The peer runs under jemalloc with page returns off (PEER_MALLOC=glibc: without): with
# glibc, every tensor past the mmap threshold (the logits) is mapped and faulted in afresh
# each step, which made elementwise ops 20x slower here; the harness reserves its buffers once.
set -euo pipefail
MEKI=${MEKI:-./meki}
REPEATS=${REPEATS:-2}
PRESETS=${PRESETS:-small large}
THREADS=${THREADS:-1 2}
STEPS=${STEPS:-10}
SIDES=${SIDES:-f32-openblas f32 bf16}   # PRECISION[-BACKEND] of ./meki bench train
PEERS=${PEERS-f32 bf16}                 # torch_train.py --autocast off | bf16
PEER=${PEER:-bench/peers/torch_train.py}
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
peer_env=()
if [ -n "$PEERS" ] && [ "${PEER_MALLOC:-jemalloc}" = jemalloc ]; then
  [ -e $JEMALLOC ] || { echo "train_vs_torch.sh: $JEMALLOC missing (apt-get install libjemalloc2, or PEER_MALLOC=glibc)" >&2; exit 2; }
  peer_env=(env LD_PRELOAD=$JEMALLOC MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1)
fi
T=$(mktemp -d /tmp/meki-bench-peers.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPEATS"); do
  for preset in $PRESETS; do
    for threads in $THREADS; do
      for side in $SIDES; do
        precision=${side%%-*}; backend=auto
        [ "$side" != "$precision" ] && backend=${side#*-}
        $MEKI bench train --preset "$preset" --threads "$threads" --steps "$STEPS" --precision "$precision" \
             --gemm "$backend" --json | tail -n 1 >"$T/meki_$side-$preset-$threads-$r.json"
      done
      like=$(cat "$T/meki_${SIDES%% *}-$preset-$threads-$r.json")
      for peer in $PEERS; do
        autocast=off; [ "$peer" = bf16 ] && autocast=bf16
        "${peer_env[@]}" /usr/bin/python3 "$PEER" --like "$like" --threads "$threads" --steps "$STEPS" \
             --autocast "$autocast" >"$T/torch_$peer-$preset-$threads-$r.json"
      done
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$T" "$REPEATS" "$PRESETS" "$THREADS" "$SIDES" "$PEERS" "${PEER_MALLOC:-jemalloc}" <<'PY'
import json, statistics, sys
d, repeats, presets, threads, sides, peers, malloc = sys.argv[1], int(sys.argv[2]), *[a.split() for a in sys.argv[3:7]], sys.argv[7]
cols = [f"meki_{s}" for s in sides] + [f"torch_{p}" for p in peers]
def runs(col, p, t):
    return [json.load(open(f"{d}/{col}-{p}-{t}-{r}.json")) for r in range(1, repeats + 1)]
def med(col, p, t, key="train_tok_s"):
    return statistics.median(x[key] for x in runs(col, p, t))
if peers:
    print(f"torch {runs(cols[len(sides)], presets[0], threads[0])[0]['torch']} eager ({malloc}); ", end="")
print(f"medians of {repeats} interleaved rounds, tok/s (meki: MFU against the peak of its precision; tok/s per CPU second)")
print("| preset | threads | " + " | ".join(cols) + " | ratios |")
print("|---|---|" + "---|" * (len(cols) + 1))
for p in presets:
    for t in threads:
        tok = {c: med(c, p, t) for c in cols}
        # meki's cell: tok/s (MFU; tok/s per CPU second, which a shared core at 1 thread leaves alone)
        cells = [f"{tok[c]:.0f}" + (f" ({med(c, p, t, 'mfu'):.2f}; cpu {med(c, p, t, 'train_cpu_tok_s'):.0f})"
                                    if c.startswith("meki") else "") for c in cols]
        ratios = []
        base = "meki_f32-openblas" if "meki_f32-openblas" in tok else None
        for c in cols:
            if c.startswith("meki") and base and c != base:
                ratios.append(f"{c[5:]}/f32-openblas {tok[c] / tok[base]:.2f}")
        for c in [c for c in cols if c.startswith("meki")]:
            if "torch_bf16" in tok and c != base:
                ratios.append(f"{c[5:]}/torch-bf16 {tok[c] / tok['torch_bf16']:.2f}")
        m = runs(cols[0], p, t)[0]
        print(f"| {p} ({m['batch']}x{m['seq_len']}) | {t} | " + " | ".join(cells) + " | " + ", ".join(ratios) + " |")
peaks = {c: (med(c, presets[0], threads[0], "sgemm_flop_s"), med(c, presets[0], threads[0], "bf16_gemm_flop_s"))
         for c in cols if c.startswith("meki")}
for c, (f32, bf16) in peaks.items():
    print(f"{c}: GEMM peaks at {threads[0]} thread(s) f32 {f32 / 1e9:.0f} GFLOP/s, bf16 {bf16 / 1e9:.0f} GFLOP/s")
PY
