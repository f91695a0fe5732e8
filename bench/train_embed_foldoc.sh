#!/usr/bin/env bash
# FOLDOC definition retrieval before/after contrastive fine-tuning of stories260K (issue #7).
# Pairs come from the train split only (term -> definition, lines whose 1-based number is not
# divisible by 10); `loom eval retrieval` scores the held-out lines (every 10th). Prints the
# dense nDCG@10 of the base model and of the fine-tuned one.
# Usage: bench/train_embed_foldoc.sh [STEPS=300] [BATCH=32]   (from the repository root, after make build)
set -euo pipefail
loom=${LOOM:-build/bin/loom}
data=${LOOM_DATA:-../shared/data}
steps=${1:-300}
batch=${2:-32}
m=$data/models/stories260K
foldoc=$data/corpora/foldoc/foldoc.tsv
out=bench/out/train_embed_foldoc
rm -rf "$out" && mkdir -p "$out"
awk -F'\t' 'NR % 10 != 0 { print $1 "\t" $2 }' "$foldoc" > "$out/pairs.tsv"
ndcg10() { awk '$1 == "NDCG" { print $5 }'; }
before=$("$loom" eval retrieval --data "$foldoc" --retriever dense --model "$m/stories260K.bin" \
  --tokenizer "$m/tok512.model" --threads 2 2>/dev/null | ndcg10)
"$loom" train-embed --init "$m/stories260K.bin" --tokenizer "$m/tok512.model" \
  --pairs "$out/pairs.tsv" --steps "$steps" --batch "$batch" --out "$out/model" --threads 2 \
  2> "$out/train.log" | grep -E "^(loss|seconds)"
after=$("$loom" eval retrieval --data "$foldoc" --retriever dense --model "$out/model" \
  --threads 2 2>/dev/null | ndcg10)
echo "FOLDOC dense nDCG@10: stories260K $before -> fine-tuned ($steps steps, batch $batch) $after"
