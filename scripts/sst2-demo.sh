#!/usr/bin/env bash
# SST-2 side by side (#13): a bag-of-words logistic regression (scikit-learn: unigrams + bigrams,
# C chosen on dev.tsv) and Loom's small BERT, pre-trained by masked LM on the text of
# ../shared/data (the corpora and SST-2's own training sentences, labels unused) from a
# config.json, then fine-tuned on train.tsv with the classifier on the pooled [CLS] (the learning
# rate chosen on dev.tsv). Both report accuracy on test.tsv (GLUE's dev set, 872 sentences).
# Not a ctest: about 42 minutes on 2 shared cores with the defaults below (MLM about 1.5 s a step).
#   scripts/sst2-demo.sh [OUT]    (OUT default build/sst2-demo; LOOM, LOOM_DATA, THREADS,
#                                  PRETRAIN_STEPS, FINETUNE_STEPS, LRS override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${LOOM_DATA:-$root/../shared/data}
loom=${LOOM:-$root/build/bin/loom}
out=${1:-$root/build/sst2-demo}
threads=${THREADS:-2}
pretrain_steps=${PRETRAIN_STEPS:-700}
finetune_steps=${FINETUNE_STEPS:-1900}  # about one epoch of train.tsv at batch 32
lrs=${LRS:-"1e-4 3e-4"}
sst="$data/classification/sst2"
vocab="$data/tokenizers/bert-base-uncased/vocab.txt"
[ -x "$loom" ] || { echo "sst2-demo: no loom binary at $loom (make build)" >&2; exit 1; }
[ -f "$sst/test.tsv" ] && [ -f "$vocab" ] || { echo "sst2-demo: SST-2 or vocab.txt missing in $data" >&2; exit 1; }
mkdir -p "$out"

# The comparison peer: Debian's python3-sklearn, installed here when missing.
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-sklearn
fi
t0=$SECONDS
/usr/bin/python3 "$root/scripts/sst2_baseline.py" "$sst" | tee "$out/baseline.txt"
baseline=$(sed -n 's/^baseline_test_accuracy //p' "$out/baseline.txt")
t_base=$((SECONDS - t0))

# Pre-training text: one document per line.
{
  cat "$data/corpora/wikitext-2-raw/wiki.test.raw" "$data/corpora/ptb/ptb.valid.txt" \
      "$data/corpora/ptb/ptb.test.txt" "$data/corpora/gensim-lee/lee_background.cor" \
      "$data/corpora/tinyshakespeare/input.txt" "$data/corpora/tinystories/tinystories_sample.txt"
  cut -f2 "$data/corpora/foldoc/foldoc.tsv"
  tail -n +2 "$sst/train.tsv" | cut -f1
} > "$out/corpus.txt"
cat > "$out/bert_small.json" <<'JSON'
{"model_type": "bert", "hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
 "intermediate_size": 512, "max_position_embeddings": 128, "type_vocab_size": 2}
JSON
t0=$SECONDS
rm -rf "$out/mlm"
"$loom" train --objective mlm --config "$out/bert_small.json" --tokenizer "$vocab" \
  --text "$out/corpus.txt" --heldout-every 200 --seq 128 --batch 32 --steps "$pretrain_steps" \
  --lr 1e-3 --warmup 100 --eval-every 500 --save-every 500 --threads "$threads" --out "$out/mlm" |
  tee "$out/mlm.txt"
t_mlm=$((SECONDS - t0))

# Fine-tuning: one run per learning rate, each judged on dev.tsv; the best one scored on test.tsv.
t0=$SECONDS
best="" best_acc=-1
for lr in $lrs; do
  rm -rf "$out/cls_$lr"
  "$loom" train --task classify --init "$out/mlm" --data "$sst/train.tsv" --eval "$sst/dev.tsv" \
    --seq 64 --batch 32 --steps "$finetune_steps" --lr "$lr" --warmup 100 --wd 0.01 \
    --eval-every "$finetune_steps" --save-every "$finetune_steps" --threads "$threads" --out "$out/cls_$lr" | tee "$out/cls_$lr.txt"
  acc=$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' "$out/cls_$lr.txt")
  echo "lr $lr: dev accuracy $acc"
  if awk -v a="$acc" -v b="$best_acc" 'BEGIN { exit !(a > b) }'; then best=$lr best_acc=$acc; fi
done
rm -rf "$out/test_eval"
"$loom" train --task classify --init "$out/cls_$best" --data "$sst/train.tsv" --eval "$sst/test.tsv" \
  --seq 64 --batch 32 --steps 0 --threads "$threads" --out "$out/test_eval" | tee "$out/test.txt"
loom_acc=$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' "$out/test.txt")
t_ft=$((SECONDS - t0))
mlm_before=$(sed -n 's/^val_loss_before\t//p' "$out/mlm.txt")
mlm_after=$(sed -n 's/^val_loss\t//p' "$out/mlm.txt")

echo
echo "| model | chosen on dev.tsv | SST-2 test.tsv accuracy (872) | wall time |"
echo "|---|---|---|---|"
echo "| bag-of-words logistic regression (sklearn, 1+2-grams) | $(sed -n 's/^chosen \(C [0-9.]*\).*/\1/p' "$out/baseline.txt") | $baseline | ${t_base}s |"
echo "| Loom BERT 4x128, MLM ${pretrain_steps} steps (held-out loss $mlm_before -> $mlm_after), fine-tuned ${finetune_steps} steps | lr $best (dev $best_acc) | $loom_acc | ${t_mlm}s + ${t_ft}s |"
