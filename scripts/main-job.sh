#!/usr/bin/env bash
# `make run`: the signature job on the default data, end to end.
#   Base model stories260K (llama2.c weights, SentencePiece tok512), domain corpus FOLDOC split
#   into train and held-out lines (every 10th line held out). Mine the domain terms the tokenizer
#   fragments, add them as tokens and grow the embedding matrix (original rows bit-identical),
#   continue pre-training with the same next-token objective so only the new rows learn (MODE
#   adds LoRA adapters or trains everything), then report: sha256 of the original rows, tokens per word and bits per byte
#   before/after, and FOLDOC retrieval (headword -> definition) with the base and adapted
#   embeddings; then (c) contrastive fine-tuning of the adapted model on the train split's
#   (headword, definition) pairs, so its embeddings serve search, and the same retrieval again.
# BASE=gpt2-bpe (`make run-gpt2`) runs the same job on a GPT-2-layout model instead: a byte-level
#   BPE tokenizer trained by Loom on WikiText-2 and a GPT-2 (learned positions, LayerNorm, GELU, tied
#   head) pre-trained by Loom from scratch on the same text (BASE_STEPS steps), since no pretrained
#   GPT-2 weights ship; the extension, training and report are the same commands.
# Any other model and corpus work the same way by flags (see README).
# Environment: LOOM_DATA (default ../shared/data), BASE (stories260K or gpt2-bpe), BASE_STEPS
# (gpt2-bpe pre-training steps, default 800), STEPS (default 300), TERMS (default 64),
# MODE (--train, default new-embeddings), LR (default 1e-2), EMBED_STEPS (contrastive steps,
# default 300), THREADS (default 2), WORK (keep the outputs there; default a temporary folder).
set -euo pipefail
loom=${1:-build/bin/loom}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${LOOM_DATA:-$root/../shared/data}
steps=${STEPS:-300}
terms=${TERMS:-64}
threads=${THREADS:-2}
mode=${MODE:-new-embeddings}  # or new-embeddings,lora (add --lora-rank) or all
lr=${LR:-1e-2}
embed_steps=${EMBED_STEPS:-300}
if [ -n "${WORK:-}" ]; then
  work=$WORK
  rm -rf "$work/extended" "$work/adapted" "$work/embedder"
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
m=$data/models/stories260K
foldoc=$data/corpora/foldoc/foldoc.tsv
general=$data/corpora/tinystories/tinystories_sample.txt
step() { printf '\n== %s\n' "$*"; }

step "machine"
"$loom" system

case ${BASE:-stories260K} in
  stories260K)
    model=$m/stories260K.bin tok=$m/tok512.model seq=256
    step "base model: stories260K greedy story (llama2.c's reference run)"
    "$loom" generate --model "$model" --tokenizer "$m/tok512.bin" --temperature 0 --steps 120
    ;;
  gpt2-bpe)
    wiki=$data/corpora/wikitext-2-raw/wiki.test.raw
    grep -v '^ *$' "$wiki" | grep -v '^ = ' > "$work/wiki.txt"
    step "base tokenizer: byte-level BPE (GPT-2's pre-tokenizer), 4096 tokens, trained on WikiText-2"
    "$loom" tokenizer train --type bpe --vocab-size 4096 --special-tokens '<|endoftext|>' \
      --input "$work/wiki.txt" --output "$work/tokenizer.json"
    # As GPT-2's: <|endoftext|> starts and ends documents (what a Hugging Face user saves with
    # PreTrainedTokenizerFast(bos_token=..., eos_token=...)); loom train carries it along.
    printf '{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}\n' \
      > "$work/tokenizer_config.json"
    step "base model: GPT-2 layout pre-trained from scratch on WikiText-2 (${BASE_STEPS:-800} steps)"
    rm -rf "$work/base"
    "$loom" train --arch gpt2 --text "$work/wiki.txt" --tokenizer "$work/tokenizer.json" \
      --d-model 192 --layers 4 --heads 6 --seq 128 --batch 16 --steps "${BASE_STEPS:-800}" \
      --lr 2e-3 --warmup 100 --eval-every 500 --sample 0 --threads "$threads" --out "$work/base" |
      grep -v '^checkpoint\|^log\|^model'
    model=$work/base tok=$work/base/tokenizer.json seq=128  # the base's context
    "$loom" generate --model "$model" --prompt "The" --temperature 0 --steps 40
    ;;
  *) echo "BASE: expected stories260K or gpt2-bpe, got '$BASE'" >&2; exit 2 ;;
