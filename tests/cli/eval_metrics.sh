#!/usr/bin/env bash
# `loom eval metrics` on the hand-checked case (tests/reference/retrieval/metrics, derivation in
# tests/retrieval/metrics_test.cpp), TREC and BEIR qrels alike; bad files fail with file:line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
R="$LOOM_SOURCE_DIR/tests/reference/retrieval/metrics"
for q in qrels.trec qrels.tsv; do
  out=$("$LOOM" eval metrics --qrels "$R/$q" --run "$R/run.trec" --cutoffs 1,3,5,10) || fail "exit status ($q)"
  diff <(echo "$out") "$R/expected.tsv" || fail "values differ from the hand-checked reference ($q)"
done
"$LOOM" eval metrics --qrels "$R/qrels.tsv" --run "$R/run.trec" --json | grep -q '"ndcg_cut_10": 0.4656873' \
  || fail "--json"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'q1 Q0 d1 1 1.0 t\nq1 Q0 d1 2 0.5 t\n' > "$tmp/dup.trec"
err=$("$LOOM" eval metrics --qrels "$R/qrels.trec" --run "$tmp/dup.trec" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "duplicate document accepted"
grep -q "dup.trec:2" <<<"$err" || fail "error does not name file:line: $err"
echo "eval metrics: ok"
