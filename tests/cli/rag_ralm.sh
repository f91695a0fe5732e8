#!/usr/bin/env bash
# `loom rag ralm` and `loom rag replug` on the TinyStories sample (stories260K): with the stories as
# BM25 documents, the scored story is found and both methods lower its perplexity; the LM column is
# `loom eval ppl` with window = context and the same stride; --datastore passages and REPLUG
# generation run; bad flags and files are one line and a non-zero exit.
set -u
LOOM_DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
fail() { echo "FAIL: $*"; exit 1; }
d="$LOOM_DATA/models/stories260K"
sample="$LOOM_DATA/corpora/tinystories/tinystories_sample.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$sample" "$tmp" <<'PY'
import json, sys
stories = [s.strip() for s in open(sys.argv[1]).read().split("<|endoftext|>") if s.strip()]
with open(f"{sys.argv[2]}/docs.jsonl", "w") as f:
    for i, s in enumerate(stories):
        f.write(json.dumps({"_id": f"s{i}", "text": s}) + "\n")
open(f"{sys.argv[2]}/story.txt", "w").write(stories[2])
PY
m=(--model "$d/stories260K.bin" --tokenizer "$d/tok512.bin")
common=(--docs "$tmp/docs.jsonl" --text "$tmp/story.txt" --stride 8 --query-tokens 16 --context 128 --json)
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
ralm=$("$LOOM" rag ralm "${m[@]}" "${common[@]}" 2>/dev/null) || fail "rag ralm exited non-zero"
less "$(field "$ralm" ppl_rag)" "$(field "$ralm" ppl_lm)" || fail "RALM did not lower the perplexity: $ralm"
[ "$(field "$ralm" augmented)" -gt 0 ] || fail "no stride found a document: $ralm"
replug=$("$LOOM" rag replug "${m[@]}" "${common[@]}" --k 3 --tau 1 2>/dev/null) || fail "rag replug exited non-zero"
less "$(field "$replug" ppl_rag)" "$(field "$replug" ppl_lm)" || fail "REPLUG did not lower the perplexity: $replug"
[ "$(field "$replug" ppl_lm)" = "$(field "$ralm" ppl_lm)" ] || fail "the LM column differs: $ralm vs $replug"
ppl=$("$LOOM" eval ppl "${m[@]}" --text "$tmp/story.txt" --window 128 --stride 8 --json 2>/dev/null) || fail "eval ppl"
awk -v a="$(field "$ppl" perplexity)" -v b="$(field "$ralm" ppl_lm)" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * b) }' ||
  fail "LM column $(field "$ralm" ppl_lm) is not eval ppl's $(field "$ppl" perplexity)"
[ "$(field "$ppl" scored)" = "$(field "$ralm" scored)" ] || fail "token counts differ: $ppl vs $ralm"
ds=$("$LOOM" rag ralm "${m[@]}" --datastore "$sample" --text "$tmp/story.txt" --stride 8 --json 2>/dev/null) ||
  fail "rag ralm --datastore exited non-zero"
[ "$(field "$ds" documents)" -gt 5 ] || fail "--datastore gave too few passages: $ds"
gen=$("$LOOM" rag replug "${m[@]}" --docs "$tmp/docs.jsonl" --generate --prompt "Once upon a time, Ben" \
  --max-new 30 --temperature 0 --k 2 --json 2>/dev/null) || fail "rag replug --generate exited non-zero"
[ "$(field "$gen" tokens)" -gt 0 ] && [ "$(field "$gen" documents)" -ge 1 ] || fail "generation: $gen"
one_line() {  # expect a non-zero exit and one line on stderr (naming $1 when given)
  local want=$1
  shift
  err=$("$LOOM" "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q -- "$want" <<<"$err" ||
    fail "$*: rc=$rc $err"
}
: > "$tmp/empty.txt"
one_line nope.jsonl rag ralm "${m[@]}" --docs "$tmp/nope.jsonl" --text "$tmp/story.txt"
one_line empty.txt rag ralm "${m[@]}" --docs "$tmp/empty.txt" --text "$tmp/story.txt"
one_line "" rag replug "${m[@]}" --docs "$tmp/docs.jsonl" --text "$tmp/story.txt" --k 0
one_line "" rag replug "${m[@]}" --docs "$tmp/docs.jsonl" --text "$tmp/story.txt" --tau 0
one_line "" rag ralm "${m[@]}" --docs "$tmp/docs.jsonl" --text "$tmp/story.txt" --stride 0
one_line "" rag ralm "${m[@]}" --docs "$tmp/docs.jsonl" --text "$tmp/nope.txt"
one_line "" rag ralm "${m[@]}" --docs "$tmp/docs.jsonl" --datastore "$sample" --text "$tmp/story.txt"
echo "rag ralm: ok (LM $(field "$ralm" ppl_lm) -> RALM $(field "$ralm" ppl_rag), REPLUG k=3 $(field "$replug" ppl_rag))"
