#!/usr/bin/env bash
# `loom serve --db` POST /v1/search over a document store built with `loom collection`: 30 FOLDOC
# entries embedded with stories260K. For vector, bm25 and hybrid, with and without a `where`
# filter, the ids and scores equal `loom collection search --json` (scores within 1e-6) and the
# metadata is each document's; 8 concurrent searches over two collections each get their own
# answer. Errors: unknown collection 404, bad filter / mode / k 400 naming the field, a server
# without --db 404, and a store whose collection has another embedder is refused at start with
# one line.
set -u
. "$LOOM_SOURCE_DIR/tests/cli/lib/serve.sh"  # fail, $d, $tmp, start_server, post, expect
F="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}/corpora/foldoc/foldoc.tsv"
[ -f "$F" ] || fail "missing $F (set LOOM_DATA)"
E=(--model "$d/stories260K.gguf")
awk -F'\t' 'NR > 1 && $1 ~ /^[A-Za-z][A-Za-z0-9 ]+$/ && length($2) > 80 && n < 30 {
  t = substr($2, 1, 300); gsub(/[^ -~]/, "", t); gsub(/[\\"]/, "", t)
  printf "{\"id\": \"%s\", \"text\": \"%s\", \"metadata\": {\"n\": %d, \"half\": \"%s\"}}\n", $1, t, n, n < 15 ? "a" : "b"
  n++ }' "$F" > "$tmp/docs.jsonl"
[ "$(wc -l < "$tmp/docs.jsonl")" = 30 ] || fail "documents: $(wc -l < "$tmp/docs.jsonl")"
S=(--db "$tmp/s.db" --name foldoc)
"$LOOM" collection create "${S[@]}" "${E[@]}" --chunk sentence >/dev/null 2>&1 || fail "create"
"$LOOM" collection add "${S[@]}" "${E[@]}" --docs "$tmp/docs.jsonl" >/dev/null 2>"$tmp/add.err" ||
  fail "add: $(cat "$tmp/add.err")"
# A second collection in the same store (whole documents, no chunking).
"$LOOM" collection create --db "$tmp/s.db" --name whole "${E[@]}" >/dev/null 2>&1 || fail "create whole"
"$LOOM" collection add --db "$tmp/s.db" --name whole "${E[@]}" --docs "$tmp/docs.jsonl" >/dev/null 2>&1 ||
  fail "add whole"
start_server "$tmp/log" "${E[@]}" --db "$tmp/s.db" --threads 4 || fail "server did not start"
grep -q "/v1/search over .*: foldoc, whole" "$tmp/log" || fail "start line: $(cat "$tmp/log")"

# same MODE WHERE: /v1/search and `loom collection search` agree on ids, order and scores.
q="a programming language for the computer"
same() {
  local mode=$1 where=$2 body r
  local w=(); [ "$where" != null ] && w=(--where "$where")
  "$LOOM" collection search "${S[@]}" "${E[@]}" --mode "$mode" --query "$q" --k 5 --json "${w[@]}" \
    > "$tmp/cli.json" 2>/dev/null || fail "collection search $mode"
  body="{\"collection\": \"foldoc\", \"query\": \"$q\", \"k\": 5, \"mode\": \"$mode\", \"where\": $where}"
  r=$(post /v1/search "$body")
  [ "$(tail -n1 <<<"$r")" = 200 ] || fail "$mode $where: $r"
  head -n -1 <<<"$r" > "$tmp/srv.json"
  /usr/bin/python3 - "$tmp/cli.json" "$tmp/srv.json" "$tmp/docs.jsonl" "$mode" "$where" <<'PY' || fail "$mode $where differ"
import json, sys
cli, srv = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
meta = {json.loads(l)["id"]: json.loads(l)["metadata"] for l in open(sys.argv[3])}
got = srv["data"]
assert srv["object"] == "list" and srv["model"] == "stories260K.gguf", srv
assert len(cli) >= 1 and [h["id"] for h in got] == [h["id"] for h in cli], (cli, got)
for c, g in zip(cli, got):
    assert abs(c["score"] - g["score"]) <= 1e-6 * max(1, abs(c["score"])), (c, g)
    assert c["text"] == g["text"] and c["chunk"] == g["chunk"] and g["metadata"] == meta[g["id"]], (c, g)
if sys.argv[5] != "null":
    assert all(g["metadata"]["half"] == "b" and g["metadata"]["n"] >= 20 for g in got), got
print(sys.argv[4], sys.argv[5], len(got), "hits, top", got[0]["id"], "%.6g" % got[0]["score"], file=sys.stderr)
PY
}
for mode in vector bm25 hybrid; do
  same $mode null
  same $mode '{"half": "b", "n": {"$gte": 20}}'
done

# 8 concurrent searches (4 workers) over both collections each get the answer a lone one gets.
body() { echo "{\"collection\": \"$1\", \"query\": \"network protocol\", \"k\": 3, \"mode\": \"hybrid\"}"; }
for c in foldoc whole; do post /v1/search "$(body $c)" | head -n -1 > "$tmp/want.$c"; done
cmp -s "$tmp/want.foldoc" "$tmp/want.whole" && fail "the two collections answer alike"
pids=()
for i in $(seq 1 8); do
  c=$([ $((i % 2)) = 0 ] && echo foldoc || echo whole)
  post /v1/search "$(body $c)" | head -n -1 > "$tmp/par.$i.$c" & pids+=($!)
done
wait "${pids[@]}"
for f in "$tmp"/par.*; do cmp -s "$f" "$tmp/want.${f##*.}" || fail "concurrent search ${f##*/}: $(cat "$f")"; done

expect 404 collection_not_found "$(post /v1/search '{"collection": "nope", "query": "x"}')"
expect 400 where "$(post /v1/search '{"collection": "foldoc", "query": "x", "where": {"year": 1}}')"
expect 400 where "$(post /v1/search '{"collection": "foldoc", "query": "x", "where": {"n": "ten"}}')"
expect 400 where "$(post /v1/search '{"collection": "foldoc", "query": "x", "where": {"n": {"$near": 1}}}')"
expect 400 mode "$(post /v1/search '{"collection": "foldoc", "query": "x", "mode": "dense"}')"
expect 400 k "$(post /v1/search '{"collection": "foldoc", "query": "x", "k": 0}')"
expect 400 k "$(post /v1/search '{"collection": "foldoc", "query": "x", "k": 100000}')"
expect 400 query "$(post /v1/search '{"collection": "foldoc"}')"
expect 404 model_not_found "$(post /v1/search '{"collection": "foldoc", "query": "x", "model": "gpt-4"}')"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""

# No --db: the path answers 404 with a message.
start_server "$tmp/log2" "${E[@]}" || fail "server without --db did not start"
expect 404 no_document_store "$(post /v1/search '{"collection": "foldoc", "query": "x"}')"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""

# A collection built with another tokenizer: refused at start, one line naming it, rc != 0.
T=(--db "$tmp/t.db" --name tok)
"$LOOM" collection create "${T[@]}" "${E[@]}" --tokenizer "$d/tok512.model" >/dev/null 2>&1 || fail "create tok"
err=$(timeout 20 "$LOOM" serve "${E[@]}" --db "$tmp/t.db" --port 0 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "collection 'tok'" <<<"$err" ||
  fail "mismatched embedder: rc=$rc $err"
err=$(timeout 20 "$LOOM" serve "${E[@]}" --db "$tmp/none.db" --port 0 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "missing store: rc=$rc $err"
echo "serve_search: ok"
