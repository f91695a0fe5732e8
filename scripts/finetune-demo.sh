#!/usr/bin/env bash
# The fine-tuning demonstration of the README: stories260K, no outside data. From FOLDOC (seeded
# draw) an instruction set ("define TERM:" -> its definition) and a preference set (the right
# definition chosen, another term's rejected); every tenth line held out. Then
#   1. SFT (all weights): held-out response loss before -> after;
#   2. a reward model (score.weight head) on the pairs: held-out preference accuracy;
#   3. DPO from the SFT model (LoRA): held-out preference accuracy and margin before -> after.
# Prints one table. Usage: scripts/finetune-demo.sh [BUILD_DIR] (default build). A few minutes
# on 2 cores; not part of `make test`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
loom="${1:-$root/build}/bin/loom"
data="${LOOM_DATA:-$root/../shared/data}"
m="$data/models/stories260K"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen="$root/tests/cli/lib/foldoc_jsonl.sh"
bash "$gen" sft "$data/corpora/foldoc/foldoc.tsv" 600 7 > "$tmp/sft.jsonl"
bash "$gen" pairs "$data/corpora/foldoc/foldoc.tsv" 400 8 > "$tmp/pairs.jsonl"
common=(--tokenizer "$m/tok512.model" --seq 64 --batch 8 --heldout-every 10 --warmup 10
        --eval-every 50 --save-every 1000 --threads 2 --json)
# Field of loom's one-line JSON summary.
field() { sed -n "s/.*\"$2\": \([-0-9.naul]*\).*/\1/p" "$1"; }
"$loom" train --task sft --init "$m/stories260K.bin" --data "$tmp/sft.jsonl" "${common[@]}" \
  --steps 150 --lr 2e-3 --out "$tmp/sft" > "$tmp/sft.json" 2> /dev/null
"$loom" train --task reward --init "$tmp/sft" --data "$tmp/pairs.jsonl" "${common[@]}" \
  --steps 150 --lr 1e-3 --out "$tmp/rm" > "$tmp/rm.json" 2> /dev/null
"$loom" train --task dpo --init "$tmp/sft" --data "$tmp/pairs.jsonl" "${common[@]}" \
  --steps 150 --lr 5e-3 --beta 0.1 --train lora --lora-rank 8 --out "$tmp/dpo" > "$tmp/dpo.json" 2> /dev/null
printf '%-44s %10s %10s\n' "held-out metric (stories260K, FOLDOC)" before after
printf '%-44s %10s %10s\n' "SFT: response loss (nats/token), $(field "$tmp/sft.json" val_examples) ex." \
  "$(field "$tmp/sft.json" val_loss_before)" "$(field "$tmp/sft.json" val_loss)"
printf '%-44s %10s %10s\n' "reward model: preference accuracy, $(field "$tmp/rm.json" val_examples) pairs" \
  "$(field "$tmp/rm.json" val_accuracy_before)" "$(field "$tmp/rm.json" val_accuracy)"
printf '%-44s %10s %10s\n' "DPO (LoRA, beta 0.1): preference accuracy" \
  "$(field "$tmp/dpo.json" val_accuracy_before)" "$(field "$tmp/dpo.json" val_accuracy)"
printf '%-44s %10s %10s\n' "DPO: DPO loss" "$(field "$tmp/dpo.json" val_loss_before)" \
  "$(field "$tmp/dpo.json" val_loss)"
printf '%-44s %10s %10s\n' "DPO: reward margin" "0" "$(field "$tmp/dpo.json" val_margin)"
