#!/usr/bin/env bash
# `loom rag knn-lm` on the TinyStories sample split by story (datastore 3, valid 1, test 1): the
# lambda chosen on the valid story is above 0 and lowers its perplexity; a fixed --lambda 0 gives
# the LM's own perplexity on both columns; bad flags and files are one line.
set -u
LOOM_DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
fail() { echo "FAIL: $*"; exit 1; }
d="$LOOM_DATA/models/stories260K"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$LOOM_DATA/corpora/tinystories/tinystories_sample.txt" "$tmp" <<'PY'
import sys
stories = [s.strip() for s in open(sys.argv[1]).read().split("<|endoftext|>") if s.strip()]
for name, part in (("ds", stories[:3]), ("valid", stories[3:4]), ("test", stories[4:])):
    open(f"{sys.argv[2]}/{name}.txt", "w").write("\n".join(part))
PY
run() { "$LOOM" rag knn-lm --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --datastore "$tmp/ds.txt" --valid "$tmp/valid.txt" --text "$tmp/test.txt" --k 16 --temperature 10 --json "$@" 2>/dev/null; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
out=$(run) || fail "knn-lm exited non-zero"
awk -v l="$(field "$out" lambda)" -v a="$(field "$out" valid_ppl_knn)" -v b="$(field "$out" valid_ppl_lm)" 'BEGIN { exit !(l > 0 && a < b) }' || fail "no gain on the valid story: $out"
[ "$(field "$out" datastore)" -gt 500 ] || fail "datastore too small: $out"
zero=$(run --lambda 0 --index hnsw) || fail "--lambda 0 exited non-zero"
[ "$(field "$zero" ppl_lm)" = "$(field "$zero" ppl_knn)" ] || fail "--lambda 0 changed the perplexity: $zero"
[ "$(field "$zero" ppl_lm)" = "$(field "$out" ppl_lm)" ] || fail "the LM column depends on the index: $zero vs $out"
err=$(run --k 0 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -le 1 ] || fail "--k 0: rc=$rc $err"
err=$("$LOOM" rag knn-lm --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --datastore "$tmp/nope.txt" --valid "$tmp/valid.txt" --text "$tmp/test.txt" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "nope.txt" <<<"$err" || fail "missing datastore: rc=$rc $err"
echo "rag knn-lm: ok ($(field "$out" valid_ppl_lm) -> $(field "$out" valid_ppl_knn) at lambda $(field "$out" lambda))"
