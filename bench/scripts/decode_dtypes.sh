#!/usr/bin/env bash
# Decode speed by RAM weights dtype and threads, side by side (interleaved rounds), for
# `make bench-decode`: a large-preset MeKi bundle folded from one training step (speed does
# not depend on the values), then `bench decode` for f32 / bf16 / q8_0 at 1 and 2 threads,
# ROUNDS times each in turn. Prints per setting the median dense and folded-MeKi tok/s, the
# bytes read per token, GB/s and fraction of the read bandwidth the same run measured.
set -euo pipefail
MEKI=${MEKI:-./meki}
ROUNDS=${ROUNDS:-3}
PRESET=${PRESET:-large}
SET=${SET:-}   # e.g. SET="model.d_model=512 model.n_layers=12 model.ffn_hidden=1536": a shape past the LLC
T=$(mktemp -d /tmp/meki-bench-decode.XXXXXX)
trap 'rm -rf "$T"' EXIT
sets=()
for kv in $SET; do sets+=(--set "$kv"); done
$MEKI train --preset "$PRESET" "${sets[@]}" --memory meki --tokens 256 --batch 4 --seq-len 64 --threads 2 --quiet \
     --out "$T/run" >/dev/null
$MEKI fold --checkpoint "$T/run" --out "$T/bundle" >/dev/null 2>&1
number() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1" | tail -n 1; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for threads in 1 2; do
    for dtype in f32 bf16 q8_0; do
      $MEKI bench decode --bundle "$T/bundle" --weights-dtype $dtype --threads $threads --repeats 3 --json \
           >"$T/$dtype-$threads-$r.json" 2>/dev/null
    done
  done
done
printf '| %-7s | %-5s | %-11s | %-11s | %-15s | %-8s | %-6s | %-8s |\n' threads dtype "dense tok/s" "MeKi tok/s" "dense cpu tok/s" \
       "MB/token" "GB/s" "of limit"
for threads in 1 2; do
  for dtype in f32 bf16 q8_0; do
    row=()
    for key in dense_decode_tok_s folded_decode_tok_s dense_decode_cpu_tok_s dense_bytes_per_token read_gbps; do
      row+=("$(for r in $(seq "$ROUNDS"); do number "$T/$dtype-$threads-$r.json" $key; done | median)")
    done
    gbs=$(awk -v b="${row[3]}" -v t="${row[0]}" 'BEGIN {print b * t / 1e9}')
    printf '| %-7s | %-5s | %11.0f | %11.0f | %15.0f | %8.2f | %6.1f | %8.2f |\n' $threads $dtype "${row[0]}" "${row[1]}" \
           "${row[2]}" "$(awk -v b="${row[3]}" 'BEGIN {print b / 1e6}')" "$gbs" \
           "$(awk -v g="$gbs" -v l="${row[4]}" 'BEGIN {print g / l}')"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
