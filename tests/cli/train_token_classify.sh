#!/usr/bin/env bash
# loom train --task token-classify on a synthetic NER task built from FOLDOC (lib/foldoc_ner.awk:
# CAT and TERM entities in CoNLL sentences): a tiny BERT (one MLM step from a config.json) learns
# to tag (token accuracy and entity F1 rise past stated bounds; the CAT entities nearly all
# found); the folder is a BertForTokenClassification with the tags in id2label; an interrupted
# run resumed logs the same rows; JSONL data gives the same examples as CoNLL; --task classify
# --pooling mean runs and is recorded; bad files fail in one line naming FILE:LINE.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
foldoc="$data/corpora/foldoc/foldoc.tsv"
vocab="$data/tokenizers/bert-base-uncased/vocab.txt"
[ -f "$foldoc" ] && [ -f "$vocab" ] || fail "missing data in $data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v train="$tmp/train.conll" -v dev="$tmp/dev.conll" -v limit=600 \
  -f "$LOOM_SOURCE_DIR/tests/cli/lib/foldoc_ner.awk" "$foldoc"
[ "$(grep -c '^$' "$tmp/train.conll")" -eq 480 ] || fail "expected 480 training sentences"
cut -f1 "$tmp/train.conll" | paste -sd' ' | fold -w 200 -s > "$tmp/text.txt"
cat > "$tmp/bert.json" <<'JSON'
{"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
 "intermediate_size": 64, "max_position_embeddings": 64}
JSON
"$LOOM" train --objective mlm --config "$tmp/bert.json" --tokenizer "$vocab" --text "$tmp/text.txt" \
  --seq 32 --batch 8 --steps 1 --threads 2 --out "$tmp/mlm" > /dev/null || fail "mlm init run"
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }

# Training: token accuracy and entity-level F1 on the held-out sentences.
tc=(--task token-classify --init "$tmp/mlm" --data "$tmp/train.conll" --eval "$tmp/dev.conll"
    --seq 40 --batch 8 --lr 3e-3 --warmup 4 --threads 2)
"$LOOM" train "${tc[@]}" --steps 40 --eval-every 40 --save-every 40 --out "$tmp/a" > "$tmp/a.txt" ||
  fail "token-classify run exited non-zero"
line=$(grep '^token_accuracy' "$tmp/a.txt") || fail "no entity report: $(cat "$tmp/a.txt")"
acc=$(sed -n 's/^token_accuracy \([0-9.]*\).*/\1/p' <<<"$line")
f1=$(sed -n 's/.* F1 \([0-9.]*\) .*/\1/p' <<<"$line")
cat_f1=$(awk '$1 == "CAT" { print $4 }' "$tmp/a.txt")
grep -q '^TERM ' "$tmp/a.txt" || fail "no TERM line"
at_least "$acc" 0.85 || fail "token accuracy $acc < 0.85"
at_least "$f1" 0.5 || fail "entity F1 $f1 < 0.5"
at_least "$cat_f1" 0.9 || fail "CAT F1 $cat_f1 < 0.9"
grep -q "val_accuracy	0\.[01][0-9]* -> $acc" "$tmp/a.txt" || fail "val_accuracy line: $(grep val_acc "$tmp/a.txt")"
grep -q '"BertForTokenClassification"' "$tmp/a/config.json" || fail "not BertForTokenClassification"
grep -q '"1": "B-TERM"' "$tmp/a/config.json" || fail "no tags in id2label"
echo "token-classify 40 steps: token accuracy $acc, entity F1 $f1 (CAT $cat_f1)"

# Stopped and resumed = uninterrupted; JSONL gives the same run as CoNLL.
"$LOOM" train "${tc[@]}" --steps 4 --eval-every 2 --save-every 2 --out "$tmp/b" > /dev/null || fail "b"
"$LOOM" train "${tc[@]}" --steps 4 --eval-every 2 --save-every 2 --out "$tmp/c" --stop-at 3 \
  > /dev/null || fail "stop-at run"
"$LOOM" train "${tc[@]}" --steps 4 --eval-every 2 --save-every 2 --out "$tmp/c" --resume \
  > /dev/null || fail "resume"
# (the stopped run also evaluates at its last step: the held-out columns differ there only)
diff <(cut -d, -f1-4,7 "$tmp/b/log.csv") <(cut -d, -f1-4,7 "$tmp/c/log.csv") > /dev/null ||
  fail "resumed rows differ: $(diff "$tmp/b/log.csv" "$tmp/c/log.csv" | head -4)"
awk 'function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
  BEGIN { RS = ""; FS = "\n" } {
  w = t = ""; for (i = 1; i <= NF; i++) { split($i, c, "\t");
    w = w (i > 1 ? ", " : "") q(c[1]); t = t (i > 1 ? ", " : "") q(c[2]) }
  print "{\"tokens\": [" w "], \"tags\": [" t "]}" }' "$tmp/train.conll" > "$tmp/train.jsonl"
"$LOOM" train "${tc[@]}" --data "$tmp/train.jsonl" --steps 4 --eval-every 2 --save-every 2 \
  --out "$tmp/j" > /dev/null || fail "jsonl run"
diff <(cut -d, -f1-4,6-8 "$tmp/b/log.csv") <(cut -d, -f1-4,6-8 "$tmp/j/log.csv") > /dev/null ||
  fail "JSONL rows differ from CoNLL's: $(diff "$tmp/b/log.csv" "$tmp/j/log.csv" | head -4)"

# Sequence classification with a mean-pooled head.
awk 'BEGIN { RS = ""; FS = "\n"; print "sentence\tlabel" } {
  s = ""; for (i = 1; i <= NF; i++) { split($i, c, "\t"); s = s (i > 1 ? " " : "") c[1] }
  print s "\t" (s ~ /^in language/ ? 1 : 0) }' "$tmp/dev.conll" > "$tmp/cls.tsv"
"$LOOM" train --task classify --pooling mean --init "$tmp/mlm" --data "$tmp/cls.tsv" --seq 40 \
  --batch 8 --steps 2 --threads 2 --out "$tmp/p" > /dev/null || fail "--pooling mean run"
grep -q '^pooling mean$' "$tmp/p/train_mode.txt" || fail "pooling not recorded"

# Bad input: one line naming FILE:LINE; a flag in the wrong place is refused.
printf 'a\tO\nb\n' > "$tmp/column.conll"
printf 'a\tO\n\nb\tB-NEW\n' > "$tmp/tag.conll"
printf '{"tokens": ["a"], "tags": []}\n' > "$tmp/len.jsonl"
for c in "column.conll data 2 expected" "tag.conll eval 3 not among" "len.jsonl data 1 as long"; do
  read -r f flag line what <<<"$c"
  if [ "$flag" = data ]; then args=(--data "$tmp/$f"); else args=(--data "$tmp/train.conll" --eval "$tmp/$f"); fi
  err=$("$LOOM" train --task token-classify --init "$tmp/mlm" "${args[@]}" --steps 1 \
        --out "$tmp/bad" 2>&1 >/dev/null) && fail "$f was accepted"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "multi-line error: $err"
  grep -q "$f:$line: .*$what" <<<"$err" || fail "error does not name $f:$line ($what): $err"
done
"$LOOM" train "${tc[@]}" --pooling mean --steps 1 --out "$tmp/bad2" 2>/dev/null &&
  fail "--pooling with token-classify was accepted"
echo "cli train_token_classify: ok"
