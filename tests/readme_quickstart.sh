#!/bin/bash
# README.md's quickstart, run as written: the ```sh and ```ini blocks of its "## Quickstart"
# section, in a fresh folder, then checks for what the README promises (files, printed
# figures, the report's interval and verdict). A changed flag, key or output fails here.
# Usage: tests/readme_quickstart.sh [./meki]   (make test runs it; MEKI_KEEP_TEST_DIR=1 keeps the folder)
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
meki=$(realpath "${1:-${MEKI_BIN:-$repo/meki}}") || { echo "readme_quickstart: no meki binary"; exit 1; }
dir=$(mktemp -d /tmp/meki_readme_XXXXXX)
if [ -n "${MEKI_KEEP_TEST_DIR:-}" ]; then echo "kept $dir"; else trap 'rm -rf "$dir"' EXIT; fi
fail() { echo "readme_quickstart: FAIL: $*"; [ -f "$dir/log" ] && tail -n 30 "$dir/log"; exit 1; }

# The section's fenced blocks, in order: sh blocks become one script; an ini block is written
# to the file its first line names ("# mine.ini"), before the script runs.
awk -v dir="$dir" '
  /^## Quickstart/ { inside = 1; next }
  inside && /^## / { inside = 0 }
  !inside { next }
  /^```sh$/ { kind = "sh"; next }
  /^```ini$/ { kind = "ini"; file = ""; next }
  /^```$/ { kind = ""; next }
  kind == "sh" { print > (dir "/quickstart.sh") }
  kind == "ini" && file == "" { file = $2; if (file !~ /^[A-Za-z0-9_.-]+$/) { print "bad ini name " file; exit 1 } }
  kind == "ini" { print > (dir "/" file) }
' "$repo/README.md" || fail "could not extract the quickstart from README.md"
[ -s "$dir/quickstart.sh" ] && [ -s "$dir/mine.ini" ] || fail "README.md's quickstart has no sh block or no mine.ini block"
ln -s "$meki" "$dir/meki"

# "make deps build" is this test's own prerequisite (the binary above); any other make is not
# expected in the quickstart.
cd "$dir" && {
  echo 'make() { [ "$*" = "deps build" ] || { echo "unexpected: make $*"; return 1; }; }'
  echo 'set -ex'
  cat quickstart.sh
} > run.sh
start=$(date +%s)
bash run.sh > log 2>&1 || fail "a README command failed (the last + line below)"
echo "readme_quickstart: the README's commands ran in $(( $(date +%s) - start )) s"

# What the README says each step leaves
for f in data/cache/notes/train.tok data/cache/notes/val.tok data/cache/notes/summary.txt \
         runs/dense/checkpoint.safetensors runs/dense/config.json runs/dense/curve.log \
         runs/meki/checkpoint.safetensors runs/meki/config.json runs/meki/curve.log \
         bundles/meki/weights.safetensors bundles/meki/table.f32.rom bundles/meki/table.q8_0.rom \
         results/meki.db results/report.md runs.csv; do
  [ -s "$f" ] || fail "README promises $f; it is missing or empty"
done
grep -q "^runs/meki (training form): val loss [0-9.]* nats/token, [0-9.]* bits/byte  val ppl [0-9.]*" log ||
  fail "eval printed no 'val loss ... nats/token, ... bits/byte ... ppl' line"
grep -q "generated 40 at" log || fail "decode did not report 40 generated tokens"
grep -q "^folded " log && grep -q "^dense " log || fail "bench decode printed no folded and dense rows"
[ "$(grep -c '^[0-9a-f]\{16\} *done *mine ' log)" -eq 6 ] || fail "runs --experiment mine did not list 6 done runs"
# the report's comparison: difference with a 95% interval and a verdict
grep -q '^## Experiment mine' results/report.md || fail "report.md has no section for experiment mine"
grep -Eq '^\| meki \| dense \| val loss \| [+-][0-9.]+ nats \[[+-][0-9.]+, [+-][0-9.]+\] \|.*\| [a-z][a-z ]* \|$' results/report.md ||
  fail "report.md has no 'meki | dense | val loss' row with an interval and a verdict"
grep -q 'difference \[95% CI\]' results/report.md || fail "report.md's comparison is not a 95% interval"
if command -v gnuplot > /dev/null; then
  [ -s results/plots/curves_mine.png ] && ! grep -q 'could not be drawn' results/report.md ||
    fail "the learning-curve plot was not drawn: $(tail -n 3 results/plots/gnuplot.log 2>/dev/null)"
fi
[ "$(wc -l < runs.csv)" -eq 7 ] && head -n 1 runs.csv | grep -q 'val_loss \[nats\]' ||
  fail "runs.csv is not a header and 6 rows with val_loss [nats]"
echo "readme_quickstart: PASS"
