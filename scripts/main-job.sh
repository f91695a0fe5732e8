#!/usr/bin/env bash
# `make run`: the main job on the default data. The domain-adaptation example (extend the
# tokenizer, grow the embeddings, continue pre-training) is not built yet; until it is, this runs
# the most complete pipeline that exists, on the same base model and domain corpus:
#   stories260K generates; FOLDOC's domain terms that its tokenizer fragments are mined; the
#   cost of the domain text under the base model is measured; FOLDOC is searched with BM25 and
#   a vector index; Cranfield is scored the BEIR way.
set -euo pipefail
loom=${1:-build/bin/loom}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${LOOM_DATA:-$root/../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
m=$data/models/stories260K
step() { printf '\n== %s\n' "$*"; }

step "machine"
"$loom" system

step "base model: stories260K greedy story (llama2.c's reference run)"
"$loom" generate --model "$m/stories260K.bin" --tokenizer "$m/tok512.bin" --temperature 0 --steps 120

step "domain corpus: FOLDOC, split into train and held-out (every 10th entry held out)"
awk 'NR % 10 != 0' "$data/corpora/foldoc/foldoc.tsv" > "$work/foldoc.train.tsv"
awk 'NR % 10 == 0' "$data/corpora/foldoc/foldoc.tsv" > "$work/foldoc.heldout.tsv"
wc -l "$work/foldoc.train.tsv" "$work/foldoc.heldout.tsv"

step "domain terms the base tokenizer fragments (score = tokens saved)"
"$loom" adapt mine-terms --tokenizer "$m/tok512.model" --corpus "$work/foldoc.train.tsv" --top 25 \
  | tee "$work/terms.tsv" | column -t -s $'\t'

step "tokens per byte of held-out domain text vs general text, base tokenizer"
for f in "$work/foldoc.heldout.tsv" "$data/corpora/tinystories/tinystories_sample.txt"; do
  bytes=$(wc -c < "$f")
  toks=$("$loom" tokenize --tokenizer "$m/tok512.model" --ids --threads 2 < "$f" | wc -w)
  printf '%s\t%s bytes\t%s tokens\t%.3f tokens/byte\n' "$(basename "$f")" "$bytes" "$toks" \
    "$(echo "$toks / $bytes" | bc -l)"
done

step "perplexity of the base model: general (TinyStories) vs domain (FOLDOC held-out, first 200 entries)"
"$loom" eval ppl --model "$m/stories260K.bin" --tokenizer "$m/tok512.bin" \
  --text "$data/corpora/tinystories/tinystories_sample.txt"
head -200 "$work/foldoc.heldout.tsv" > "$work/foldoc.heldout200.tsv"
"$loom" eval ppl --model "$m/stories260K.bin" --tokenizer "$m/tok512.bin" --text "$work/foldoc.heldout200.tsv"

step "retrieval on Cranfield (BEIR layout): BM25"
"$loom" eval retrieval --data "$data/retrieval/cranfield" --retriever bm25
