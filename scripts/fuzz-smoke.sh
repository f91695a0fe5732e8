#!/usr/bin/env bash
# Runs every libFuzzer target briefly (CI smoke mode) from its seed corpus in tests/fuzz/corpus,
# with a fixed -seed so a CI run explores the same inputs each time (longer runs: drop -seed).
set -euo pipefail
build=${1:-build-asan}
secs=${LOOM_FUZZ_SECONDS:-15}
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
  echo "fuzz smoke: $name for ${secs}s"
  "$t" -seed=1 -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 "$work" 2>"$work.log" \
    || { tail -40 "$work.log"; echo "fuzz smoke: $name FAILED"; exit 1; }
  rm -rf "$work" "$work.log"
done
echo "fuzz smoke: ${#targets[@]} targets passed"
