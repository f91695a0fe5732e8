#!/usr/bin/env bash
# Instructions executed by the hot-path benchmarks, one build against another: a comparison that
# does not depend on the machine's noise (on a shared virtual machine, wall-clock ratios of the
# same binary spread by +-50%). Each benchmark runs under valgrind's callgrind for one iteration
# (--benchmark_min_time=0.01 under valgrind's slowdown); the start-up alone (a filter matching
# nothing) is subtracted. Both builds must be -DLOOM_NATIVE=OFF (x86-64-v3): valgrind has no
# AVX-512. OpenMP and OpenBLAS run one thread: their spinning workers make valgrind crawl.
# usage: bench/peers/self/instructions.sh OLD_BUILD NEW_BUILD
#   e.g. cmake -S . -B build-v3 -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOM_NATIVE=OFF -DLOOM_TESTS=OFF
#        cmake --build build-v3 --target tokenizer_bench sentencepiece_bench nn_ops_bench \
#          nn_train_step_bench
set -euo pipefail
old=$1; new=$2
root=$(cd "$(dirname "$0")/../../.." && pwd)
export LOOM_DATA=${LOOM_DATA:-$root/../shared/data} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMP_WAIT_POLICY=passive
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
ir() {  # build bench filter -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1/bench/$2" --benchmark_filter="$3" \
    --benchmark_min_time=0.01 2>&1 >/dev/null | awk '/Collected/ {print $4}'
}
printf '%-45s %15s %15s %9s\n' benchmark old new new/old
for spec in "tokenizer_bench Gpt2Encode/1/" "tokenizer_bench Llama3Encode/1/" \
            "tokenizer_bench BertEncode/1/" "sentencepiece_bench SpEncodeLlama2/1" \
            "sentencepiece_bench SpEncodeTok512/1" "sentencepiece_bench BpeTrainCs336" \
            "nn_ops_bench Attention" "nn_ops_bench CrossEntropy" \
            "nn_train_step_bench llama_tiny_fp32" "nn_train_step_bench llama_tiny_bf16" \
            "nn_train_step_bench gpt2_tiny_fp32" "nn_train_step_bench gpt2_tiny_bf16"; do
  set -- $spec
  o=$(( $(ir "$old" "$1" "$2") - $(ir "$old" "$1" NONE) ))
  n=$(( $(ir "$new" "$1" "$2") - $(ir "$new" "$1" NONE) ))
  printf '%-45s %15d %15d %9s\n' "$1 $2" "$o" "$n" "$(echo "scale=4; $n / $o" | bc)"
done
