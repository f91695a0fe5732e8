#!/usr/bin/env bash
# `loom tokenize` truncation / padding flags give Hugging Face's ids (goldens from
# tests/reference/text/hf_trunc_pad_golden.js, where the same settings sit in BERT's tokenizer.json),
# and bad flags fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
GOLD=$LOOM_SOURCE_DIR/tests/reference/text/hf_goldens/truncation_padding.json
BERT=$DATA/tokenizers/bert-base-uncased/tokenizer.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['singles']))" \
  "$GOLD" > "$tmp/in.txt"
check() {  # config_index run_index(0: add_special, 1: none) flags...
  local c=$1 r=$2
  shift 2
  "$LOOM" tokenize --tokenizer "$BERT" --json "$@" < "$tmp/in.txt" > "$tmp/out.jsonl" \
    || fail "tokenize $* exited non-zero"
  /usr/bin/python3 - "$GOLD" "$c" "$r" "$tmp/out.jsonl" "$*" <<'PY' || exit 1
import json, os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
g = load_golden(sys.argv[1])["configs"][int(sys.argv[2])]["runs"][int(sys.argv[3])]["singles"]
got = [json.loads(l) for l in open(sys.argv[4])]
assert len(got) == len(g), f"{len(got)} lines, golden {len(g)}"
for i, (a, b) in enumerate(zip(got, g)):
    assert a["ids"] == b["ids"], f"{sys.argv[5]}: line {i+1}: {a['ids']} != {b['ids']}"
    mask = a.get("attention_mask", [1] * len(a["ids"]))
    assert mask == b["attention_mask"], f"{sys.argv[5]}: line {i+1}: mask {mask} != {b['attention_mask']}"
print(f"  {sys.argv[5]}: {len(g)} lines identical")
PY
}
check 0 0 --add-special --max-length 8
check 1 1 --max-length 8 --truncation-side left --stride 1 --pad
check 2 0 --add-special --max-length 9 --truncation-strategy only_first --pad-to 12 --pad-side left
check 4 0 --add-special --pad-to 5 --pad-to-multiple-of 8
check 5 1 --max-length 3

for bad in "--max-length -1" "--stride 2" "--truncation-strategy middle --max-length 4" \
           "--pad-side up --pad" "--pad-token NOPE --pad" "--max-length 3 --stride 3"; do
  err=$(echo "a b c d e f" | "$LOOM" tokenize --tokenizer "$BERT" $bad 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "'$bad' exited 0"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "'$bad' printed more than one line: $err"
done
echo "tokenize truncation/padding: ok"
