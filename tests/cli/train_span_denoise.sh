#!/usr/bin/env bash
# loom train --objective span (T5 span corruption) and --objective denoise (BART text infilling +
# sentence permutation) on a new T5 / BART from a config.json, with stories260K's 512-piece
# tokenizer, on FOLDOC definitions: the held-out loss falls; the folder is a
# T5/BartForConditionalGeneration with the tokenizer (span: <extra_id_0..99> added on top, <extra_id_0>
# the last id; denoise: <mask> added); a run stopped and resumed logs the rows of an uninterrupted
# one; a config of the wrong family and MLM-only flags are refused in one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
foldoc="$data/corpora/foldoc/foldoc.tsv"
tok="$data/models/stories260K/tok512.model"
[ -f "$foldoc" ] && [ -f "$tok" ] || fail "missing data in $data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -150 "$foldoc" | cut -f2 > "$tmp/corpus.txt"
cat > "$tmp/t5.json" <<'JSON'
{"model_type": "t5", "d_model": 32, "d_ff": 64, "d_kv": 8, "num_heads": 4, "num_layers": 2,
 "num_decoder_layers": 2, "relative_attention_num_buckets": 8,
 "relative_attention_max_distance": 32, "feed_forward_proj": "relu", "pad_token_id": 0,
 "decoder_start_token_id": 0, "eos_token_id": 2}
JSON
cat > "$tmp/bart.json" <<'JSON'
{"model_type": "bart", "d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
 "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 64,
 "decoder_ffn_dim": 64, "max_position_embeddings": 64, "pad_token_id": 0, "bos_token_id": 1,
 "eos_token_id": 2, "decoder_start_token_id": 2}
JSON
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a < b) }'; }
common=(--tokenizer "$tok" --text "$tmp/corpus.txt" --seq 32 --batch 8
        --lr 5e-3 --warmup 2 --threads 2)

for c in "span t5 T5ForConditionalGeneration" "denoise bart BartForConditionalGeneration"; do
  read -r obj cfg cls <<<"$c"
  "$LOOM" train --objective "$obj" --config "$tmp/$cfg.json" "${common[@]}" --steps 10 \
    --heldout-every 10 --eval-every 10 --save-every 10 --out "$tmp/$obj" > "$tmp/$obj.txt" || fail "$obj run"
  v0=$(sed -n 's/^val_loss_before\t//p' "$tmp/$obj.txt") v1=$(sed -n 's/^val_loss\t//p' "$tmp/$obj.txt")
  less "$v1" "$v0" || fail "$obj: held-out loss did not fall: $v0 -> $v1"
  grep -q "\"$cls\"" "$tmp/$obj/config.json" || fail "$obj folder is not a $cls"
  grep -q "^objective $obj$" "$tmp/$obj/train_mode.txt" || fail "$obj not recorded"
  echo "$obj: held-out loss $v0 -> $v1 in 10 steps"
  # Stopped at 3 and resumed = uninterrupted (no held-out lines: the rows hold every figure).
  "$LOOM" train --objective "$obj" --config "$tmp/$cfg.json" "${common[@]}" --steps 5 \
    --eval-every 5 --save-every 5 --out "$tmp/$obj-a" > /dev/null || fail "$obj 5 steps"
  "$LOOM" train --objective "$obj" --config "$tmp/$cfg.json" "${common[@]}" --steps 5 \
    --eval-every 5 --save-every 5 --stop-at 3 --out "$tmp/$obj-b" > /dev/null || fail "$obj stop"
  "$LOOM" train --objective "$obj" --config "$tmp/$cfg.json" "${common[@]}" --steps 5 \
    --eval-every 5 --save-every 5 --resume --out "$tmp/$obj-b" > /dev/null || fail "$obj resume"
  diff <(cut -d, -f1-4,6- "$tmp/$obj-a/log.csv") <(cut -d, -f1-4,6- "$tmp/$obj-b/log.csv") \
    > /dev/null ||
    fail "$obj: resumed rows differ: $(diff "$tmp/$obj-a/log.csv" "$tmp/$obj-b/log.csv" | head -4)"
  [ "$(grep -c . "$tmp/$obj-b/log.csv")" -eq 6 ] || fail "$obj: resumed log has $(grep -c . "$tmp/$obj-b/log.csv") lines"
done
# The tokenizer gained T5's sentinels (the last one, <extra_id_0>, is the top id) and BART's <mask>.
id_of() { grep -B1 "\"content\": \"$2\"" "$1" | sed -n 's/.*"id": \([0-9]*\),/\1/p'; }
[ "$(id_of "$tmp/span/tokenizer.json" '<extra_id_0>')" = 611 ] &&
  [ "$(id_of "$tmp/span/tokenizer.json" '<extra_id_99>')" = 512 ] ||
  fail "sentinel ids: <extra_id_0> $(id_of "$tmp/span/tokenizer.json" '<extra_id_0>'), expected 611"
[ "$(id_of "$tmp/denoise/tokenizer.json" '<mask>')" = 512 ] || fail "no <mask> in denoise/tokenizer.json"

# Refusals: one line each.
err=$("$LOOM" train --objective span --config "$tmp/bart.json" "${common[@]}" --steps 1 \
      --out "$tmp/bad" 2>&1 >/dev/null) && fail "span with a bart config was accepted"
[ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "bart.json: the span objective trains a t5 model" <<<"$err" ||
  fail "wrong-family error: $err"
err=$("$LOOM" train --objective denoise --config "$tmp/bart.json" --whole-word "${common[@]}" \
      --steps 1 --out "$tmp/bad" 2>&1 >/dev/null) && fail "--whole-word with denoise was accepted"
grep -q "whole-word go with --objective mlm" <<<"$err" || fail "whole-word error: $err"
echo "cli train_span_denoise: ok"
