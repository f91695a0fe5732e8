#!/usr/bin/env bash
# A Unigram tokenizer.json (model Unigram, normalizer Precompiled + Strip + Replace, Metaspace):
# tests/reference/text/sp_unigram1k.tokenizer.json, converted from spm_train's sp_unigram1k.model by
# tests/reference/text/sp_unigram_json.py as HF's SpmConverter does. On every line of every corpus,
# `loom tokenize` gives the ids Hugging Face tokenizers gives on the same file (goldens
# hf_goldens/unigram1k__*.json); the file saved back by Loom gives them too.
set -u
fail() { echo "FAIL: $*"; exit 1; }
DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
REF=$LOOM_SOURCE_DIR/tests/reference/text
GOLD=$REF/hf_goldens
TOK=$REF/sp_unigram1k.tokenizer.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check_golden() {  # ids_file golden_json
  /usr/bin/python3 - "$1" "$2" <<'PY' || exit 1
import json, os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
ids = [[int(x) for x in l.split()] for l in open(sys.argv[1]).read().split("\n")[:-1]]
g = load_golden(sys.argv[2])
assert len(ids) == g["lines"], f"{len(ids)} output lines, golden has {g['lines']}"
for i, want in enumerate(g["first_ids"]):
    assert ids[i] == want, f"line {i+1}: {ids[i][:20]} != {want[:20]}"
B = g["block_lines"]
bad = []
for b, digest in enumerate(g["blocks"]):
    h = 0xcbf29ce484222325
    for line in ids[b * B:(b + 1) * B]:
        for w in line + [0xffffffff]:
            for k in range(4):
                h = ((h ^ ((w >> (8 * k)) & 0xff)) * 0x100000001b3) & 0xffffffffffffffff
    if f"{h:016x}" != digest:
        bad.append(b)
assert not bad, f"blocks {bad[:10]} (of {len(g['blocks'])}, {B} lines each) differ from the golden"
print(f"  {sys.argv[2].split('/')[-1]}: {len(ids)} lines, {sum(map(len, ids))} tokens identical")
PY
}

info=$("$LOOM" tokenizer info --tokenizer "$TOK") || fail "info failed"
grep -q "Unigram" <<<"$info" || fail "info does not say Unigram: $info"
# Loom's own save of the file (a no-op add-tokens) must encode the same.
printf '[s]\n' > "$tmp/none.txt"
"$LOOM" tokenizer add-tokens --tokenizer "$TOK" --tokens "$tmp/none.txt" --output "$tmp/saved.json" \
  >/dev/null || fail "save failed"
grep -q '"Precompiled"' "$tmp/saved.json" || fail "saved file lost the Precompiled normalizer"
grep -q '"Unigram"' "$tmp/saved.json" || fail "saved file lost the Unigram model"
for g in "$GOLD"/unigram1k__*.json; do
  rel=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['corpus'])" "$g")
  # HF reads the file as UTF-8 with U+FFFD for invalid bytes (lee.cor is Latin-1): do the same.
  /usr/bin/python3 -c "import sys; sys.stdout.buffer.write(open(sys.argv[1],'rb').read().decode('utf-8','replace').encode())" \
    "$DATA/$rel" > "$tmp/in.txt"
  "$LOOM" tokenize --tokenizer "$TOK" --ids < "$tmp/in.txt" > "$tmp/ids" || fail "tokenize $rel"
  check_golden "$tmp/ids" "$g"
done
# The saved copy: one corpus with added "[s]" absent from it.
"$LOOM" tokenize --tokenizer "$tmp/saved.json" --ids < "$DATA/corpora/tinyshakespeare/input.txt" \
  > "$tmp/ids" || fail "tokenize with the saved file"
check_golden "$tmp/ids" "$GOLD/unigram1k__tinyshakespeare.json"
echo "Unigram tokenizer.json vs Hugging Face: ok"
