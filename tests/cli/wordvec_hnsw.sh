#!/usr/bin/env bash
# `loom wordvec similar --index hnsw`: neighbours by cosine through loom::index's HNSW agree with
# the exact scan on vectors trained from real text (PTB's validation split): recall@10 over 300
# query words >= 0.95 (measured 1.0; a deliberately weak graph, --m 4 --ef-construction 8 --ef 10,
# measured 0.81), the cosines of the words both return equal, and bad flags fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
ptb="$data/corpora/ptb/ptb.valid.txt"
[ -f "$ptb" ] || fail "missing $ptb"
"$LOOM" wordvec train --corpus "$ptb" --out "$tmp/v.txt" --dim 32 --epochs 3 --min-count 3 \
  --threads 2 >/dev/null || fail "train"
sed -n '2,301p' "$tmp/v.txt" | cut -d' ' -f1 > "$tmp/q.txt"
"$LOOM" wordvec similar --vectors "$tmp/v.txt" --queries "$tmp/q.txt" --topn 10 --json \
  > "$tmp/flat.json" || fail "flat search"
"$LOOM" wordvec similar --vectors "$tmp/v.txt" --queries "$tmp/q.txt" --topn 10 --json \
  --index hnsw --threads 2 > "$tmp/hnsw.json" || fail "hnsw search"
python3 - "$tmp/flat.json" "$tmp/hnsw.json" <<'PY' || fail "hnsw against the exact scan"
import json, sys
flat = [json.loads(l) for l in open(sys.argv[1])]
hnsw = [json.loads(l) for l in open(sys.argv[2])]
assert len(flat) == len(hnsw) == 300, (len(flat), len(hnsw))
hits = 0
for f, h in zip(flat, hnsw):
    assert f["query"] == h["query"] and len(h["neighbours"]) == 10, h
    exact = {n["word"]: n["cosine"] for n in f["neighbours"]}
    for n in h["neighbours"]:
        assert n["word"] != h["query"], h  # the query word is left out
        if n["word"] in exact:
            hits += 1
            assert abs(n["cosine"] - exact[n["word"]]) < 1e-5, (n, exact[n["word"]])
recall = hits / 3000
print("recall@10", recall)
assert recall >= 0.95, recall
PY
one=$("$LOOM" wordvec similar --vectors "$tmp/v.txt" --index hnsw company | head -1)
[[ "$one" == *$'\t'0.* ]] || fail "one query: $one"
for bad in "--index ivf company" "--index hnsw --m 1 company" "--queries $tmp/q.txt company"; do
  err=$("$LOOM" wordvec similar --vectors "$tmp/v.txt" $bad 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "exited 0: $bad"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "more than one line for $bad: $err"
done
printf 'company\n\nzzzq-not-a-word\n' > "$tmp/bad.txt"
err=$("$LOOM" wordvec similar --vectors "$tmp/v.txt" --queries "$tmp/bad.txt" --index hnsw 2>&1 >/dev/null)
grep -q "bad.txt: line 3: word 'zzzq-not-a-word'" <<<"$err" || fail "bad query line: $err"
echo "wordvec hnsw: ok"
