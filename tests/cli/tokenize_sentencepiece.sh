#!/usr/bin/env bash
# `loom tokenize` takes SentencePiece .model and llama2.c .bin files like any other tokenizer:
# ids equal llama2.c's test.c expectations (BOS with --add-special) and the .model/.bin agree.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
tok=$data/tokenizers/llama2
# From expected_encodings.json (llama2.c test.c): "I believe the meaning of life is".
want="1 306 4658 278 6593 310 2834 338"
for f in "$tok/tokenizer.model" "$tok/tokenizer.bin"; do
  got=$(printf 'I believe the meaning of life is\n' | "$LOOM" tokenize --tokenizer "$f" --ids --add-special) || fail "$f exited non-zero"
  [ "$got" = "$want" ] || fail "$f: got '$got', want '$want'"
done
a=$(head -200 "$data/corpora/tinyshakespeare/input.txt" | "$LOOM" tokenize --tokenizer "$tok/tokenizer.model" --ids)
b=$(head -200 "$data/corpora/tinyshakespeare/input.txt" | "$LOOM" tokenize --tokenizer "$tok/tokenizer.bin" --ids)
[ "$a" = "$b" ] || fail ".model and .bin disagree"
[ "$(wc -l <<<"$a")" -eq 200 ] || fail "expected one line of ids per input line"
"$LOOM" tokenizer info --tokenizer "$data/models/stories260K/tok512.model" | grep -q "SentencePiece BPE" || fail "info"
err=$(printf 'x\n' | "$LOOM" tokenize --tokenizer /dev/null/none.model --ids 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "missing file: rc=$rc err=$err"
echo "cli tokenize sentencepiece: ok"
