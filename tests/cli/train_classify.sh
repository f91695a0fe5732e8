#!/usr/bin/env bash
# loom train --objective mlm then --task classify on SST-2 (small slices): a tiny BERT from a
# config.json pre-trained by MLM (held-out MLM loss falls; continued with --whole-word), fine-tuned
# with the classifier on the pooled [CLS] (accuracy, F1 and the confusion matrix printed; an
# interrupted run resumed logs the same rows; the folder is a BertForSequenceClassification with
# id2label that a second run continues from where the first ended); a decoder (stories260K) gets
# score.weight and a LlamaForSequenceClassification folder; bad files fail in one line naming
# FILE:LINE.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
sst="$data/classification/sst2"
vocab="$data/tokenizers/bert-base-uncased/vocab.txt"
m="$data/models/stories260K"
[ -f "$sst/train.tsv" ] && [ -f "$vocab" ] && [ -f "$m/stories260K.bin" ] || fail "missing data in $data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -401 "$sst/train.tsv" > "$tmp/train.tsv"
head -201 "$sst/dev.tsv" > "$tmp/dev.tsv"
tail -n +2 "$sst/train.tsv" | head -3000 | cut -f1 > "$tmp/text.txt"
cat > "$tmp/bert.json" <<'JSON'
{"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
 "intermediate_size": 64, "max_position_embeddings": 64}
JSON
# Value of a "key": number in a JSON line.
jnum() { sed -n "s/.*\"$2\": \([-0-9.e]*\).*/\1/p" "$1"; }
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a < b) }'; }

# MLM pre-training from the config: the held-out MLM loss falls.
"$LOOM" train --objective mlm --config "$tmp/bert.json" --tokenizer "$vocab" --text "$tmp/text.txt" \
  --heldout-every 20 --seq 32 --batch 16 --steps 30 --lr 2e-3 --warmup 3 --eval-every 30 \
  --save-every 30 --threads 2 --out "$tmp/mlm" > "$tmp/mlm.txt" || fail "mlm run exited non-zero"
v0=$(sed -n 's/^val_loss_before\t//p' "$tmp/mlm.txt") v1=$(sed -n 's/^val_loss\t//p' "$tmp/mlm.txt")
less "$v1" "$v0" || fail "held-out MLM loss did not fall: $v0 -> $v1"
grep -q '"BertForMaskedLM"' "$tmp/mlm/config.json" || fail "mlm folder is not a BertForMaskedLM"
# Continued from that folder with whole-word masking: runs, and chooses tokens.
"$LOOM" train --objective mlm --init "$tmp/mlm" --text "$tmp/text.txt" --whole-word --seq 32 \
  --batch 16 --steps 2 --threads 2 --out "$tmp/mlm2" > /dev/null || fail "whole-word mlm run"
awk -F, 'NR > 1 && $1 == 2 { exit !($7 > 0.05 && $7 < 0.3) }' "$tmp/mlm2/log.csv" ||
  fail "whole-word chosen share: $(tail -1 "$tmp/mlm2/log.csv")"

# Fine-tuning with a held-out file: metrics printed; stopped and resumed = uninterrupted.
cls=(--task classify --init "$tmp/mlm" --data "$tmp/train.tsv" --eval "$tmp/dev.tsv" --seq 32
     --batch 16 --steps 6 --lr 1e-3 --warmup 2 --eval-every 3 --save-every 3 --threads 2)
"$LOOM" train "${cls[@]}" --out "$tmp/a" > "$tmp/a.txt" || fail "classify run exited non-zero"
grep -q "^accuracy 0\.[0-9]*  macro-F1 0\.[0-9]*  (200 examples)" "$tmp/a.txt" || fail "no metrics: $(cat "$tmp/a.txt")"
grep -q "^confusion (rows: true" "$tmp/a.txt" || fail "no confusion matrix"
"$LOOM" train "${cls[@]}" --out "$tmp/b" --stop-at 4 > /dev/null || fail "stop-at run"
"$LOOM" train "${cls[@]}" --out "$tmp/b" --resume > /dev/null || fail "resume"
diff <(cut -d, -f1-4,7 "$tmp/a/log.csv") <(cut -d, -f1-4,7 "$tmp/b/log.csv") > /dev/null ||
  fail "resumed rows differ: $(diff <(cut -d, -f1-4 "$tmp/a/log.csv") <(cut -d, -f1-4 "$tmp/b/log.csv") | head -4)"
grep -q '"BertForSequenceClassification"' "$tmp/a/config.json" || fail "not BertForSequenceClassification"
grep -q '"LABEL_1"' "$tmp/a/config.json" || fail "no id2label in config.json"

# The saved head round-trips: a run continued from the folder starts at the first run's loss.
"$LOOM" train "${cls[@]}" --init "$tmp/a" --out "$tmp/c" --steps 1 --json > "$tmp/c.json" ||
  fail "continued classify run"
"$LOOM" train "${cls[@]}" --out "$tmp/d" --json > "$tmp/d.json" || fail "json run"
[ "$(jnum "$tmp/c.json" val_loss_before)" = "$(jnum "$tmp/d.json" val_loss)" ] ||
  fail "continued run starts at $(jnum "$tmp/c.json" val_loss_before), first ended at $(jnum "$tmp/d.json" val_loss)"

# A decoder: score.weight at the last token.
"$LOOM" train --task classify --init "$m/stories260K.bin" --tokenizer "$m/tok512.model" \
  --data "$tmp/train.tsv" --seq 64 --batch 8 --steps 2 --threads 2 --out "$tmp/llama" > /dev/null ||
  fail "decoder classify run"
grep -q '"LlamaForSequenceClassification"' "$tmp/llama/config.json" || fail "not LlamaForSequenceClassification"

# Bad input: one line naming FILE:LINE.
printf 'sentence\tlabel\ngood\t1\nbad\t2\n' > "$tmp/range.tsv"
printf 'sentence\tlabel\ngood\t1\nbad\n' > "$tmp/column.tsv"
: > "$tmp/empty.tsv"
for c in "range 3 label" "column 3 expected 2" "empty 0 no examples"; do
  read -r f line what <<<"$c"
  err=$("$LOOM" train --task classify --init "$tmp/mlm" --data "$tmp/$f.tsv" --num-labels 2 \
        --steps 1 --out "$tmp/bad" 2>&1 >/dev/null) && fail "$f.tsv was accepted"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "multi-line error: $err"
  grep -q "$f.tsv:$line: .*$what" <<<"$err" || fail "error does not name $f.tsv:$line ($what): $err"
done
echo "cli train_classify: ok"
