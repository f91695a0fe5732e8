#!/usr/bin/env bash
# Loom's document store vs SQLite FTS5 (the same process, the same documents, the system's
# libsqlite3) on Cranfield (BEIR: 1,400 documents, 225 queries) and FOLDOC (every entry a
# document, its term the query; 1,000 seeded queries), then the Cranfield nDCG@10 table of
# `loom eval retrieval` (BM25, dense, hybrid RRF). The embedder is stories260K with mean pooling
# (L2-normalised); the store's BM25 runs twice, as created by default (k1 0.9, b 0.4, no
# stemming) and with Porter stems and FTS5's k1 1.2, b 0.75 (loom-stem). Every document gets a seeded synthetic year (1970..2019); the filtered searches
# keep year >= 2015 (~10 %). See bench/store_bench.cpp for what is timed.
#   bench/peers/store/run.sh [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/../../.."
threads=${1:-2}
data=${LOOM_DATA:-$(cd ../shared/data && pwd)}
model=$data/models/stories260K/stories260K.bin
tok=$data/models/stories260K/tok512.model
cranfield=$data/retrieval/cranfield
foldoc=$data/corpora/foldoc/foldoc.tsv
out=bench/out/store
mkdir -p "$out"

[ -d build ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOM_BENCH=ON >/dev/null
cmake --build build -j "$threads" --target loom store_bench >/dev/null

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores;" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg); sqlite $(/usr/bin/python3 -c \
     'import sqlite3; print(sqlite3.sqlite_version)'); threads=$threads"
build/bench/store_bench "$cranfield" "$model" "$tok" "$out/work" "$threads" > "$out/cranfield.tsv"
build/bench/store_bench "$foldoc" "$model" "$tok" "$out/work" "$threads" 1000 > "$out/foldoc.tsv"
rm -rf "$out/work"
/usr/bin/python3 bench/peers/store/summarize.py Cranfield="$out/cranfield.tsv" \
  FOLDOC="$out/foldoc.tsv"

echo
echo "Cranfield nDCG@10, loom eval retrieval (stories260K mean pooling for dense):"
echo "| retriever | nDCG@10 | seconds |"
echo "|---|---|---|"
for r in bm25 dense hybrid; do
  build/bin/loom eval retrieval --data "$cranfield" --retriever "$r" --model "$model" \
    --tokenizer "$tok" --threads "$threads" --json 2>/dev/null | /usr/bin/python3 -c \
    'import json,sys; j=json.load(sys.stdin); print("| %s | %.4f | %.1f |" % (j["retriever"], j["NDCG@10"], j["seconds"]))'
done
build/bin/loom eval retrieval --data "$cranfield" --retriever bm25 --k1 1.2 --b 0.75 --json \
  2>/dev/null | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin);
print("| bm25, k1 1.2 b 0.75 (FTS5'"'"'s constants) | %.4f | %.1f |" % (j["NDCG@10"], j["seconds"]))'
build/bin/loom eval retrieval --data "$cranfield" --retriever bm25 --stem --k1 1.2 --b 0.75 --json \
  2>/dev/null | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin);
print("| bm25, Porter stems, k1 1.2 b 0.75 (as FTS5 porter) | %.4f | %.1f |" % (j["NDCG@10"], j["seconds"]))'
echo "| SPLADE | not built | |"
echo "| reranked | not built | |"
