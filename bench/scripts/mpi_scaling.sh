#!/usr/bin/env bash
# 2 ranks x 1 thread against 1 rank x 2 threads on this machine, each pair side by side
# (interleaved, REPEATS times), for `make bench-mpi`:
#   training tokens/s at the small and large presets (train --json, after the first
#   50 steps' time is included: the figure is the whole run's), and the wall time of
#   experiments/smoke.ini swept by one process against mpirun -np 2.
# Prints one table row per measurement with the median of the repeats.
set -euo pipefail
MEKI=${MEKI:-./meki}
REPEATS=${REPEATS:-2}
TOKENS_SMALL=${TOKENS_SMALL:-131072}
TOKENS_LARGE=${TOKENS_LARGE:-65536}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun -np 2 --bind-to none"
T=$(mktemp -d /tmp/meki-bench-mpi.XXXXXX)
trap 'rm -rf "$T"' EXIT
number() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1" | tail -n 1; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-36s | %-14s | %-14s | %-6s |\n' measurement "1 rank x 2 thr" "2 ranks x 1 thr" ratio
for preset in small large; do
  tokens=TOKENS_${preset^^}
  one=() two=()
  for r in $(seq "$REPEATS"); do
    $MEKI train --preset "$preset" --tokens "${!tokens}" --threads 2 --quiet --json --fresh \
         --out "$T/one-$preset" >"$T/one.json" 2>"$T/one.err"
    one+=("$(number "$T/one.json" train_tok_s)")
    $MPIRUN $MEKI train --preset "$preset" --tokens "${!tokens}" --threads 1 --quiet --json --fresh \
         --out "$T/two-$preset" >"$T/two.json" 2>"$T/two.err"
    two+=("$(number "$T/two.json" train_tok_s)")
  done
  a=$(printf '%s\n' "${one[@]}" | median); b=$(printf '%s\n' "${two[@]}" | median)
  printf '| %-36s | %14.0f | %14.0f | %6.2f |\n' "train tok/s, $preset, ${!tokens} tokens" "$a" "$b" \
         "$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')"
done
one=() two=()
for r in $(seq "$REPEATS"); do
  rm -rf "$T/s1" "$T/s2"
  s=$(date +%s.%N); $MEKI sweep experiments/smoke.ini --db "$T/s1/m.db" --threads 2 --quiet >/dev/null 2>&1
  one+=("$(awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN {print e - s}')")
  s=$(date +%s.%N); $MPIRUN $MEKI sweep experiments/smoke.ini --db "$T/s2/m.db" --threads 1 --quiet >/dev/null 2>&1
  two+=("$(awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN {print e - s}')")
done
a=$(printf '%s\n' "${one[@]}" | median); b=$(printf '%s\n' "${two[@]}" | median)
printf '| %-36s | %14.1f | %14.1f | %6.2f |\n' "smoke.ini sweep wall seconds" "$a" "$b" \
       "$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
