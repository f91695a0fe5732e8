#!/usr/bin/env bash
# Native builds of the LLM inference peers, as ../shared/peers/README.md describes, into OUT
# (default bench/out/peers):
#   OUT/llama2.c/run, OUT/llama2.c/runq   gcc -Ofast -march=native -fopenmp, unmodified run.c/runq.c
#   OUT/llama.cpp/build/bin/llama-bench, llama-batched-bench (LLAMA_TARGETS adds e.g. llama-server:
#       84 more compile steps on top of llama-bench's 256, so not built by default)
#       llama.cpp from node-llama-cpp's git bundle (npm, bench/peers/llm/package.json) plus the two
#       one-line patches in ../shared/peers/llama.cpp/, cmake -DGGML_NATIVE=ON -DGGML_OPENMP=ON, -j2
# Idempotent: a step is skipped when its outputs exist and the hash of its inputs (sources, patches,
# flags, compiler) matches the stamp it wrote; an interrupted llama.cpp build resumes. Nothing here
# reaches the network (npm install is run.sh's job).
# usage: bench/peers/llm/build_peers.sh [OUT]    env PEERS (../shared/peers), JOBS (2),
#        LLAMA_TARGETS ("llama-bench llama-batched-bench")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
peers=${PEERS:-$root/../shared/peers}
out=${1:-$root/bench/out/peers}
jobs=${JOBS:-2}
targets=${LLAMA_TARGETS:-llama-bench llama-batched-bench}
bundle=$here/node_modules/node-llama-cpp/llama/gitRelease.bundle
mkdir -p "$out"

# stamp_ok STAMP HASH FILE...: the stamp holds HASH and every FILE exists
stamp_ok() {
  local stamp=$1 hash=$2 f
  shift 2
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] || return 1
  for f in "$@"; do [ -x "$f" ] || return 1; done
}
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

build_llama2c() {
  local dir=$out/llama2.c name flags hash
  mkdir -p "$dir"
  flags="-Ofast -march=native -fopenmp"
  for name in run runq; do
    hash=$( (cat "$peers/llama2.c/$name.c"; echo "$flags"; gcc --version | head -1) | sha256sum | cut -d' ' -f1)
    if stamp_ok "$dir/$name.stamp" "$hash" "$dir/$name"; then continue; fi
    echo "build_peers: gcc $flags $name.c" >&2
    # shellcheck disable=SC2086
    gcc $flags -o "$dir/$name" "$peers/llama2.c/$name.c" -lm
    echo "$hash" >"$dir/$name.stamp"
  done
}

llama_cmake_flags="-G Ninja -DGGML_NATIVE=ON -DGGML_OPENMP=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release"

build_llamacpp() {
  local dir=$out/llama.cpp src_hash build_hash bins=() t
  [ -f "$bundle" ] || { echo "build_peers: $bundle missing (run npm install in $here)" >&2; exit 1; }
  for t in $targets; do bins+=("$dir/build/bin/$t"); done
  src_hash=$(hash_of "$bundle" "$peers"/llama.cpp/*.patch)
  build_hash=$(echo "$src_hash $llama_cmake_flags $targets $(gcc --version | head -1)" | sha256sum | cut -d' ' -f1)
  if stamp_ok "$dir/build.stamp" "$build_hash" "${bins[@]}"; then return; fi
  if ! [ -f "$dir/source.stamp" ] || [ "$(cat "$dir/source.stamp")" != "$src_hash" ]; then
    echo "build_peers: llama.cpp source from $bundle" >&2
    rm -rf "$dir"
    git -c advice.detachedHead=false clone -q "$bundle" "$dir"
    git -C "$dir" apply "$peers"/llama.cpp/*.patch
    echo "$src_hash" >"$dir/source.stamp"
  fi
  echo "build_peers: llama.cpp targets $targets (-j$jobs; many minutes on 2 cores)" >&2
  # shellcheck disable=SC2086
  cmake -S "$dir" -B "$dir/build" $llama_cmake_flags >"$dir/cmake.log"
  # shellcheck disable=SC2086
  cmake --build "$dir/build" -j"$jobs" --target $targets >"$dir/build.log" ||
    { tail -20 "$dir/build.log" >&2; exit 1; }
  echo "$build_hash" >"$dir/build.stamp"
}

build_llama2c
build_llamacpp
echo "build_peers: ready in $out" >&2
