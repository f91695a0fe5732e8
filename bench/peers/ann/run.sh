#!/usr/bin/env bash
# Loom HNSW and Vamana vs hnswlib (native, -march=native, Debian libhnswlib-dev) and FAISS HNSW /
# IVF (Debian python3-faiss) on a seeded clustered set: 200k x 128 float32, 1000 queries, L2.
# Builds run on ANN_THREADS threads (default 2); queries on one thread. Timings are CPU time
# (the machine is shared), queries/s the best of 3 passes. One command: bench/peers/ann/run.sh
# ANN_PQ=M adds a loom-vamana-pq row (Vamana searching M-byte PQ codes, full-precision re-rank).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
N=${ANN_N:-200000}
NQ=${ANN_NQ:-1000}
THREADS=${ANN_THREADS:-2}
out=bench/out/ann
[ "$N" = 200000 ] || out="bench/out/ann-$N"  # other sizes keep their own data
mkdir -p "$out"

if ! dpkg -s libhnswlib-dev python3-faiss >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y libhnswlib-dev python3-faiss >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y libhnswlib-dev python3-faiss >/dev/null; }
fi
[ -d build ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target loom_index >/dev/null
g++ -O3 -march=native -std=c++20 -DNDEBUG -Ibuild/inc/core -Ibuild/inc/index \
  bench/peers/ann/loom_ann.cpp build/libloom_index.a build/libloom_core.a -lz -lpthread -o "$out/loom_ann"
g++ -O3 -march=native -std=c++17 -DNDEBUG bench/peers/ann/hnswlib_ann.cpp -lpthread -o "$out/hnswlib_ann"

stamp="$out/data.$N.$NQ"
if [ ! -f "$stamp" ]; then
  rm -f "$out"/data.*
  "$out/loom_ann" gen "$out" "$N" 128 "$NQ"
  touch "$stamp"
fi
echo "== hnswlib (M=16, efConstruction=200)" >&2
"$out/hnswlib_ann" "$out" "$THREADS" | tee "$out/hnswlib.csv" >&2
echo "== loom hnsw (M=16, efConstruction=200)" >&2
"$out/loom_ann" run "$out" hnsw "$THREADS" | tee "$out/loom_hnsw.csv" >&2
echo "== loom vamana (R=32, L=64, alpha=1.2)" >&2
"$out/loom_ann" run "$out" vamana "$THREADS" | tee "$out/loom_vamana.csv" >&2
if [ -n "${ANN_PQ:-}" ]; then  # ANN_PQ=M adds Vamana with M-byte PQ codes (off by default)
  echo "== loom vamana-pq (R=32, L=64, alpha=1.2, PQ M=$ANN_PQ)" >&2
  LOOM_ANN_PQ=$ANN_PQ "$out/loom_ann" run "$out" vamana "$THREADS" | tee "$out/loom_vamana_pq.csv" >&2
else
  rm -f "$out/loom_vamana_pq.csv"
fi
if [ -z "${ANN_SKIP_FAISS:-}" ]; then
  echo "== faiss hnsw / ivf" >&2
  /usr/bin/python3 bench/peers/ann/faiss_ann.py "$out" "$THREADS" | tee "$out/faiss.csv" >&2
fi
echo
echo "ANN: $N x 128 clustered (seeded), $NQ queries, recall@10 vs exact; build on $THREADS threads"
/usr/bin/python3 bench/peers/ann/summarize.py "$out"/*.csv