esac

step "domain corpus: FOLDOC, split into train and held-out (every 10th line held out)"
awk 'NR % 10 != 0' "$foldoc" > "$work/foldoc.train.tsv"
awk 'NR % 10 == 0' "$foldoc" > "$work/foldoc.heldout.tsv"
wc -l "$work/foldoc.train.tsv" "$work/foldoc.heldout.tsv"

step "(a) domain terms the base tokenizer fragments (score = frequency x extra pieces), top $terms"
"$loom" adapt mine-terms --tokenizer "$tok" --corpus "$work/foldoc.train.tsv" \
  --top "$terms" --threads "$threads" > "$work/terms.tsv"
head -16 "$work/terms.tsv" | column -t -s $'\t'
echo "... ($terms terms in all)"

step "(a) extend the tokenizer and grow the embedding matrix (new rows: mean of their sub-tokens)"
"$loom" adapt extend --model "$model" --tokenizer "$tok" \
  --terms "$work/terms.tsv" --output "$work/extended" --init subtoken-mean
echo "the new terms are single tokens now:"
head -4 "$work/terms.tsv" | tail -3 | cut -f1 | while read -r t; do
  printf '  %-14s -> %s\n' "$t" "$("$loom" tokenize --tokenizer "$work/extended/tokenizer.json" --ids <<< "$t")"
done

step "(a) does the initialisation do no harm? KL(base || extended) before training, per init method"
"$loom" adapt drift --model "$model" --tokenizer "$tok" --terms "$work/terms.tsv" \
  --general "$general" --heldout "$work/foldoc.heldout.tsv" --max-lines 200 --threads "$threads"

step "(b) continued pre-training, next-token objective: only the new rows learn ($steps steps)"
"$loom" train --init "$work/extended" --text "$foldoc" --heldout-every 10 \
  --train "$mode" --steps "$steps" --seq "$seq" --batch 8 --lr "$lr" \
  --warmup 20 --eval-every 50 --eval-batches 8 --sample 0 --threads "$threads" \
  --out "$work/adapted" | grep -v '^checkpoint\|^log\|^model'

step "report: base vs adapted"
"$loom" adapt report --base "$model" --base-tokenizer "$tok" \
  --adapted "$work/adapted" --heldout "$work/foldoc.heldout.tsv" --general "$general" \
  --max-lines 400 --threads "$threads"

step "FOLDOC multiple choice: which of 4 definitions is the term's? (held-out terms, seed 1)"
echo "   lm-evaluation-harness rules: acc = argmax log p(definition | \"term<TAB>\"), acc_norm per byte"
choice() { "$loom" eval choice --definitions "$foldoc" --holdout-every 10 --limit "${CHOICE_ITEMS:-0}" \
  --choices 4 --seed 1 --threads "$threads" --json "$@"; }
