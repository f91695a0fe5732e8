#!/usr/bin/env bash
# `loom adapt mine-terms` on FOLDOC with stories260K's tokenizer: computing terms that the
# 512-piece vocabulary fragments, ranked by tokens saved, none already a single token.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
out=$("$LOOM" adapt mine-terms --tokenizer "$data/models/stories260K/tok512.model" \
      --corpus "$data/corpora/foldoc/foldoc.tsv" --top 20 --max-words 1) || fail "exited non-zero"
[ "$(wc -l <<<"$out")" -eq 21 ] || fail "expected a header and 20 terms: $out"
# Scores are freq x (pieces - 1) and descend.
awk -F'\t' 'NR>1 { if ($4 != $2 * ($3 - 1)) { print "bad score: " $0; exit 1 }
                   if (NR>2 && $4 > prev) { print "not sorted: " $0; exit 1 } prev=$4
                   if ($3 < 2) { print "single token: " $0; exit 1 } }' <<<"$out" || fail "score check"
grep -qiE "^(computer|program|language|system|software)" <<<"$(tail -n +2 <<<"$out")" || fail "no computing term in: $out"
"$LOOM" adapt mine-terms --tokenizer "$data/models/stories260K/tok512.model" \
   --corpus "$data/corpora/foldoc/foldoc.tsv" --top 3 --json | grep -q '"pieces"' || fail "--json"
err=$("$LOOM" adapt mine-terms --tokenizer "$data/models/stories260K/tok512.model" --corpus /nonexistent 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "missing corpus: $err"
echo "cli adapt mine-terms: ok"
