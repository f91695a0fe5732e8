#!/usr/bin/env bash
# `loom eval retrieval --retriever dense|hybrid` on a tiny BEIR set whose vectors are built so the
# answer is known: query i's vector equals document i's, so dense retrieval is perfect (nDCG@10 1),
# while the query text matches nothing for BM25; hybrid (RRF) must still rank the right document
# first. Row-count mismatches fail with a clear message.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/qrels"
/usr/bin/python3 - "$tmp" <<'PY' || fail "python3/numpy unavailable"
import json, sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
docs = rng.standard_normal((40, 16)).astype('<f4')
with open(f"{d}/corpus.jsonl", "w") as f:
    for i in range(40):
        f.write(json.dumps({"_id": f"doc{i}", "title": "", "text": f"alpha beta word{i}"}) + "\n")
with open(f"{d}/queries.jsonl", "w") as f:
    for i in range(5):
        f.write(json.dumps({"_id": f"q{i}", "text": f"zzz{i}"}) + "\n")
with open(f"{d}/qrels/test.tsv", "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for i in range(5):
        f.write(f"q{i}\tdoc{7 * i}\t1\n")
np.save(f"{d}/docs.npy", docs)
np.save(f"{d}/queries.npy", docs[[0, 7, 14, 21, 28]])
np.save(f"{d}/short.npy", docs[:3])
PY
for kind in flat hnsw vamana; do
  out=$("$LOOM" eval retrieval --data "$tmp" --retriever dense --doc-vectors "$tmp/docs.npy" \
        --query-vectors "$tmp/queries.npy" --index-type $kind --json) || fail "dense $kind"
  grep -q '"NDCG@10": 1.000000' <<<"$out" || fail "dense $kind should be perfect: $out"
done
out=$("$LOOM" eval retrieval --data "$tmp" --retriever hybrid --doc-vectors "$tmp/docs.npy" \
      --query-vectors "$tmp/queries.npy" --json) || fail "hybrid"
grep -q '"MRR@1": 1.000000' <<<"$out" || fail "hybrid should rank the dense hit first: $out"
err=$("$LOOM" eval retrieval --data "$tmp" --retriever dense --doc-vectors "$tmp/short.npy" \
      --query-vectors "$tmp/queries.npy" 2>&1 >/dev/null) && fail "row mismatch accepted"
grep -q "3 rows for 40 documents" <<<"$err" || fail "mismatch message: $err"
echo "eval dense/hybrid: ok"
