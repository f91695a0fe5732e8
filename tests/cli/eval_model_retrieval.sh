#!/usr/bin/env bash
# `loom eval retrieval --model`: dense and hybrid retrieval that embed the corpus and queries
# themselves give exactly the run that precomputed vectors from `loom embed` give (a Cranfield
# subset, short texts to stay fast); the definition task from a two-column TSV keeps held-out
# lines only (every 10th) and names malformed held-out lines.
set -u
fail() { echo "FAIL: $*"; exit 1; }
DATA="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
M="$DATA/models/stories260K"
C="$DATA/retrieval/cranfield"
[ -f "$C/corpus.jsonl" ] && [ -f "$M/stories260K.bin" ] || fail "missing data (set LOOM_DATA)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/sub/qrels"
/usr/bin/python3 - "$C" "$tmp/sub" <<'PY' || fail "python3 unavailable"
import json, sys
src, dst = sys.argv[1], sys.argv[2]
docs = [json.loads(l) for l in open(src + "/corpus.jsonl")][:80]
ids = {d["_id"] for d in docs}
rows = [l.rstrip("\n").split("\t") for l in open(src + "/qrels/test.tsv")][1:]
rows = [r for r in rows if r[1] in ids]
qids = sorted({r[0] for r in rows}, key=int)[:12]
rows = [r for r in rows if r[0] in qids]
with open(dst + "/corpus.jsonl", "w") as f:
    for d in docs: f.write(json.dumps(d) + "\n")
with open(dst + "/queries.jsonl", "w") as f:
    for l in open(src + "/queries.jsonl"):
        if json.loads(l)["_id"] in qids: f.write(l)
with open(dst + "/qrels/test.tsv", "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for r in rows: f.write("\t".join(r) + "\n")
PY
E=(--model "$M/stories260K.bin" --tokenizer "$M/tok512.model" --max-tokens 48 --threads 2)
"$LOOM" embed "${E[@]}" --input "$tmp/sub/corpus.jsonl" --field title,text --output "$tmp/d.npy" 2>/dev/null >/dev/null || fail "embed corpus"
"$LOOM" embed "${E[@]}" --input "$tmp/sub/queries.jsonl" --output "$tmp/q.npy" 2>/dev/null >/dev/null || fail "embed queries"
for r in dense hybrid; do
  a=$("$LOOM" eval retrieval --data "$tmp/sub" --retriever $r "${E[@]}" --run-out "$tmp/a.$r" --json 2>/dev/null) || fail "$r --model"
  b=$("$LOOM" eval retrieval --data "$tmp/sub" --retriever $r --doc-vectors "$tmp/d.npy" \
      --query-vectors "$tmp/q.npy" --run-out "$tmp/b.$r" --json) || fail "$r vectors"
  cmp -s "$tmp/a.$r" "$tmp/b.$r" || fail "$r: --model run differs from the precomputed-vector run"
  grep -q '"queries": 12, "documents": 80' <<<"$a" || fail "$r counts: $a"
  [ "$(sed 's/"seconds": [0-9.]*//' <<<"$a")" = "$(sed 's/"seconds": [0-9.]*//' <<<"$b")" ] || fail "$r tables differ"
done
err=$("$LOOM" eval retrieval --data "$tmp/sub" --retriever dense "${E[@]}" --doc-vectors "$tmp/d.npy" 2>&1) && fail "both sources accepted"
grep -q "either --model or --doc-vectors" <<<"$err" || fail "message: $err"
# Definition task: 35 lines, held out = lines 10, 20, 30; line 25 (not held out) may be malformed.
for i in $(seq 1 35); do
  if [ "$i" = 25 ]; then echo "no tab here"; else printf 'term%d\tthe meaning of term%d is word%d\n' "$i" "$i" "$i"; fi
done > "$tmp/g.tsv"
out=$("$LOOM" eval retrieval --data "$tmp/g.tsv" --json) || fail "definitions bm25"
grep -q '"queries": 3, "documents": 3' <<<"$out" || fail "held-out counts: $out"
grep -q '"NDCG@10": 1.000000' <<<"$out" || fail "bm25 should find each term's definition: $out"
out=$("$LOOM" eval retrieval --data "$tmp/g.tsv" --holdout-every 1 --retriever dense "${E[@]}" --json 2>&1) && fail "malformed line 25 accepted"
grep -q "g.tsv:25: expected term<TAB>definition" <<<"$out" || fail "tsv message: $out"
out=$("$LOOM" eval retrieval --data "$tmp/g.tsv" --holdout-every 1 --skip-bad-lines --retriever dense "${E[@]}" --json 2>/dev/null) || fail "skip"
grep -q '"queries": 34, "documents": 34' <<<"$out" || fail "skip counts: $out"
echo "eval model retrieval: ok"
