#!/usr/bin/env bash
# Loom vs PyTorch 1.13 CPU (Debian python3-torch): one full training step (forward, backward,
# clip, AdamW) of a small Llama (d=288, 6 layers, vocab 32000, B=8, T=256) and a GPT-2-small-like
# model (d=768, 12 layers, vocab 50257, B=4, T=256), fp32 and bf16, 2 threads.
# Each side runs `ROUNDS` times, alternating, and the best tokens/s of each is kept (the machine
# is shared; alternating exposes both to the same load).
#
# usage: bench/peers/train/run.sh [BUILD_DIR] [CONFIGS...]   e.g. run.sh build llama_small_fp32
# PyTorch links Debian's OpenBLAS, which does not recognise this CPU and falls back to SSE3
# kernels; Loom's core picks the AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX), so the peer gets
# the same setting for a fair comparison.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${1:-$root/build}"
shift || true
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(llama_small_fp32 llama_small_bf16 gpt2_small_fp32 gpt2_small_bf16)
rounds="${ROUNDS:-2}"
steps="${STEPS:-3}"
bench="$build/bench/nn_train_step_bench"
[ -x "$bench" ] || { echo "build first: make build (missing $bench)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-SkylakeX}"

printf "%-18s %12s %12s %8s %14s\n" config "loom tok/s" "torch tok/s" ratio "loom GFLOP/s"
for cfg in "${configs[@]}"; do
  model="${cfg%_*}"
  dtype="${cfg##*_}"
  best_l=0 best_t=0 best_g=0
  for ((r = 0; r < rounds; r++)); do
    json="$("$bench" --benchmark_filter="BM_TrainStep/${cfg}/" --benchmark_format=json 2>/dev/null)"
    read -r tl gf < <(/usr/bin/python3 -c '
import json, sys
b = json.loads(sys.stdin.read())["benchmarks"][0]
print(b["tok/s"], b["GFLOP/s"])' <<<"$json")
    tt="$(/usr/bin/python3 "$here/torch_step.py" "$model" "$dtype" 2 "$steps" | sed -n 's/.*tok\/s=\([0-9.]*\).*/\1/p')"
    best_l="$(/usr/bin/python3 -c "print(max($best_l, $tl))")"
    best_g="$(/usr/bin/python3 -c "print(max($best_g, $gf))")"
    best_t="$(/usr/bin/python3 -c "print(max($best_t, $tt))")"
  done
  ratio="$(/usr/bin/python3 -c "print(f'{$best_l / $best_t:.2f}x')")"
  printf "%-18s %12.1f %12.1f %8s %14.1f\n" "$cfg" "$best_l" "$best_t" "$ratio" "$best_g"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
