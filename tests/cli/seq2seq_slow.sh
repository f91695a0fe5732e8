#!/usr/bin/env bash
# `loom seq2seq train|eval|translate` on the dates task: a small bidirectional GRU seq2seq trained
# for a few seconds reaches an exact-match accuracy far above chance (about 0: one string of ten
# characters out of 36525 days) with greedy and beam decoding; the run folder holds the model,
# log.csv, loss.png and the attention heatmap; eval reproduces the test accuracy from the folder;
# translate decodes and draws a heatmap; bad inputs fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run="$tmp/run"
out=$("$LOOM" seq2seq train --out "$run" --train-size 2000 --valid-size 100 --test-size 200 \
      --emb 16 --hidden 32 --batch 32 --steps 200 --eval-every 100 --lr 1e-2 --warmup 20 \
      --beam 3 --threads 2 --json) || fail "train exited non-zero"
python3 - "$out" <<'PY' || fail "train: $out"
import json, sys
r = json.loads(sys.argv[1])
assert r["test_examples"] == 200, r
assert r["val_loss"] < 0.5 * r["val_loss_before"], r
assert r["greedy_accuracy"] >= 0.4, r  # measured 0.745 (beam 0.775); untrained: 0
assert r["beam_accuracy"] >= 0.4, r
PY
for f in model.safetensors config.json src_vocab.txt tgt_vocab.txt log.csv loss.png attention.png; do
  [ -s "$run/$f" ] || fail "no $f in the run folder"
done
head -c 8 "$run/attention.png" | od -c | grep -q 'P   N   G' || fail "attention.png is not a PNG"
grep -q '"encoder.fc.weight"' "$run/model.safetensors" || fail "no encoder.fc.weight tensor"
grep -q '"encoder.rnn.weight_hh_l0_reverse"' "$run/model.safetensors" || fail "no reverse GRU"
ev=$("$LOOM" seq2seq eval --model "$run" --beam 3 --json) || fail "eval exited non-zero"
python3 - "$out" "$ev" <<'PY' || fail "eval differs from train: $ev vs $out"
import json, sys
t, e = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert e["greedy_accuracy"] == t["greedy_accuracy"] and e["beam_accuracy"] == t["beam_accuracy"], e
PY
tr=$("$LOOM" seq2seq translate --model "$run" --beam 1 "2 January 2015" --heatmap "$tmp/a.png") \
  || fail "translate exited non-zero"
[[ "$tr" == "2 January 2015"$'\t'* ]] || fail "translate printed: $tr"
[ -s "$tmp/a.png" ] || fail "translate --heatmap wrote nothing"
check_one_line() {  # expected message fragment, then the command
  local want=$1; shift
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "exited 0: $*"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "more than one line: $err"
  grep -q -- "$want" <<<"$err" || fail "expected '$want' in: $err"
}
check_one_line "train-size" "$LOOM" seq2seq train --out "$tmp/x" --train-size 0
check_one_line "36525" "$LOOM" seq2seq train --out "$tmp/x" --train-size 40000 --steps 1
check_one_line "cell" "$LOOM" seq2seq train --out "$tmp/x" --cell lstm --steps 1
check_one_line "config.json" "$LOOM" seq2seq eval --model "$tmp/nowhere"
echo '{"cell": "gru"}' > "$run/config.json"
check_one_line "src_vocab" "$LOOM" seq2seq translate --model "$run" "3 May 2020"
echo "seq2seq: ok"
