#!/usr/bin/env bash
# Runs every libFuzzer target briefly (CI smoke mode) from its seed corpus in tests/fuzz/corpus.
# A fixed -seed and a fixed number of runs make the smoke deterministic: CI executes exactly the
# inputs a developer's run of this script executed, whatever the machine's speed. The time limit
# is only a guard for a very slow machine. Long exploratory runs: call a target without -seed/-runs.
set -euo pipefail
build=${1:-build-asan}
runs=${LOOM_FUZZ_RUNS:-100000}
secs=${LOOM_FUZZ_SECONDS:-90}
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz smoke: no fuzz targets built"; exit 0
fi
for t in "${targets[@]}"; do
  name=$(basename "$t")
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  echo "fuzz smoke: $name, $runs runs"
  "$t" -seed=1 -runs="$runs" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 "$work" 2>"$work.log" \
    || { tail -40 "$work.log"; echo "fuzz smoke: $name FAILED"; exit 1; }
  rm -rf "$work" "$work.log"
done
echo "fuzz smoke: ${#targets[@]} targets passed"
