#!/usr/bin/env bash
# `loom generate --prompts FILE`: every line decoded together in one batch gives, line by line,
# the tokens and text of `loom generate --prompt LINE` run alone (greedy); --prefix-cache reuses a
# shared prefix without changing them; a bad line is one error line naming file and line.
set -u
LOOM_DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
fail() { echo "FAIL: $*"; exit 1; }
m="$LOOM_DATA/models/stories260K/stories260K.gguf"
[ -f "$m" ] || fail "missing $m"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
long="Once upon a time, there was a little girl named Lily who loved to play in the park with her"
long="$long friends and her big red ball every day after school. $long friends. $long dog"
printf '%s\n' "Tom had a dog" "" "$long. One day" "Once" "$long. She" >"$tmp/prompts.txt"
"$LOOM" generate --model "$m" --prompts "$tmp/prompts.txt" --temperature 0 --max-tokens 40 \
  >"$tmp/batch.jsonl" 2>"$tmp/err" || fail "batch exited non-zero: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/batch.jsonl")" -eq 4 ] || fail "expected 4 JSON lines: $(cat "$tmp/batch.jsonl")"
grep -q "4 sequences" "$tmp/err" || fail "no aggregate line on stderr: $(cat "$tmp/err")"
i=0
while IFS= read -r p; do
  [ -z "$p" ] && continue
  i=$((i + 1))
  alone=$("$LOOM" generate --model "$m" --prompt "$p" --temperature 0 --max-tokens 40 --steps 0 --json 2>/dev/null)
  got=$(sed -n "${i}p" "$tmp/batch.jsonl")
  /usr/bin/python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); sys.exit(0 if (a["tokens"],a["text"])==(b["tokens"],b["text"]) else 1)' \
    "$alone" "$got" || fail "prompt $i differs alone vs batched: $alone vs $got"
done <"$tmp/prompts.txt"
"$LOOM" generate --model "$m" --prompts "$tmp/prompts.txt" --temperature 0 --max-tokens 40 \
  --prefix-cache 16 >"$tmp/cached.jsonl" 2>"$tmp/err" || fail "cached run exited non-zero"
cmp -s "$tmp/batch.jsonl" "$tmp/cached.jsonl" || fail "--prefix-cache changed the output"
grep -q "reused [1-9][0-9]* of" "$tmp/err" || fail "the shared prefix was not reused: $(cat "$tmp/err")"
printf 'fine\n%s\n' "$(printf ' a%.0s' $(seq 1 3000))" >"$tmp/bad.txt"
err=$("$LOOM" generate --model "$m" --prompts "$tmp/bad.txt" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "bad.txt:2: .*context" <<<"$err" || fail "over-long prompt: rc=$rc $err"
echo ok
