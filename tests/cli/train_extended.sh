#!/usr/bin/env bash
# The signature job end to end: `loom adapt extend` grows stories260K by FOLDOC terms, then
# `loom train --train new-embeddings` (base size from config.json's loom_extension) and
# `--train new-embeddings,lora` continue pre-training on FOLDOC lines through the extended
# tokenizer.json: the original rows' sha256 stays the one extend printed, the held-out loss falls,
# and `loom generate` loads the result.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
m="$data/models/stories260K"
[ -f "$m/stories260K.bin" ] || fail "missing $m/stories260K.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -400 "$data/corpora/foldoc/foldoc.tsv" > "$tmp/fold.txt"
printf 'language\nprogramming\ncompiler\nsystem\nprotocol\ncomputer\nnetwork\nsoftware\n' > "$tmp/terms.txt"
"$LOOM" adapt extend --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.txt" \
  --output "$tmp/ext" > "$tmp/extend.txt" || fail "adapt extend"
sha=$(awk '/original embedding rows sha256/ { print $NF }' "$tmp/extend.txt")
[ ${#sha} -eq 64 ] || fail "no sha256 from adapt extend: $(cat "$tmp/extend.txt")"
num() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
common=(--init "$tmp/ext" --text "$tmp/fold.txt" --heldout-every 10 --seq 64 --batch 8 --warmup 1
        --wd 0.1 --eval-every 10 --eval-batches 4 --sample 0 --threads 2)
for mode in new-embeddings new-embeddings,lora; do
  out="$tmp/run_${mode/,/_}"
  extra=(--lr 5e-3)
  [ "$mode" = new-embeddings,lora ] && extra=(--lr 2e-2 --lora-rank 4 --lora-targets q,v)
  "$LOOM" train "${common[@]}" --steps 10 --train "$mode" "${extra[@]}" --out "$out" --json > "$out.json" ||
    fail "train $mode"
  [ "$(num "$out.json" train_tokens)" -lt 200000 ] || fail "$mode: too many tokens ($(num "$out.json" train_tokens))"
  [ "$(num "$out.json" original_rows_sha256_before)" = "$sha" ] || fail "$mode: sha256 before differs from extend's"
  [ "$(num "$out.json" original_rows_sha256_after)" = "$sha" ] || fail "$mode: original rows changed"
  b=$(num "$out.json" val_loss_before); a=$(num "$out.json" val_loss)
  # Eight new rows barely move the loss on their own; with LoRA it must fall clearly.
  if [ "$mode" = new-embeddings,lora ]; then
    awk -v b="$b" -v a="$a" 'BEGIN { exit !(a < b - 0.3) }' || fail "$mode: held-out loss did not fall: $b -> $a"
  else
    awk -v b="$b" -v a="$a" 'BEGIN { exit !(a < b + 0.01) }' || fail "$mode: held-out loss rose: $b -> $a"
  fi
  /usr/bin/python3 - "$tmp/ext/model.safetensors" "$out/model.safetensors" <<'PY' || fail "$mode: rows check"
import json, struct, sys
import numpy as np
def emb(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    v = json.loads(raw[8:8 + n])["model.embed_tokens.weight"]
    a, b = v["data_offsets"]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"])
old, new = emb(sys.argv[1]), emb(sys.argv[2])
assert old.shape == (520, 64) == new.shape, old.shape
assert np.array_equal(old[:512], new[:512]), "an original row changed"
moved = int((np.abs(old[512:] - new[512:]).max(axis=1) > 0).sum())
assert moved == 8, f"{moved} of 8 new rows moved"
PY
  grep -q '"base_vocab_size": 512' "$out/config.json" || fail "$mode: loom_extension not kept in config.json"
  "$LOOM" generate --model "$out" --prompt "A compiler is" --steps 8 --temperature 0 > /dev/null 2>&1 ||
    fail "$mode: loom generate could not load the output"
  echo "$mode: held-out loss $b -> $a, original rows sha256 unchanged, 8 of 8 new rows moved"
done
echo "cli train_extended: ok"
