#!/usr/bin/env bash
# `loom eval choice` on stories260K: the golden's items (tests/reference/eval/multiple_choice.json,
# lm-evaluation-harness's rules in PyTorch) give its acc and acc_norm; the FOLDOC definition task
# is reproducible for a seed; bad input is one line naming the file and line, exit non-zero.
set -u
fail() { echo "FAIL: $*"; exit 1; }
M="$LOOM_DATA/models/stories260K"
G="$LOOM_SOURCE_DIR/tests/reference/eval/multiple_choice.json"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
want=$(/usr/bin/python3 - "$G" "$tmp/items.jsonl" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
with open(sys.argv[2], "w") as f:
    for c in cases:
        f.write(json.dumps({"context": c["context"], "choices": c["choices"], "gold": c["gold"]}) + "\n")
acc = sum(c["pred"] == c["gold"] for c in cases) / len(cases)
norm = sum(c["pred_norm"] == c["gold"] for c in cases) / len(cases)
print(f'"items": {len(cases)}, "choices": 4, "acc": {acc:.6f}, "acc_stderr"' , end="|")
print(f'"acc_norm": {norm:.6f},')
PY
) || fail "golden"
out=$("$LOOM" eval choice --model "$M/stories260K.bin" --tokenizer "$M/tok512.model" \
  --items "$tmp/items.jsonl" --json) || fail "exit status"
grep -qF "${want%%|*}" <<<"$out" || fail "acc differs from the golden's: $out (want ${want%%|*})"
grep -qF "${want#*|}" <<<"$out" || fail "acc_norm differs from the golden's: $out (want ${want#*|})"

fold="$LOOM_DATA/corpora/foldoc/foldoc.tsv"
run() { "$LOOM" eval choice --model "$M/stories260K.bin" --tokenizer "$M/tok512.model" \
  --definitions "$fold" --holdout-every 10 --limit 12 "$@"; }
a=$(run --seed 3) && b=$(run --seed 3) || fail "definitions exit status"
[ "$a" = "$b" ] || fail "the same seed gave different results"
grep -q $'^items\t12$' <<<"$a" || fail "expected 12 items: $a"

bad() {  # expected-substring, args...
  local want=$1; shift
  err=$("$LOOM" eval choice --model "$M/stories260K.bin" --tokenizer "$M/tok512.model" "$@" 2>&1 >/dev/null)
  [ $? -ne 0 ] || fail "accepted: $*"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "not one line: $err"
  grep -qF -- "$want" <<<"$err" || fail "error '$err' lacks '$want'"
}
printf '{"context": "a", "choices": ["b", "c"], "gold": 0}\n{"context": "a", "choices": ["b", "c"], "gold": 5}\n' > "$tmp/bad.jsonl"
bad "bad.jsonl:2:" --items "$tmp/bad.jsonl"
bad "one of --items" --items "$tmp/items.jsonl" --definitions "$fold"
bad "--choices" --definitions "$fold" --choices 1
printf 'a\tsame\nb\tsame\nc\tother\n' > "$tmp/tiny.tsv"
bad "distinct definitions" --definitions "$tmp/tiny.tsv"
bad "no.tsv" --definitions "$tmp/no.tsv"
echo "eval choice: ok"
