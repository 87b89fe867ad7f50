#!/usr/bin/env bash
# Decode parity of the deploy form (issue 24), for `make bench-parity`: folded MeKi against
# its dense twin at every preset x RAM weights dtype x table dtype x threads, as medians of
# interleaved rounds (each round runs every cell once, in turn, so load drifts hit all
# cells alike); then the cold table with prefetch on real text against the warm one, and
# private RSS from d_mem 16 to 1024. Bundles come from a short training run (speed does not
# depend on the values). A quiet machine is needed for the speed figures; INSTR=1 prints
# callgrind instruction ratios instead (load-independent; an AVX2 build, valgrind has no
# AVX-512). Knobs: PRESETS, WEIGHTS, TABLES, THREADS, ROUNDS, REPEATS, PLACEMENTS, KEEP=dir.
# Each cell is read against the 0.98 goal by a sign test over its ROUNDS processes (one
# process's memory placement moves a ratio by a few percent, so the process is the sample):
# "meets" when every process is at or above it, "misses" when every one is below (p = 1/32
# at ROUNDS 5, if the cell's median were 0.98), "inconclusive" otherwise.
set -euo pipefail
MEKI=${MEKI:-./meki}
PRESETS=${PRESETS:-tiny small medium large}
WEIGHTS=${WEIGHTS:-f32 bf16 q8_0}
TABLES=${TABLES:-f32 q8_0}
THREADS=${THREADS:-1 2}
ROUNDS=${ROUNDS:-5}   # calls per cell, each its own process: 5 is the fewest a sign test can read
REPEATS=${REPEATS:-7}
PLACEMENTS=${PLACEMENTS:-4}   # copies of each model per call (bench decode --placements)
COLD_PRESETS=${COLD_PRESETS:-small medium}
INSTR=${INSTR:-0}
VAL=${VAL:-data/cache/bible-v4096/val.tok}
T=${KEEP:-$(mktemp -d /tmp/meki-parity.XXXXXX)}
mkdir -p "$T"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT

bundle() {   # bundle PRESET [SET...]: $T/<name>/bundle and run, built once
  local name=$1; shift
  [ -d "$T/$name/bundle" ] && return
  local preset=${name%%-*} sets=()
  for kv in "$@"; do sets+=(--set "$kv"); done
  $MEKI train --preset "$preset" "${sets[@]}" --memory meki --tokens 1024 --batch 4 --seq-len 64 --threads 2 --quiet --final-eval-tokens 4096 \
       --out "$T/$name/run" >/dev/null 2>"$T/$name.train.log"
  $MEKI fold --checkpoint "$T/$name/run" --out "$T/$name/bundle" --table-dtype f32,q8_0 >/dev/null 2>&1
}
number() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1" | tail -n 1; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

for p in $PRESETS; do bundle "$p"; done

if [ "$INSTR" = 1 ]; then
  # Instructions of the timed decode (engine_forward, 32 tokens) of the dense and the folded
  # run: callgrind dumps at each prefill; with repeats 1 the 7th and 9th dumps are the
  # dense and folded decodes (two untimed folded runs for the RSS come first).
  make -s BUILD=build-avx2 MEKI=meki-avx2 OPT="-O3 -march=x86-64-v3 -fno-trapping-math -fno-math-errno" meki-avx2
  incl() { callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$1" 2>/dev/null |
           awk '/:engine_forward \[/{gsub(",", "", $1); print $1}'; }
  printf '| %-7s | %-7s | %-5s | %-12s | %-12s | %-22s |\n' preset weights table "dense instr" "folded instr" "dense/folded instructions"
  for p in $PRESETS; do for w in $WEIGHTS; do for t in $TABLES; do
    D="$T/cg-$p-$w-$t"; mkdir -p "$D"
    OPENBLAS_CORETYPE=Haswell DNNL_MAX_CPU_ISA=AVX2 valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
      --callgrind-out-file="$D/cg" --dump-before=engine_prefill --dump-after=engine_prefill \
      ./meki-avx2 bench decode --bundle "$T/$p/bundle" --table-dtype $t --weights-dtype $w --repeats 1 --warmup 0 \
      --tokens 32 --context 16 --threads 1 --json >/dev/null 2>"$D/err"
    dn=$(incl "$D/cg.7"); fo=$(incl "$D/cg.9")
    printf '| %-7s | %-7s | %-5s | %12s | %12s | %22.4f |\n' $p $w $t "$dn" "$fo" "$(awk -v a="$dn" -v b="$fo" 'BEGIN {print a / b}')"
  done; done; done
  exit 0
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for p in $PRESETS; do for w in $WEIGHTS; do for t in $TABLES; do for n in $THREADS; do
    $MEKI bench decode --bundle "$T/$p/bundle" --weights-dtype $w --table-dtype $t --threads $n --repeats "$REPEATS" \
         --placements "$PLACEMENTS" --json 2>/dev/null | tail -n 1 >"$T/$p-$w-$t-$n-$r.json"
  done; done; done; done
