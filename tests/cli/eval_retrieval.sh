#!/usr/bin/env bash
# `loom eval retrieval` with BM25 on Cranfield (plain and Porter-stemmed), its run file re-scored by `loom eval metrics`, and
# a malformed JSONL line reported with its line number (stop by default, skip by flag).
set -u
fail() { echo "FAIL: $*"; exit 1; }
D="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}/retrieval/cranfield"
[ -f "$D/corpus.jsonl" ] || fail "missing $D (set LOOM_DATA)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$("$LOOM" eval retrieval --data "$D" --retriever bm25 --run-out "$tmp/run.trec") || fail "bm25 run"
grep -q "^NDCG" <<<"$out" || fail "no NDCG row: $out"
ndcg=$("$LOOM" eval retrieval --data "$D" --json | sed 's/.*"NDCG@10": \([0-9.]*\).*/\1/')
again=$("$LOOM" eval metrics --qrels "$D/qrels/test.tsv" --run "$tmp/run.trec" | awk '$1=="ndcg_cut_10"{print $2}')
[ "$(printf '%.4f' "$ndcg")" = "$again" ] || fail "table nDCG@10 $ndcg vs re-scored run $again"
# Porter stemming with FTS5's k1 1.2, b 0.75 scores Cranfield 0.3681 (unstemmed 0.9/0.4: 0.3276).
stem=$("$LOOM" eval retrieval --data "$D" --stem --k1 1.2 --b 0.75 --json | sed 's/.*"NDCG@10": \([0-9.]*\).*/\1/')
[ "$(printf '%.4f' "$stem")" = 0.3681 ] && [ "$(printf '%.4f' "$ndcg")" = 0.3276 ] ||
  fail "nDCG@10 stemmed $stem, plain $ndcg"
mkdir -p "$tmp/bad/qrels"
cp "$D/queries.jsonl" "$D/qrels/test.tsv" "$tmp/bad/" && mv "$tmp/bad/test.tsv" "$tmp/bad/qrels/"
{ head -n 4 "$D/corpus.jsonl"; echo '{"_id": "broken", "text": '; tail -n +5 "$D/corpus.jsonl"; } > "$tmp/bad/corpus.jsonl"
err=$("$LOOM" eval retrieval --data "$tmp/bad" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "malformed line accepted"
grep -q "corpus.jsonl:5: malformed JSON" <<<"$err" || fail "error lacks line number: $err"
"$LOOM" eval retrieval --data "$tmp/bad" --skip-bad-lines 2>"$tmp/err" >/dev/null || fail "--skip-bad-lines"
grep -q "corpus.jsonl:5" "$tmp/err" || fail "skipped line not reported"
echo "eval retrieval: ok"
