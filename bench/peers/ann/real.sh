#!/usr/bin/env bash
# The ANN comparison of run.sh on real embeddings: stories260K mean-pooled, L2-normalised 64-dim
# vectors (`loom embed`, first 64 tokens of each text) of every distinct line of SST-2 train+dev,
# Tiny Shakespeare, PTB test+valid, WikiText-2 test and the FOLDOC definitions (~110k vectors);
# queries are the 872 SST-2 test sentences and 128 FOLDOC headwords. L2 on unit vectors ranks as
# cosine. Exact top-10 from Loom's flat index; same drivers, settings and CSV as run.sh.
# One command: bench/peers/ann/real.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
THREADS=${ANN_THREADS:-2}
D=${LOOM_DATA:-$root/../shared/data}
M="$D/models/stories260K"
out=bench/out/ann-real
mkdir -p "$out"

if ! dpkg -s libhnswlib-dev python3-faiss >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y libhnswlib-dev python3-faiss >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y libhnswlib-dev python3-faiss >/dev/null; }
fi
[ -d build ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target loom loom_index >/dev/null
g++ -O3 -march=native -std=c++20 -DNDEBUG -Ibuild/inc/core -Ibuild/inc/index \
  bench/peers/ann/loom_ann.cpp build/libloom_index.a build/libloom_core.a -lz -lpthread -o "$out/loom_ann"
g++ -O3 -march=native -std=c++17 -DNDEBUG bench/peers/ann/hnswlib_ann.cpp -lpthread -o "$out/hnswlib_ann"

if [ ! -f "$out/gt.npy" ]; then
  {
    tail -n +2 "$D/classification/sst2/train.tsv" | cut -f1
    tail -n +2 "$D/classification/sst2/dev.tsv" | cut -f1
    cat "$D/corpora/tinyshakespeare/input.txt" "$D/corpora/ptb/ptb.test.txt" \
      "$D/corpora/ptb/ptb.valid.txt" "$D/corpora/wikitext-2-raw/wiki.test.raw"
    cut -f2 "$D/corpora/foldoc/foldoc.tsv"
  } | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | awk 'length($0) > 0 && !seen[$0]++' > "$out/base.txt"
  { tail -n +2 "$D/classification/sst2/test.tsv" | cut -f1 | sed 's/[[:space:]]*$//'
    awk -F'\t' 'NR % 10 == 0 && n < 128 {print $1; n++}' "$D/corpora/foldoc/foldoc.tsv"; } > "$out/queries.txt"
  E=(--model "$M/stories260K.bin" --tokenizer "$M/tok512.model" --pooling mean --normalize
     --max-tokens 64 --threads "$THREADS")
  build/bin/loom embed "${E[@]}" --input "$out/base.txt" --output "$out/base.npy" >&2
  build/bin/loom embed "${E[@]}" --input "$out/queries.txt" --output "$out/queries.npy" >&2
  "$out/loom_ann" gt "$out"
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
rows=$(wc -l < "$out/base.txt"); nq=$(wc -l < "$out/queries.txt")
echo
echo "ANN on real embeddings: $rows x 64 (stories260K mean-pooled, unit length), $nq queries,"
echo "recall@10 vs exact; build on $THREADS threads"
/usr/bin/python3 bench/peers/ann/summarize.py "$out"/*.csv
