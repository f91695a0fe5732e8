#!/usr/bin/env bash
# `loom collection` on 40 Cranfield documents with the stories260K embedder: create, add (JSONL
# with metadata), vector/BM25/hybrid search with and without a filter, upsert, delete, info with
# its integrity check; bad input (malformed JSONL line, unknown filter field, wrong filter type,
# another embedder, a newer store format, a too large document) is one line and loses nothing.
set -u
fail() { echo "FAIL: $*"; exit 1; }
D="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
M="$D/models/stories260K"
C="$D/retrieval/cranfield/corpus.jsonl"
[ -f "$M/stories260K.bin" ] && [ -f "$C" ] || fail "missing data under $D (set LOOM_DATA)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
E=(--model "$M/stories260K.bin" --tokenizer "$M/tok512.model")
head -n 40 "$C" | /usr/bin/python3 -c '
import json, sys
for i, line in enumerate(sys.stdin):
    d = json.loads(line)
    print(json.dumps({"id": d["_id"], "title": d["title"], "text": d["text"],
                      "metadata": {"n": i, "part": "a" if i < 20 else "b"}}))
' > "$tmp/docs.jsonl" || fail "python3"
S=(--db "$tmp/s.db" --name cran)
"$LOOM" collection create "${S[@]}" "${E[@]}" --chunk sentence --max-doc-bytes 4000 \
  >/dev/null 2>&1 || fail "create"
"$LOOM" collection add "${S[@]}" "${E[@]}" --docs "$tmp/docs.jsonl" --batch 16 \
  >"$tmp/add.out" 2>"$tmp/add.err" || fail "add: $(cat "$tmp/add.err")"
grep -q "committed 40 of 40 documents" "$tmp/add.err" || fail "acks: $(cat "$tmp/add.err")"
"$LOOM" collection info "${S[@]}" --json > "$tmp/info.json" || fail "info"
grep -q '"documents": 40' "$tmp/info.json" && grep -q '"integrity": "ok"' "$tmp/info.json" ||
  fail "info: $(cat "$tmp/info.json")"
