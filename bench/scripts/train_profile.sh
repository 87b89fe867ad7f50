#!/usr/bin/env bash
# Where a training step's time goes, for the README's profile table: `perf record -g` of
# `./meki bench train` (PRESET, THREADS, 3 timed steps; the samples include model setup and
# the warm-up steps), then `perf report` by DSO and symbol, summed into the table's groups
# (OpenBLAS, libgomp and the kernel by DSO; the harness's kernels by symbol name).
#   bench/scripts/train_profile.sh [PRESET=large] [THREADS=1]
set -euo pipefail
MEKI=${MEKI:-./meki}
PRESET=${PRESET:-large}
THREADS=${THREADS:-1}
command -v perf >/dev/null || { echo "train_profile.sh: perf missing (apt-get install linux-perf)" >&2; exit 2; }
T=$(mktemp -d /tmp/meki-profile.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
perf record -q -g -o "$T/perf.data" "$MEKI" bench train --preset "$PRESET" --threads "$THREADS" --steps 3 >"$T/bench.log"
perf report -i "$T/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null >"$T/report.txt"
/usr/bin/python3 - "$T/report.txt" "$PRESET" "$THREADS" <<'PY'
import collections, re, sys
# first match wins; by DSO for the libraries, by symbol for the harness's own kernels
GROUPS = [
    ("OpenBLAS sgemm (kernel, packing, beta)", lambda d, s: "openblas" in d),
    ("libgomp (barrier spin / yield)", lambda d, s: "gomp" in d or "sched_yield" in s),
    ("kernel (page faults, interrupts, scheduling)", lambda d, s: "kernel" in d),
    ("memset", lambda d, s: "memset" in s),
    ("memcpy", lambda d, s: "memcpy" in s or "memmove" in s),
    ("rmsnorm forward + backward", lambda d, s: "rmsnorm" in s),
    ("swiglu forward + backward", lambda d, s: "swiglu" in s),
    ("attention softmax and its backward (non-BLAS part)", lambda d, s: "attention" in s or "softmax" in s),
    ("AdamW", lambda d, s: "adam" in s.lower()),
    ("cross-entropy", lambda d, s: "cross" in s or "entropy" in s or "log_sum_exp" in s or "log_fma" in s),
    ("rope", lambda d, s: "rope" in s),
    ("setup (init, rope tables)", lambda d, s: "init" in s or "rng" in s or "normal" in s or "cos" in s),
]
total, other = collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
    for name, match in GROUPS:
        if match(dso, sym):
            total[name] += pct
            break
    else:
        other[f"{dso} {sym}"] += pct
print(f"| where the time goes ({sys.argv[2]}, {sys.argv[3]} thread(s)) | share of samples |\n|---|---|")
for name, _ in GROUPS:
    print(f"| {name} | {total[name]:.1f} % |")
print(f"| other | {sum(other.values()):.1f} % |")
for k, v in other.most_common(5):
    print(f"# other: {k} {v:.2f} %")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