field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" <<< "$1"; }
mc_base=$(choice --model "$model" --tokenizer "$tok")
mc_adapted=$(choice --model "$work/adapted")
# in-context RALM: the top BM25 line of the train split goes before "term<TAB>"
mc_ralm=$(choice --model "$work/adapted" --retrieve-from "$work/foldoc.train.tsv")
printf 'model\titems\tacc\tacc_norm\n'
for row in "base:$mc_base" "adapted:$mc_adapted" "adapted + RALM:$mc_ralm"; do
  printf '%s\t%s\t%s\t%s\n' "${row%%:*}" "$(field "${row#*:}" items)" "$(field "${row#*:}" acc)" \
    "$(field "${row#*:}" acc_norm)"
done

step "use of the embeddings: FOLDOC held-out retrieval (query = headword, relevant = its definition)"
"$loom" eval retrieval --data "$foldoc" --retriever bm25 --json > "$work/bm25.json"
"$loom" eval retrieval --data "$foldoc" --retriever dense --model "$model" \
  --tokenizer "$tok" --threads "$threads" --json > "$work/dense_base.json" 2>/dev/null
"$loom" eval retrieval --data "$foldoc" --retriever dense --model "$work/adapted" \
  --threads "$threads" --json > "$work/dense_adapted.json" 2>/dev/null
step "(c) contrastive fine-tuning of the adapted model for search: InfoNCE on the train split's"
echo "   (headword, definition) pairs, in-batch negatives, mean pooling ($embed_steps steps)"
cut -f1,2 "$work/foldoc.train.tsv" > "$work/pairs.tsv"
"$loom" train-embed --init "$work/adapted" --pairs "$work/pairs.tsv" --steps "$embed_steps" \
  --batch 32 --threads "$threads" --out "$work/embedder" 2>&1 |
  awk '/^step/ && (++n % 50 == 0) || !/^step/' | grep -v '^checkpoint\|^log\|^model'
"$loom" eval retrieval --data "$foldoc" --retriever dense --model "$work/embedder" \
  --threads "$threads" --json > "$work/dense_embedder.json" 2>/dev/null
"$loom" eval retrieval --data "$foldoc" --retriever hybrid --model "$work/embedder" \
  --threads "$threads" --json > "$work/hybrid_embedder.json" 2>/dev/null

step "FOLDOC held-out retrieval, all together"
ndcg() { sed -n 's/.*"NDCG@10": \([0-9.]*\).*/\1/p' "$1" | head -1; }
printf 'retriever\tnDCG@10\n'
printf 'BM25\t%s\n' "$(ndcg "$work/bm25.json")"
printf "dense, base %s (mean pooling)\t%s\n" "${BASE:-stories260K}" "$(ndcg "$work/dense_base.json")"
printf 'dense, adapted (mean pooling)\t%s\n' "$(ndcg "$work/dense_adapted.json")"
printf 'dense, adapted + contrastive\t%s\n' "$(ndcg "$work/dense_embedder.json")"
printf 'hybrid (BM25 + dense, RRF), adapted + contrastive\t%s\n' "$(ndcg "$work/hybrid_embedder.json")"

step "the adapted model still generates (greedy, from its own model directory)"
"$loom" generate --model "$work/adapted" --temperature 0 --steps 60

step "the same adaptation as a PEFT adapter (adapted/adapter) on the base model"
a=$work/adapted/adapter adapter_base=${model:-$m/stories260K.bin}
printf 'adapter_config.json + adapter_model.safetensors: %s bytes (merged model.safetensors: %s bytes)\n' \
  "$(( $(stat -c %s "$a/adapter_config.json") + $(stat -c %s "$a/adapter_model.safetensors") ))" \
  "$(stat -c %s "$work/adapted/model.safetensors")"
"$loom" generate --model "$work/adapted" --temperature 0 --steps 60 2>/dev/null > "$work/gen_merged.txt"
"$loom" generate --model "$adapter_base" --adapter "$a" --temperature 0 --steps 60 2>/dev/null \
  > "$work/gen_adapter.txt"
if cmp -s "$work/gen_merged.txt" "$work/gen_adapter.txt"; then
  echo "greedy generation from base + adapter: identical to the merged model's"
else
  echo "greedy generation from base + adapter DIFFERS from the merged model's:"
  cat "$work/gen_adapter.txt"
fi

step "retrieval on Cranfield (BEIR layout): BM25"
"$loom" eval retrieval --data "$data/retrieval/cranfield" --retriever bm25
