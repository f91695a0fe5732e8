#!/usr/bin/env bash
# `loom tokenize` scripting contract on real data: one line of ids per input line, no special
# tokens unless --add-special, ids identical to the committed Hugging Face goldens
# (tests/reference/text/hf_goldens, written by hf_tokenizers_golden.js). Plus tokenizer info/add-tokens.
set -u
fail() { echo "FAIL: $*"; exit 1; }
DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
GOLD=$LOOM_SOURCE_DIR/tests/reference/text/hf_goldens
TOK=$DATA/tokenizers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Compares ids (one line per document) with a golden's line count, first ids and block digests.
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
for b, digest in enumerate(g["blocks"]):
    h = 0xcbf29ce484222325
    for line in ids[b * B:(b + 1) * B]:
        for w in line + [0xffffffff]:
            for k in range(4):
                h = ((h ^ ((w >> (8 * k)) & 0xff)) * 0x100000001b3) & 0xffffffffffffffff
    assert f"{h:016x}" == digest, f"block {b} (lines {b*B+1}..) differs from the golden"
print(f"  {sys.argv[2].split('/')[-1]}: {len(ids)} lines, {sum(map(len, ids))} tokens identical")
PY
}

"$LOOM" tokenize --tokenizer "$TOK/gpt2/encoder.json" --ids < "$DATA/corpora/ptb/ptb.valid.txt" > "$tmp/a" \
  || fail "tokenize gpt2"
check_golden "$tmp/a" "$GOLD/gpt2__ptb_valid.json" || fail "gpt2 ptb_valid ids differ"
"$LOOM" tokenize --tokenizer "$TOK/llama3/tokenizer.json" --threads 2 < "$DATA/corpora/wikitext-2-raw/wiki.test.raw" > "$tmp/b" \
  || fail "tokenize llama3"
check_golden "$tmp/b" "$GOLD/llama3__wikitext2_test.json" || fail "llama3 wikitext (CRLF lines) ids differ"
"$LOOM" tokenize --tokenizer "$TOK/bert-base-uncased/vocab.txt" --ids < "$DATA/corpora/tinystories/tinystories_sample.txt" > "$tmp/c" \
  || fail "tokenize bert"
check_golden "$tmp/c" "$GOLD/bert__tinystories.json" || fail "bert vocab.txt tinystories ids differ"

# Empty lines stay lines; --add-special wraps each document.
out=$(printf 'Hello world\n\nbye\n' | "$LOOM" tokenize --tokenizer "$TOK/bert-base-uncased/tokenizer.json")
[ "$out" = $'7592 2088\n\n9061' ] || fail "plain ids: $out"
out=$(printf 'Hello world\n\nbye\n' | "$LOOM" tokenize --tokenizer "$TOK/bert-base-uncased/tokenizer.json" --add-special)
[ "$out" = $'101 7592 2088 102\n101 102\n101 9061 102' ] || fail "--add-special: $out"
out=$("$LOOM" tokenize --tokenizer "$TOK/gpt2/encoder.json" --text "Hello world" --pieces)
[ "$out" = "Hello Ġworld" ] || fail "--pieces: $out"
"$LOOM" tokenize --tokenizer "$TOK/gpt2/encoder.json" --text "Hello world" --json | grep -q '"offsets": \[\[0, 5\], \[5, 11\]\]' \
  || fail "--json offsets"

# info and add-tokens: new ids follow the existing ones, survive save + reload.
"$LOOM" tokenizer info --tokenizer "$TOK/gpt2/encoder.json" --json | grep -q '"vocab_size": 50257' || fail "info gpt2"
printf 'loomdomainterm\n<|domain|>\nHello\n' > "$tmp/terms.txt"
"$LOOM" tokenizer add-tokens --tokenizer "$TOK/gpt2/encoder.json" --tokens "$tmp/terms.txt" --output "$tmp/ext.json" >/dev/null \
  || fail "add-tokens"
"$LOOM" tokenizer info --tokenizer "$tmp/ext.json" --json | grep -q '"vocab_size": 50259' || fail "vocab after add-tokens"
out=$("$LOOM" tokenize --tokenizer "$tmp/ext.json" --text "a loomdomainterm <|domain|>")
[ "$out" = "64 220 50257 220 50258" ] || fail "added token ids: $out"
cmp <("$LOOM" tokenize --tokenizer "$tmp/ext.json" < "$DATA/corpora/ptb/ptb.valid.txt") "$tmp/a" \
  || fail "extended tokenizer changed ids of ordinary text"

# Bad input: one line on stderr naming the file, non-zero exit.
printf '{"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}}' > "$tmp/bad.json"
err=$("$LOOM" tokenize --tokenizer "$tmp/bad.json" --text hi 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "bad tokenizer exited 0"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "more than one error line: $err"
grep -q "bad.json: field /model/vocab/a: expected an integer" <<<"$err" || fail "error text: $err"
echo "cli tokenize: ok"
