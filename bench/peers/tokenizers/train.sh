#!/usr/bin/env bash
# BPE training, side by side in one run: `loom tokenizer train --type bpe` vs Hugging Face's
# BpeTrainer (npm @anush008/tokenizers, Rust tokenizers 0.22; train_hf.js) on the same text: the
# first MB MiB (default 20, cut at a line end) of the bench-corpus. Both sides: byte-level BPE,
# ByteLevel pre-tokenizer (GPT-2 regex, no prefix space), every line one document with its "\n"
# (HF's train_from_files), no special tokens, min_frequency 0. HF's trainer is its default
# (vocab_size 30000 = the bytes seen + merges); Loom's alphabet is all 256 bytes, so Loom trains
# to 256 + HF's merge count to do the same number of merges, and the two merge lists are compared.
# A last row trains Loom to a 32000 vocabulary. Times: the training call (counting + merges,
# HF's includes reading the file, Loom's excludes ~10 ms of it); 1 and 2 threads; each side runs
# RUNS times (default 1) and the fastest run is kept.
#   bash bench/peers/tokenizers/train.sh        (from the repository root, after `make build`)
#   RUNS=3 MB=40 bash bench/peers/tokenizers/train.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here=$root/bench/peers/tokenizers
full=$root/bench/out/corpus.txt
corpus=$root/bench/out/train_corpus_${MB:-20}mb.txt
out=$root/bench/out/train
mkdir -p "$out"
[ -s "$full" ] || "$root/../shared/tools/bench-corpus" "$full" >/dev/null
head -c $(( ${MB:-20} * 1048576 )) "$full" | sed '$d' > "$corpus"
[ -d "$here/node_modules/@anush008/tokenizers" ] || (cd "$here" && npm i -E --no-audit --no-fund >/dev/null)
loom=$root/build/bin/loom
[ -x "$loom" ] || { echo "build first: make build"; exit 1; }
mb=$(/usr/bin/python3 -c "print(round($(stat -c %s "$corpus") / 1e6, 1))")
echo "corpus: $corpus ($mb MB, $(wc -l < "$corpus") lines); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf "%-34s %-8s %10s %10s %8s\n" "task" "threads" "loom s" "hf s" "ratio"
loom_train() {  # vocab threads file -> seconds (best of RUNS)
  local best=1e9 v
  for _ in $(seq "${RUNS:-1}"); do
    v=$("$loom" tokenizer train --type bpe --vocab-size "$1" --threads "$2" --output "$3" --json \
        "$corpus" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['seconds'])")
    best=$(/usr/bin/python3 -c "print(min($best, $v))")
  done
  echo "$best"
}
hf_train() {  # threads file -> "seconds vocab merges" (best of RUNS)
  local best="" v
  for _ in $(seq "${RUNS:-1}"); do
    # HF's progress bars print blank lines on stdout; the figures are the last line.
    v=$(RAYON_NUM_THREADS=$1 node "$here/train_hf.js" "$corpus" "$2" 2>/dev/null | tail -n 1)
    if [ -z "$best" ] || /usr/bin/python3 -c "import sys; sys.exit(0 if ${v%% *} < ${best%% *} else 1)"; then
      best=$v
    fi
  done
  echo "$best"
}
for t in 1 2; do
  read -r hf_s hf_vocab hf_merges <<<"$(hf_train $t "$out/hf_$t.json")"
  vocab=$(( 256 + hf_merges ))
  l=$(loom_train $vocab $t "$out/loom_$t.json")
  same=$(/usr/bin/python3 - "$out/hf_$t.json" "$out/loom_$t.json" <<'PY'
import json, sys
a, b = (json.load(open(f))["model"]["merges"] for f in sys.argv[1:3])
a = [m if isinstance(m, str) else " ".join(m) for m in a]
print(sum(1 for x, y in zip(a, b) if x == y), len(a), len(b))
PY
)
  printf "%-34s %-8s %10.2f %10.2f %7.2fx\n" "bpe $hf_merges merges (hf vocab $hf_vocab)" $t "$l" "$hf_s" \
    "$(/usr/bin/python3 -c "print($hf_s / $l)")"
  read -r eq na nb <<<"$same"
  echo "  merges identical at the same rank: $eq of $na (hf) / $nb (loom)"
done
l=$(loom_train 32000 2 "$out/loom_32k.json")
printf "%-34s %-8s %10.2f %10s\n" "bpe vocab 32000 (loom only)" 2 "$l" "-"
