#!/usr/bin/env bash
# Side by side, one run: Loom vs Hugging Face tokenizers (npm @anush008/tokenizers, Rust native
# bindings) and tiktoken (npm, Rust core as WASM) for GPT-2 encode, and vs Hugging Face for BERT
# WordPiece; 1 and 2 threads; MB/s and the ratio. Text: the first MB MiB (default 20, cut
# at a line end) of the bench-corpus, real English; every line one document, no special tokens.
# Peers run RUNS times (default 1) and the best is kept; Loom takes the best of 3 repetitions.
#   bash bench/peers/tokenizers/run.sh            (from the repository root, after `make build`)
#   MB=40 RUNS=2 bash bench/peers/tokenizers/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here=$root/bench/peers/tokenizers
data=${LOOM_DATA:-$root/../shared/data}
full=$root/bench/out/corpus.txt
corpus=$root/bench/out/tokenizers_corpus_${MB:-20}mb.txt
mkdir -p "$root/bench/out"
[ -s "$full" ] || "$root/../shared/tools/bench-corpus" "$full" >/dev/null
head -c $(( ${MB:-20} * 1048576 )) "$full" | sed '$d' > "$corpus"
[ -d "$here/node_modules/@anush008/tokenizers" ] && [ -d "$here/node_modules/tiktoken" ] \
  || (cd "$here" && npm i -E --no-audit --no-fund >/dev/null)
bench=$root/build/bench/tokenizer_bench
[ -x "$bench" ] || { echo "build first: make build"; exit 1; }
mb=$(/usr/bin/python3 -c "print(round($(stat -c %s "$corpus") / 1e6, 1))")
echo "corpus: $corpus ($mb MB, $(wc -l < "$corpus") lines); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# Loom: Google Benchmark on the same corpus, best of 3 repetitions, MB/s.
loom_json=$(LOOM_DATA=$data LOOM_BENCH_CORPUS=$corpus "$bench" --benchmark_filter='BM_(Gpt2|Bert)Encode' \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=false --benchmark_format=json 2>/dev/null)
loom_mbs() {  # name threads
  /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
name = f"{sys.argv[1]}/{sys.argv[2]}/real_time"
v = [b["bytes_per_second"] for b in d["benchmarks"] if b["name"] == name and b.get("run_type") == "iteration"]
print(f"{max(v) / 1e6:.2f}")' "$1" "$2" <<<"$loom_json"
}
peer_mbs() {  # peer threads -> best of 2 runs
  local best=0 v
  for _ in $(seq "${RUNS:-1}"); do
    v=$(RAYON_NUM_THREADS=$2 node "$here/peers.js" "$1" "$corpus" "$2" "$data" | cut -d' ' -f1)
    best=$(/usr/bin/python3 -c "print(max($best, $v))")
  done
  echo "$best"
}
printf "%-22s %-8s %12s %12s %8s\n" "task" "threads" "loom MB/s" "peer MB/s" "ratio"
row() {  # task threads loom peer
  printf "%-22s %-8s %12s %12s %7.2fx\n" "$1" "$2" "$3" "$4" "$(/usr/bin/python3 -c "print($3 / $4)")"
}
for t in 1 2; do
  l=$(loom_mbs BM_Gpt2Encode $t)
  row "gpt2 vs hf-tokenizers" $t "$l" "$(peer_mbs hf-gpt2 $t)"
  row "gpt2 vs tiktoken" $t "$l" "$(peer_mbs tiktoken-gpt2 $t)"
  row "bert vs hf-tokenizers" $t "$(loom_mbs BM_BertEncode $t)" "$(peer_mbs hf-bert $t)"
done
