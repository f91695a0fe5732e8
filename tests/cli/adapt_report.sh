#!/usr/bin/env bash
# `loom adapt report` after `loom adapt extend` on stories260K with FOLDOC terms: original rows
# equal, fewer tokens per word on held-out FOLDOC entries (every 10th line), bits per byte printed
# for domain and general text; --json carries the same; bad input is one line on stderr.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
m=$data/models/stories260K
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'NR % 10 != 0' "$data/corpora/foldoc/foldoc.tsv" > "$tmp/train.tsv"
awk 'NR % 10 == 0' "$data/corpora/foldoc/foldoc.tsv" | head -30 > "$tmp/heldout.tsv"
"$LOOM" adapt mine-terms --tokenizer "$m/tok512.model" --corpus "$tmp/train.tsv" --top 25 > "$tmp/terms.tsv" \
  || fail "mine-terms"
"$LOOM" adapt extend --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
  --output "$tmp/ext" >/dev/null || fail "extend"
out=$("$LOOM" adapt report --base "$m/stories260K.bin" --base-tokenizer "$m/tok512.model" --adapted "$tmp/ext" \
      --heldout "$tmp/heldout.tsv" --general "$data/corpora/tinystories/tinystories_sample.txt") \
  || fail "report exited non-zero: $out"
echo "$out"
grep -q "EQUAL" <<<"$out" || fail "original rows not reported equal"
grep -q "bits per byte" <<<"$out" || fail "no bits per byte"
json=$("$LOOM" adapt report --base "$m/stories260K.bin" --base-tokenizer "$m/tok512.model" --adapted "$tmp/ext" \
       --heldout "$tmp/heldout.tsv" --general "$data/corpora/tinystories/tinystories_sample.txt" --max-lines 10 --json) \
  || fail "report --json"
grep -q '"equal": true' <<<"$json" || fail "json equal: $json"
tpw=$(tr -d '\n' <<<"$json" | sed -n 's/.*"tokens_per_word": {"base": \([0-9.]*\), "adapted": \([0-9.]*\)}.*/\1 \2/p')
awk -v a="${tpw% *}" -v b="${tpw#* }" 'BEGIN { exit !(b < a) }' || fail "tokens per word not lower: $tpw"
err=$("$LOOM" adapt report --base "$m/stories260K.bin" --adapted "$tmp/ext" --heldout "$tmp/heldout.tsv" \
      --general "$tmp/heldout.tsv" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "base without tokenizer: $err"
# adapt drift: one row per init method; the mean of all rows (Hewitt's choice) drifts far less on
# general text than the mean of each term's sub-tokens, which adds likely-looking outputs.
drift=$("$LOOM" adapt drift --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
        --general "$data/corpora/tinystories/tinystories_sample.txt" --heldout "$tmp/heldout.tsv" \
        --init subtoken-mean,mean --max-lines 10 --json) || fail "drift: $drift"
echo "$drift"
kl=$(tr -d '\n' <<<"$drift" | sed -n 's/.*"subtoken-mean", "general": {"positions": [0-9]*, "mean_kl": \([0-9.e+-]*\).*"mean", "general": {"positions": [0-9]*, "mean_kl": \([0-9.e+-]*\).*/\1 \2/p')
awk -v s="${kl% *}" -v m="${kl#* }" 'BEGIN { exit !(s > 0 && m > 0 && m < s / 100) }' || fail "drift: $kl"
err=$("$LOOM" adapt drift --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
      --general "$tmp/heldout.tsv" --heldout "$tmp/heldout.tsv" --init mean,zeros 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q zeros <<<"$err" || fail "drift unknown init: $err"
echo "cli adapt report: ok"
