#!/usr/bin/env bash
# Loom against an earlier Loom, side by side in one run: decode and 512-token prompt speed
# (build/bench/llm_bench) and training step time (build/bench/nn_train_step_bench), the two builds
# run alternately ROUNDS times so drift on a shared machine hits both alike. Prints the CPU, each
# figure's median for both builds and the ratio new / old (> 1: the new build is faster).
# usage: [ROUNDS=3] [TRAIN=0] bench/peers/self/before_after.sh OLD_BUILD_DIR NEW_BUILD_DIR MODEL...
#   OLD_BUILD_DIR: a Release build of the earlier commit (e.g. a `git worktree` of it, built with
#   `cmake --build build --target llm_bench nn_train_step_bench`); MODEL: checkpoints llm_bench loads.
set -euo pipefail
old=$1 new=$2
shift 2
rounds=${ROUNDS:-3}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # run BUILD TAG MODEL ROUND: one llm_bench and one train-step pass as JSON
  local b=$1 tag=$2 model=$3 r=$4
  LOOM_BENCH_MODEL=$model "$b/bench/llm_bench" --benchmark_filter='BM_(Decode|Prompt512)' \
    --benchmark_format=json >"$tmp/$tag.$(basename "$model").$r.json" 2>/dev/null
}
for model in "$@"; do
  for r in $(seq "$rounds"); do
    run "$old" old "$model" "$r"
    run "$new" new "$model" "$r"
  done
done
for r in $(seq "$rounds"); do
  [ "${TRAIN:-1}" = 1 ] || break  # TRAIN=0: inference only
  "$old/bench/nn_train_step_bench" --benchmark_format=json >"$tmp/old.train.$r.json" 2>/dev/null
  "$new/bench/nn_train_step_bench" --benchmark_format=json >"$tmp/new.train.$r.json" 2>/dev/null
done
/usr/bin/python3 - "$tmp" "$@" <<'PY'
import json, os, statistics, sys
tmp, models = sys.argv[1], [os.path.basename(m) for m in sys.argv[2:]] + ["train"]
def load(tag, model):
    out = {}
    for f in sorted(os.listdir(tmp)):
        if f.startswith(f"{tag}.{model}."):
            for b in json.load(open(os.path.join(tmp, f)))["benchmarks"]:
                out.setdefault(b["name"], []).append(b["real_time"])
    return {k: statistics.median(v) for k, v in out.items()}
print(f"{'model':<22} {'benchmark':<44} {'old':>12} {'new':>12} {'new/old speed':>14}")
for m in models:
    o, n = load("old", m), load("new", m)
    for k in o:
        if k in n:
            print(f"{m:<22} {k:<44} {o[k]:>12.4g} {n[k]:>12.4g} {o[k] / n[k]:>14.3f}")
PY