# BM25 finds the document that holds a rare exact phrase; the filter keeps it out.
id=$(head -n 7 "$tmp/docs.jsonl" | tail -n 1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
q="$(head -n 7 "$tmp/docs.jsonl" | tail -n 1 | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["text"].split()[:12]))')"
"$LOOM" collection search "${S[@]}" --mode bm25 --query "$q" --k 1 > "$tmp/bm25.out" || fail "bm25"
[ "$(cut -f2 "$tmp/bm25.out")" = "$id" ] || fail "bm25 top hit $(cat "$tmp/bm25.out"), want $id"
for mode in vector hybrid; do
  "$LOOM" collection search "${S[@]}" "${E[@]}" --mode $mode --query "$q" --k 5 --json \
    --where '{"part": {"$in": ["b"]}, "n": {"$gte": 25}}' > "$tmp/$mode.json" 2>/dev/null || fail "$mode"
  /usr/bin/python3 - "$tmp/$mode.json" "$tmp/docs.jsonl" <<'PY' || fail "$mode filter: $(cat "$tmp/$mode.json")"
import json, sys
hits = json.load(open(sys.argv[1]))
n = {json.loads(l)["id"]: json.loads(l)["metadata"]["n"] for l in open(sys.argv[2])}
assert len(hits) == 5, hits
assert all(n[h["id"]] >= 25 for h in hits), hits
PY
done
# Upsert replaces; delete removes and keeps the store sound.
echo "{\"id\": \"$id\", \"text\": \"zyzzyva quokka\", \"metadata\": {\"n\": 6, \"part\": \"a\"}}" > "$tmp/up.jsonl"
"$LOOM" collection add "${S[@]}" "${E[@]}" --docs "$tmp/up.jsonl" >/dev/null 2>&1 || fail "upsert"
"$LOOM" collection search "${S[@]}" --mode bm25 --query "zyzzyva" > "$tmp/up.out" || fail "search"
[ "$(cut -f2 "$tmp/up.out")" = "$id" ] || fail "upsert: $(cat "$tmp/up.out")"
"$LOOM" collection search "${S[@]}" --mode bm25 --query "$q" --k 40 | cut -f2 | grep -qx "$id" &&
  fail "the replaced text still matches"
"$LOOM" collection delete "${S[@]}" --ids "$id,nope" > "$tmp/del.out" || fail "delete"
grep -q "deleted 1 of 2" "$tmp/del.out" || fail "delete: $(cat "$tmp/del.out")"
"$LOOM" collection info "${S[@]}" > "$tmp/info.txt" || fail "info after delete"
grep -q "^documents	39" "$tmp/info.txt" && grep -q "^integrity	ok" "$tmp/info.txt" || fail "$(cat "$tmp/info.txt")"
# Token windows (32 tokens of tok512, 8 shared) give more chunks than documents.
T=(--db "$tmp/s.db" --name tok)
"$LOOM" collection create "${T[@]}" "${E[@]}" --chunk tokens --chunk-tokens 32 --chunk-overlap 8 \
  >/dev/null 2>&1 || fail "create tokens"
head -n 5 "$tmp/docs.jsonl" > "$tmp/five.jsonl"
"$LOOM" collection add "${T[@]}" "${E[@]}" --docs "$tmp/five.jsonl" >/dev/null 2>&1 || fail "add tokens"
"$LOOM" collection info "${T[@]}" --json > "$tmp/tok.json" || fail "info tokens"
/usr/bin/python3 -c 'import json,sys; i = json.load(open(sys.argv[1])); assert i["documents"] == 5 and i["chunks"] > 10 and i["integrity"] == "ok", i' "$tmp/tok.json" || fail "token chunks: $(cat "$tmp/tok.json")"
# BM25 settings are recorded at creation: a Porter-stemmed collection (k1 1.2, b 0.75) finds
# "slipstreaming" in document 1 ("slipstream"); the unstemmed one finds nothing.
B=(--db "$tmp/s.db" --name stem)
"$LOOM" collection create "${B[@]}" "${E[@]}" --stem --bm25-k1 1.2 --bm25-b 0.75 \
  >/dev/null 2>&1 || fail "create stem"
"$LOOM" collection add "${B[@]}" "${E[@]}" --docs "$tmp/five.jsonl" >/dev/null 2>&1 || fail "add stem"
"$LOOM" collection info "${B[@]}" | grep -qx "bm25	k1=1.2 b=0.75 stopwords=no stem=yes" ||
  fail "bm25 settings: $("$LOOM" collection info "${B[@]}")"
[ "$("$LOOM" collection search "${B[@]}" --mode bm25 --query slipstreaming --k 1 | cut -f2)" = 1 ] ||
  fail "stemmed search"
[ -z "$("$LOOM" collection search "${T[@]}" --mode bm25 --query slipstreaming)" ] ||
  fail "unstemmed search matched"
# Bad input: one line on stderr, exit code non-zero, nothing lost.
expect_error() {  # pattern, command...
  local pat="$1"; shift
  "$@" >/dev/null 2>"$tmp/err" && fail "no error for: $*"
  # (the embedder's one informational line may come first)
  [ "$(grep -c "error" "$tmp/err")" -eq 1 ] || fail "not one error line: $(cat "$tmp/err")"
  grep "error" "$tmp/err" | grep -q -- "$pat" || fail "expected '$pat', got: $(cat "$tmp/err")"
}
printf '{"id": "x1", "text": "fine"}\n{"id": "x2", "text": \n' > "$tmp/bad.jsonl"
expect_error "bad.jsonl:2" "$LOOM" collection add "${S[@]}" "${E[@]}" --docs "$tmp/bad.jsonl"
expect_error "unknown field 'year'" "$LOOM" collection search "${S[@]}" --mode bm25 --query x --where '{"year": 1}'
expect_error "'n' holds number" "$LOOM" collection search "${S[@]}" --mode bm25 --query x --where '{"n": "3"}'
expect_error "was built with embedder" "$LOOM" collection add "${S[@]}" "${E[@]}" --dims 16 --docs "$tmp/up.jsonl"
"$LOOM" collection create --db "$tmp/s.db" --name badb "${E[@]}" --bm25-b 2 >/dev/null 2>"$tmp/err" &&
  fail "--bm25-b 2 accepted"
grep -q -- "--bm25-b: expected k1 >= 0, 0 <= b <= 1" "$tmp/err" || fail "bm25-b: $(cat "$tmp/err")"
/usr/bin/python3 -c 'import json; print(json.dumps({"id": "big", "text": "x " * 3000}))' > "$tmp/big.jsonl"
expect_error "document 'big': 6000 bytes, more than the chunker's limit of 4000" \
  "$LOOM" collection add "${S[@]}" "${E[@]}" --docs "$tmp/big.jsonl"
"$LOOM" collection info "${S[@]}" | grep -q "^documents	39" || fail "bad input changed the store"
/usr/bin/python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE meta SET value=\"7\" WHERE key=\"schema_version\""); c.commit()' "$tmp/s.db"
expect_error "format version 7 is newer" "$LOOM" collection info "${S[@]}"
echo OK