done
GOAL=0.98
# "median (lowest-highest) verdict" of one cell's per-process ratios against GOAL
cell() { sort -g | awk -v goal=$GOAL '{v[NR] = $1} END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  verdict = NR < 5 ? "too-few" : v[1] >= goal ? "meets" : v[NR] < goal ? "misses" : "inconclusive"
  printf "%.3f (%.3f-%.3f) %s", m, v[1], v[NR], verdict}'; }
echo "folded / dense decode tok/s: median (range) over $ROUNDS processes, each the median of $REPEATS paired repeats over $PLACEMENTS placements; verdict against $GOAL by a sign test"
printf '| %-7s | %-7s | %-5s |' preset weights table
for n in $THREADS; do printf ' %-32s |' "$n thread(s)"; done; echo
verdicts=""
for p in $PRESETS; do for w in $WEIGHTS; do for t in $TABLES; do
  printf '| %-7s | %-7s | %-5s |' $p $w $t
  for n in $THREADS; do
    c=$(for r in $(seq "$ROUNDS"); do number "$T/$p-$w-$t-$n-$r.json" folded_over_dense; done | cell)
    printf ' %-32s |' "$c"
    verdicts="$verdicts ${c##* }"
  done; echo
done; done; done
echo "cells against $GOAL:$(for v in meets inconclusive misses too-few; do n=$(grep -o "$v" <<<"$verdicts" | wc -l); [ "$n" -gt 0 ] && printf ' %s %d,' "$v" "$n"; done | sed 's/,$//')"

# Cold table (evicted before each phase) with prefetch, on the validation text, against warm.
echo "cold / warm decode, --stream $VAL, 1 thread (median over $ROUNDS rounds)"
printf '| %-7s | %-9s | %-15s | %-14s |\n' preset cold/warm "no prefetch/warm" "top-4 prefetch/warm"
for p in $COLD_PRESETS; do
  bundle "$p"
  for r in $(seq "$ROUNDS"); do
    $MEKI bench decode --bundle "$T/$p/bundle" --cold --prefetch-topk 4 --stream "$VAL" --repeats "$REPEATS" --json \
         2>/dev/null | tail -n 1 >"$T/cold-$p-$r.json"
  done
  row=()
  for key in cold_over_warm cold_noprefetch_over_warm cold_topk_over_warm; do
    row+=("$(for r in $(seq "$ROUNDS"); do number "$T/cold-$p-$r.json" $key; done | median)")
  done
  printf '| %-7s | %9.3f | %15.3f | %14.3f |\n' $p "${row[@]}"
done

# Private RSS after a 256-token decode (deployed state), small preset, d_mem 16 and 1024;
# the RAM weights that grow with d_mem (MeKi's gate and output matrices) named beside it.
bundle small-dmem16 meki.d_mem=16
bundle small-dmem1024 meki.d_mem=1024
for m in 16 1024; do
  $MEKI bench decode --bundle "$T/small-dmem$m/bundle" --tokens 256 --repeats 1 --json 2>/dev/null | tail -n 1 >"$T/rss-$m.json"
done
awk -v p0="$(number "$T/rss-16.json" deploy_private_bytes)" -v p1="$(number "$T/rss-1024.json" deploy_private_bytes)" \
    -v w0="$(number "$T/rss-16.json" folded_weights_bytes)" -v w1="$(number "$T/rss-1024.json" folded_weights_bytes)" \
    -v f0="$(number "$T/rss-16.json" deploy_file_bytes)" -v f1="$(number "$T/rss-1024.json" deploy_file_bytes)" \
    'BEGIN {m = 1048576; printf "small, d_mem 16 -> 1024: private %.2f -> %.2f MiB (+%.2f), of which RAM weights +%.2f, the rest +%.2f; file-backed %.2f -> %.2f MiB\n", p0/m, p1/m, (p1-p0)/m, (w1-w0)/m, (p1-p0-(w1-w0))/m, f0/m, f1/m}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
