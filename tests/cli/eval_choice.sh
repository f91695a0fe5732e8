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
# --retrieve-from: the top BM25 document for the term goes before the context on its own line;
# its samples equal a run whose contexts hold that document already (BM25 must pick "zorblat")
printf '{"context": "zorblat\\t", "choices": ["a kind of tree.", "a small blue bird that sings."], "gold": 1}\n' > "$tmp/z.jsonl"
printf 'zorblat\ta small blue bird that sings.\nother\tsomething else entirely.\n' > "$tmp/docs.txt"
printf '{"context": "zorblat\\ta small blue bird that sings.\\nzorblat\\t", "choices": ["a kind of tree.", "a small blue bird that sings."], "gold": 1}\n' > "$tmp/z2.jsonl"
ec() { "$LOOM" eval choice --model "$M/stories260K.bin" --tokenizer "$M/tok512.model" "$@" >/dev/null; }
ec --items "$tmp/z.jsonl" --retrieve-from "$tmp/docs.txt" --log-samples "$tmp/r.jsonl" || fail "--retrieve-from"
ec --items "$tmp/z2.jsonl" --log-samples "$tmp/r2.jsonl" || fail "--log-samples"
ec --items "$tmp/z.jsonl" --log-samples "$tmp/r0.jsonl" || fail "--log-samples"
cmp -s "$tmp/r.jsonl" "$tmp/r2.jsonl" || fail "retrieval differs from the document written in: $(cat "$tmp/r.jsonl" "$tmp/r2.jsonl")"
cmp -s "$tmp/r.jsonl" "$tmp/r0.jsonl" && fail "retrieval changed nothing"
grep -q '"logliks": \[-[0-9.]*, -[0-9.]*\]' "$tmp/r0.jsonl" || fail "samples: $(cat "$tmp/r0.jsonl")"

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
bad "no.txt" --items "$tmp/items.jsonl" --retrieve-from "$tmp/no.txt"
echo "eval choice: ok"
