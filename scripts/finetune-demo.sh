#!/usr/bin/env bash
# The fine-tuning demonstration of the README: stories260K, no outside data. From FOLDOC (seeded
# draw) an instruction set ("define TERM:" -> its definition of 7 words or more), a preference
# set (the right definition chosen, another term's rejected) and a rule set built from the
# instruction set (the rule: an answer of 1 to 6 words, ended by EOS; chosen: the
# definition's first 4 words, rejected: the whole definition); every tenth line held out. Then
#   1. SFT (all weights): held-out response loss before -> after; then 30 steps at --seq 256,
#      one padded example per row and packed (--pack), for the non-padding tokens/s of both;
#   2. a reward model (score.weight head) on the preference pairs: held-out preference accuracy;
#   3. DPO from the SFT model (LoRA) on the rule pairs: held-out preference accuracy and margin;
#   4. on the held-out prompts (the same for SFT and DPO), 4 completions each sampled at
#      temperature 1 (seed 1, at most 32 tokens) before SFT, after SFT and after DPO: the share
#      satisfying the rule, and the KL to the reference (the model each run started from: k1
#      estimator, mean over the sampled tokens of log pi - log pi_ref, train/sample_eval.h).
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
# Definitions of 7 words or more only, so that every rejected answer breaks the rule.
bash "$gen" sft "$data/corpora/foldoc/foldoc.tsv" 600 7 |
  grep -E '"completion": " ([^ "]+ ){6,}[^ "]+"}$' > "$tmp/sft.jsonl"
bash "$gen" pairs "$data/corpora/foldoc/foldoc.tsv" 400 8 > "$tmp/pairs.jsonl"
# The rule pairs, line for line from sft.jsonl (so both hold out the same prompts).
sed 's/"completion": " \(\([^ "]* \)\{0,3\}[^ "]*\)\([^"]*\)"}$/"chosen": " \1", "rejected": " \1\3"}/' \
  "$tmp/sft.jsonl" > "$tmp/rule.jsonl"
common=(--tokenizer "$m/tok512.model" --seq 64 --batch 8 --heldout-every 10 --warmup 10
        --eval-every 50 --save-every 1000 --threads 2 --json)
samples=(--sample-eval 4 --sample-tokens 32)
# Field of loom's one-line JSON summary.
field() { sed -n "s/.*\"$2\": \([-0-9.naul]*\).*/\1/p" "$1"; }
# Share of the sampled completions in FILE that satisfy the rule: EOS within the sample, 1 to 6
# words.
rule_rate() {
  python3 -c 'import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
print("%.4f" % (sum(x["ended"] and 1 <= len(x["completion"].split()) <= 6 for x in s) / len(s)))' "$1"
}
# The first sampled completion in FILE, as prompt -> completion.
first_sample() {
  python3 -c 'import json, sys
x = json.loads(open(sys.argv[1]).readline())
print("  %s ->%s" % (x["prompt"], x["completion"]))' "$1"
}
"$loom" train --task sft --init "$m/stories260K.bin" --data "$tmp/sft.jsonl" "${common[@]}" \
  "${samples[@]}" --steps 150 --lr 2e-3 --out "$tmp/sft" > "$tmp/sft.json" 2> /dev/null
for pack in padded packed; do
  "$loom" train --task sft --init "$m/stories260K.bin" --data "$tmp/sft.jsonl" "${common[@]}" \
    --seq 256 --steps 30 --lr 2e-3 $([ $pack = packed ] && echo --pack) --out "$tmp/sft_$pack" \
    > "$tmp/sft_$pack.json" 2> /dev/null
done
"$loom" train --task reward --init "$tmp/sft" --data "$tmp/pairs.jsonl" "${common[@]}" \
  --steps 150 --lr 1e-3 --out "$tmp/rm" > "$tmp/rm.json" 2> /dev/null
"$loom" train --task dpo --init "$tmp/sft" --data "$tmp/rule.jsonl" "${common[@]}" \
  "${samples[@]}" --steps 150 --lr 5e-3 --beta 0.1 --train lora --lora-rank 8 --out "$tmp/dpo" \
  > "$tmp/dpo.json" 2> /dev/null
row() { printf '%-52s %10s %10s\n' "$@"; }
row "held-out metric (stories260K, FOLDOC)" before after
row "SFT: response loss (nats/token), $(field "$tmp/sft.json" val_examples) ex." \
  "$(field "$tmp/sft.json" val_loss_before)" "$(field "$tmp/sft.json" val_loss)"
row "SFT --seq 256, 30 steps: response loss, padded" \
  "$(field "$tmp/sft_padded.json" val_loss_before)" "$(field "$tmp/sft_padded.json" val_loss)"
row "SFT --seq 256, 30 steps: response loss, packed" \
  "$(field "$tmp/sft_packed.json" val_loss_before)" "$(field "$tmp/sft_packed.json" val_loss)"
row "SFT --seq 256: non-padding tokens/s, padded -> packed" \
  "$(field "$tmp/sft_padded.json" real_tokens_per_s)" "$(field "$tmp/sft_packed.json" real_tokens_per_s)"
row "SFT --seq 256: rows per epoch, padded -> packed" \
  "$(field "$tmp/sft_padded.json" sequences)" "$(field "$tmp/sft_packed.json" sequences)"
row "reward model: preference accuracy, $(field "$tmp/rm.json" val_examples) pairs" \
  "$(field "$tmp/rm.json" val_accuracy_before)" "$(field "$tmp/rm.json" val_accuracy)"
row "DPO (LoRA, beta 0.1, rule pairs): pref. accuracy" \
  "$(field "$tmp/dpo.json" val_accuracy_before)" "$(field "$tmp/dpo.json" val_accuracy)"
row "DPO: DPO loss" "$(field "$tmp/dpo.json" val_loss_before)" "$(field "$tmp/dpo.json" val_loss)"
row "DPO: reward margin" "0" "$(field "$tmp/dpo.json" val_margin)"
row "samples satisfying the rule: base -> SFT" \
  "$(rule_rate "$tmp/sft/samples_before.jsonl")" "$(rule_rate "$tmp/sft/samples.jsonl")"
row "samples satisfying the rule: SFT -> DPO" \
  "$(rule_rate "$tmp/dpo/samples_before.jsonl")" "$(rule_rate "$tmp/dpo/samples.jsonl")"
row "KL to the reference per sampled token: SFT, DPO" \
  "$(field "$tmp/sft.json" kl_ref)" "$(field "$tmp/dpo.json" kl_ref)"
echo "first held-out sample before SFT, after SFT, after DPO:"
first_sample "$tmp/sft/samples_before.jsonl"
first_sample "$tmp/sft/samples.jsonl"
first_sample "$tmp/dpo/samples.jsonl"
