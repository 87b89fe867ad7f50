#!/usr/bin/env bash
# Runs the fuzz targets one after another (called by `make fuzz`):
#   tests/fuzz/run.sh SECONDS build-fuzz/fuzz_NAME ...
# Per target: replays tests/fuzz/regressions/NAME/* first (inputs that once crashed), then
# fuzzes for SECONDS from build-fuzz/seeds/NAME plus the corpus kept in build-fuzz/corpus/NAME.
# Prints executions per target; exits 1 if any target crashed (artifact in build-fuzz/crashes/).
set -uo pipefail
SECONDS_EACH=$1; shift
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Largest input per target: a little above its largest seed (see tests/fuzz/make_seeds.sh).
max_len() {
  case $1 in
    safetensors|checkpoint) echo 72000 ;;
    export) echo 100000 ;;
    wquant) echo 2048 ;;
    tokenizer_json) echo 1024 ;;
    tokenizer_hf) echo 8192 ;;
    store) echo 40000 ;;
    romtable) echo 24576 ;;
    tokens|experiment|corpus|shards) echo 4096 ;;
    tokenizer) echo 1024 ;;
    *) echo 512 ;;
  esac
}
# The argument targets print help and usage errors: keep their stdout and stderr quiet
# (libFuzzer keeps its own reports on a copy of stderr).
fd_mask() { case $1 in args|dispatch) echo 3 ;; *) echo 1 ;; esac; }

failed=()
summary=""
for bin in "$@"; do
  name=${bin##*/fuzz_}
  log=build-fuzz/logs/$name.log
  mkdir -p build-fuzz/logs "build-fuzz/corpus/$name" "build-fuzz/crashes/$name" "build-fuzz/seeds/$name"
  : >"$log"
  regressions=(tests/fuzz/regressions/"$name"/*)
  if [ -e "${regressions[0]}" ]; then
    if ! "$bin" -rss_limit_mb=2048 -close_fd_mask="$(fd_mask "$name")" "${regressions[@]}" >>"$log" 2>&1; then
      echo "fuzz $name: a regression input crashes again:"; tail -n 40 "$log"
      failed+=("$name"); summary+=$(printf '%-12s %12s %s' "$name" "-" "regression crash")$'\n'
      continue
    fi
  fi
  "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len="$(max_len "$name")" -timeout=30 \
         -close_fd_mask="$(fd_mask "$name")" -print_final_stats=1 \
         -artifact_prefix="build-fuzz/crashes/$name/" \
         "build-fuzz/corpus/$name" "build-fuzz/seeds/$name" >>"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(sed -n 's/.*#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    echo "fuzz $name: CRASH (exit $rc) after ${execs:-?} executions; log $log:"
    grep -m1 -A30 -E '^==[0-9]+==ERROR|runtime error|^==[0-9]+== ?ERROR|deadly signal|-timeout|out-of-memory' "$log" | head -n 40
    ls build-fuzz/crashes/"$name"/ 2>/dev/null | tail -n 3 | sed "s|^|  build-fuzz/crashes/$name/|"
    failed+=("$name"); summary+=$(printf '%-12s %12s %s' "$name" "${execs:-?}" "CRASH")$'\n'
  else
    echo "fuzz $name: ${execs:-?} executions in ${SECONDS_EACH} s, no crash"
    summary+=$(printf '%-12s %12s %s' "$name" "${execs:-?}" "ok")$'\n'
  fi
done
printf '\n%-12s %12s %s\n%s' target executions result "$summary"
if [ ${#failed[@]} -ne 0 ]; then echo "FUZZING FOUND CRASHES: ${failed[*]}"; exit 1; fi
echo "FUZZING FOUND NO CRASHES"
