#!/usr/bin/env bash
# Runs every libFuzzer target briefly (CI smoke mode) from its seed corpus in tests/fuzz/corpus.
# A fixed -seed and a fixed number of runs make the smoke deterministic: CI executes exactly the
# inputs a developer's run of this script executed, whatever the machine's speed. The time limit
# is only a guard for a very slow machine. Targets run LOOM_FUZZ_JOBS (default: the cores) at a
# time; each is single-threaded, so this only divides the wall time. Long exploratory runs: call a
# target without -seed/-runs.
set -euo pipefail
build=${1:-build-asan}
runs=${LOOM_FUZZ_RUNS:-30000}
secs=${LOOM_FUZZ_SECONDS:-40}
jobs=${LOOM_FUZZ_JOBS:-$(nproc)}
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz smoke: no fuzz targets built"; exit 0
fi

smoke_one() {  # target path: runs it from a copy of its seeds; prints the log's tail on failure
  local t=$1 name seeds work
  name=$(basename "$t")
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  if "$t" -seed=1 -runs="$runs" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=0 "$work" 2>"$work.log"; then
    echo "fuzz smoke: $name, $runs runs: ok"
    rm -rf "$work" "$work.log"
  else
    tail -40 "$work.log"
    echo "fuzz smoke: $name FAILED"
    rm -rf "$work" "$work.log"
    return 1
  fi
}
export -f smoke_one
export runs secs
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'smoke_one "$1"' _ {} ||
  { echo "fuzz smoke: a target failed"; exit 1; }
echo "fuzz smoke: ${#targets[@]} targets passed"
