#!/usr/bin/env bash
# `loom wordvec glove`: writes GloVe-text and word2vec files that `loom wordvec` loads, the cost
# falls epoch after epoch, --deterministic gives the same bytes at 1 and 3 threads and with a
# memory budget small enough to spill dozens of runs, and bad input fails with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
ptb="$data/corpora/ptb/ptb.valid.txt"
[ -f "$ptb" ] || fail "missing $ptb"
common=(--corpus "$ptb" --dim 16 --epochs 3 --min-count 3 --window 8)

"$LOOM" wordvec glove --help | grep -q -- "--x-max" || fail "glove --help"
out=$("$LOOM" wordvec glove "${common[@]}" --out "$tmp/g.txt" --format glove --threads 2) \
  || fail "glove train"
grep -q "co-occurring pairs" <<<"$out" || fail "summary: $out"
first=$(head -1 "$tmp/g.txt")
[ "$(wc -w <<<"$first")" -eq 17 ] || fail "GloVe text row is not a word and 16 values: $first"
[ "$(cut -d' ' -f1 <<<"$first")" = "the" ] || fail "first row is not the most frequent word"
n=$("$LOOM" wordvec similar --vectors "$tmp/g.txt" --topn 3 market | wc -l)
[ "$n" -eq 3 ] || fail "similar on GloVe text printed $n lines"

j=$("$LOOM" wordvec glove "${common[@]}" --out "$tmp/g.bin" --json) || fail "glove --json"
/usr/bin/python3 - "$j" <<'PY' || fail "json: $j"
import json, sys
r = json.loads(sys.argv[1])
c = r["epoch_cost"]
assert len(c) == 3 and c[0] > c[1] > c[2] > 0, c
assert r["pairs"] > 100000 and r["runs_spilled"] == 0, r
PY
head -c 20 "$tmp/g.bin" | head -1 | grep -Eq '^[0-9]+ 16$' || fail "binary header"

for t in 1 3; do
  "$LOOM" wordvec glove "${common[@]}" --out "$tmp/d$t.bin" --deterministic --threads $t \
    >/dev/null || fail "deterministic $t"
done
cmp -s "$tmp/d1.bin" "$tmp/d3.bin" || fail "--deterministic differs between 1 and 3 threads"
mkdir "$tmp/runs"
j=$("$LOOM" wordvec glove "${common[@]}" --out "$tmp/s.bin" --deterministic --threads 2 \
    --memory-mb 0.5 --temp-dir "$tmp/runs" --json) || fail "small budget"
grep -Eq '"runs_spilled": [1-9][0-9]+' <<<"$j" || fail "no runs spilled: $j"
cmp -s "$tmp/d1.bin" "$tmp/s.bin" || fail "spilled counts trained differently"
[ -z "$(ls -A "$tmp/runs")" ] || fail "run files left behind"

one_line() {  # $1: what, $2: expected text, then the command
  local what=$1 want=$2; shift 2
  local err
  err=$("$@" 2>&1 >/dev/null) && fail "$what accepted"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: more than one error line: $err"
  grep -q -- "$want" <<<"$err" || fail "$what message: $err"
}
: > "$tmp/empty.txt"
one_line "empty corpus" "the corpus has no words" \
  "$LOOM" wordvec glove --corpus "$tmp/empty.txt" --out "$tmp/e.bin"
[ ! -e "$tmp/e.bin" ] || fail "a file was written for an empty corpus"
one_line "min count" "no word occurs min_count=100000 times" \
  "$LOOM" wordvec glove --corpus "$ptb" --out "$tmp/e.bin" --min-count 100000
one_line "temp dir" "cannot create a run file in '$tmp/missing'" \
  "$LOOM" wordvec glove "${common[@]}" --out "$tmp/e.bin" --memory-mb 0.1 --temp-dir "$tmp/missing"
one_line "x-max" "x_max must be > 0" "$LOOM" wordvec glove "${common[@]}" --out "$tmp/e.bin" --x-max 0
echo "wordvec glove cli: ok"
