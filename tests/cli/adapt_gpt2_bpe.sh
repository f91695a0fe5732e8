#!/usr/bin/env bash
# The signature job on a GPT-2 layout with a byte-level BPE tokenizer (`make run-gpt2`, in small):
# Loom trains a byte-level BPE on WikiText-2 lines and a tiny GPT-2 from scratch on them, mines the
# FOLDOC terms that tokenizer fragments, extends it (GPT-2's head is tied: one matrix grows) and
# trains only the new rows. Checked: every term is one token afterwards, the original rows' sha256
# is the one extend printed before and after training, every original row is bit-identical, every
# new row moved, the head stays tied (no lm_head tensor), drift and report run on it (the
# tokenizer's BOS comes from the tokenizer_config.json training carried along), and generate loads
# the result.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
wiki="$data/corpora/wikitext-2-raw/wiki.test.raw"
[ -f "$wiki" ] || fail "missing $wiki"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^ *$' "$wiki" | grep -v '^ = ' | head -1500 > "$tmp/wiki.txt"
head -400 "$data/corpora/foldoc/foldoc.tsv" > "$tmp/fold.txt"
"$LOOM" tokenizer train --type bpe --vocab-size 512 --special-tokens '<|endoftext|>' \
  --input "$tmp/wiki.txt" --output "$tmp/tokenizer.json" > /dev/null || fail "tokenizer train"
grep -q '"ByteLevel"' "$tmp/tokenizer.json" || fail "not a byte-level BPE tokenizer"
printf '{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}\n' > "$tmp/tokenizer_config.json"
"$LOOM" train --arch gpt2 --text "$tmp/wiki.txt" --tokenizer "$tmp/tokenizer.json" --d-model 32 \
  --layers 2 --heads 2 --seq 64 --batch 8 --steps 20 --warmup 2 --eval-every 20 --eval-batches 2 \
  --sample 0 --threads 2 --out "$tmp/base" --json > "$tmp/base.json" || fail "train gpt2 from scratch"
"$LOOM" adapt mine-terms --tokenizer "$tmp/base/tokenizer.json" --corpus "$tmp/fold.txt" --top 8 \
  > "$tmp/terms.tsv" || fail "mine-terms"
[ "$(tail -n +2 "$tmp/terms.tsv" | wc -l)" -eq 8 ] || fail "expected 8 mined terms: $(cat "$tmp/terms.tsv")"
"$LOOM" adapt extend --model "$tmp/base" --terms "$tmp/terms.tsv" --output "$tmp/ext" \
  > "$tmp/extend.txt" || fail "adapt extend"
sha=$(awk '/original embedding rows sha256/ { print $NF }' "$tmp/extend.txt")
[ ${#sha} -eq 64 ] || fail "no sha256 from adapt extend: $(cat "$tmp/extend.txt")"
grep -q '"bos_token": "<|endoftext|>"' "$tmp/base/tokenizer_config.json" ||
  fail "train did not carry tokenizer_config.json along with tokenizer.json"
tail -n +2 "$tmp/fold.txt" | head -20 > "$tmp/held.txt"
"$LOOM" adapt drift --model "$tmp/base" --terms "$tmp/terms.tsv" --general "$tmp/wiki.txt" \
  --heldout "$tmp/held.txt" --max-lines 10 --init mean > "$tmp/drift.txt" || fail "adapt drift"
grep -q '^mean' "$tmp/drift.txt" || fail "no drift row for mean: $(cat "$tmp/drift.txt")"
id=512
while IFS=$'\t' read -r term _; do
  got=$("$LOOM" tokenize --tokenizer "$tmp/ext/tokenizer.json" --ids <<< "$term")
  [ "$got" = "$id" ] || fail "term '$term': expected the single new token $id, got '$got'"
  id=$((id + 1))
done < <(tail -n +2 "$tmp/terms.tsv" | cut -f1)
"$LOOM" train --init "$tmp/ext" --text "$tmp/fold.txt" --heldout-every 10 --train new-embeddings \
  --seq 64 --batch 8 --steps 10 --lr 1e-2 --warmup 1 --eval-every 10 --eval-batches 2 --sample 0 \
  --threads 2 --out "$tmp/adapted" --json > "$tmp/run.json" || fail "train new-embeddings"
num() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
[ "$(num "$tmp/run.json" original_rows_sha256_before)" = "$sha" ] || fail "sha256 before differs from extend's"
[ "$(num "$tmp/run.json" original_rows_sha256_after)" = "$sha" ] || fail "original rows changed"
"$LOOM" adapt report --base "$tmp/base" --adapted "$tmp/adapted" --heldout "$tmp/held.txt" \
  --general "$tmp/wiki.txt" --max-lines 10 > "$tmp/report.txt" || fail "adapt report"
grep -q "$sha" "$tmp/report.txt" || fail "report does not show the original rows' sha256"
/usr/bin/python3 - "$tmp/ext/model.safetensors" "$tmp/adapted/model.safetensors" <<'PY' || fail "rows check"
import json, struct, sys
import numpy as np
def tensors(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return raw, n, json.loads(raw[8:8 + n])
def emb(p):
    raw, n, h = tensors(p)
    heads = [k for k in h if k.endswith("lm_head.weight")]
    assert not heads, f"{p}: the tied head was written as {heads}"
    v = h["wte.weight"] if "wte.weight" in h else h["transformer.wte.weight"]
    a, b = v["data_offsets"]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"])
old, new = emb(sys.argv[1]), emb(sys.argv[2])
assert old.shape == (520, 32) == new.shape, old.shape
assert np.array_equal(old[:512], new[:512]), "an original row changed"
moved = int((np.abs(old[512:] - new[512:]).max(axis=1) > 0).sum())
assert moved == 8, f"{moved} of 8 new rows moved"
PY
"$LOOM" generate --model "$tmp/adapted" --prompt "A compiler is" --steps 8 --temperature 0 \
  > /dev/null 2>&1 || fail "loom generate could not load the adapted GPT-2"
echo "cli adapt_gpt2_bpe: ok (original rows sha256 $sha unchanged, 8 of 8 new rows moved)"
