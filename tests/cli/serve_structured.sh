#!/usr/bin/env bash
# issue #17 over HTTP with stories260K: response_format json_schema / json_object by constrained
# decoding (temperature 1, 36 choices: every choice that stops is JSON valid against its schema,
# by the validator below and Python's jsonschema when installed; a choice cut by max_tokens is
# "length"), unsupported keywords a 400 naming
# them; echo with the prompt's logprobs (first null); logprobs in stream chunks equal to the
# non-streamed ones; /v1/search's ef (as `collection search --ef`) and rrf_k, and a collection
# created after the server started found at its first search.
set -u
. "$LOOM_SOURCE_DIR/tests/cli/lib/serve.sh"  # fail, $d, $tmp, start_server, post, expect
M=(--model "$d/stories260K.gguf")
for i in 1 2 3 4 5 6; do
  echo "{\"id\": \"d$i\", \"text\": \"Lily and Tom played with the ball number $i in the park. The sun was warm.\"}"
done > "$tmp/docs.jsonl"
"$LOOM" collection create --db "$tmp/s.db" --name early "${M[@]}" >/dev/null 2>&1 || fail "create early"
"$LOOM" collection add --db "$tmp/s.db" --name early "${M[@]}" --docs "$tmp/docs.jsonl" >/dev/null 2>&1 ||
  fail "add early"
cat > "$tmp/chat.json" <<'JSON'
{"chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"}
JSON
start_server "$tmp/log" "${M[@]}" --db "$tmp/s.db" --threads 2 --chat-template "$tmp/chat.json" ||
  fail "server did not start"

# completion BODY: the 200 response's JSON (fails on another status).
completion() {
  local r
  r=$(post /v1/completions "$1")
  [ "$(tail -n1 <<<"$r")" = 200 ] || fail "completion: ${r:0:400}"
  head -n -1 <<<"$r"
}
schema='{"type":"object","properties":{"name":{"type":"string","maxLength":16},
  "age":{"type":"integer"},"pets":{"type":"array","items":{"enum":["cat","dog",null]},"maxItems":3},
  "mood":{"anyOf":[{"type":"boolean"},{"type":"number"}]}},
  "required":["name","pets","mood"],"additionalProperties":false}'
rf="{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"kid\", \"strict\": true, \"schema\": $schema}}"
for seed in 1 2 3; do
  completion "{\"prompt\": \"Once upon a time\", \"n\": 8, \"seed\": $seed, \"temperature\": 1, \"max_tokens\": 96, \"response_format\": $rf}"
done > "$tmp/schema.out"
completion '{"prompt": "Lily", "n": 8, "seed": 9, "max_tokens": 64, "response_format": {"type": "json_object"}}' \
  > "$tmp/object.out"
r=$(post /v1/chat/completions "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me\"}], \"n\": 4, \"seed\": 4, \"max_tokens\": 96, \"response_format\": $rf}")
[ "$(tail -n1 <<<"$r")" = 200 ] || fail "chat: ${r:0:400}"
head -n -1 <<<"$r" > "$tmp/chat.out"
/usr/bin/python3 - "$tmp/schema.out" "$tmp/object.out" "$tmp/chat.out" "$schema" <<'PY' || fail "structured outputs"
import json, sys
try:  # Debian's python3-jsonschema when installed; the validator below always
    import jsonschema
except ImportError:
    jsonschema = None

def valid(v, s):  # JSON Schema for the subset the server supports, from the specification
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    def is_type(t):
        if t in ("number", "integer"):
            return isinstance(v, (int, float)) and not isinstance(v, bool) and (t == "number" or float(v).is_integer())
        return isinstance(v, types[t])
    if "anyOf" in s:
        return any(valid(v, a) for a in s["anyOf"])
    if "const" in s and v != s["const"] or "enum" in s and v not in s["enum"]:
        return False
    if "type" in s and not any(is_type(t) for t in (s["type"] if isinstance(s["type"], list) else [s["type"]])):
        return False
    if isinstance(v, str) and not s.get("minLength", 0) <= len(v) <= s.get("maxLength", 1e18):
        return False
    if isinstance(v, list) and (not s.get("minItems", 0) <= len(v) <= s.get("maxItems", 1e18)
                                or any(not valid(x, s.get("items", {})) for x in v)):
        return False
    if isinstance(v, dict):
        props = s.get("properties", {})
        if any(r not in v for r in s.get("required", [])):
            return False
        for k, x in v.items():
            if (not valid(x, props[k])) if k in props else s.get("additionalProperties", True) is False:
                return False
    return True

schema = json.loads(sys.argv[4])
stopped = 0
for path, sch in ((sys.argv[1], schema), (sys.argv[2], {"type": "object"}), (sys.argv[3], schema)):
    for line in open(path):
        for c in json.loads(line)["choices"]:
            if c["finish_reason"] == "length":
                continue
            assert c["finish_reason"] == "stop", c
            v = json.loads(c["message"]["content"] if "message" in c else c["text"])
            assert valid(v, sch), (v, sch)
            if jsonschema:
                jsonschema.validate(v, sch)
            stopped += 1
print("structured: %d of 36 choices stopped, all valid" % stopped, file=sys.stderr)
assert stopped >= 18, stopped
PY
for kw in pattern '$ref' format minimum oneOf; do
  r=$(post /v1/completions "{\"prompt\": \"a\", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\": {\"type\": \"string\", \"$kw\": \"x\"}}}}")
  expect 400 unsupported_schema "$r"
  grep -q "'$kw'" <<<"$r" || fail "400 does not name $kw: $r"
done
expect 400 stop "$(post /v1/completions '{"prompt": "a", "stop": "}", "response_format": {"type": "json_object"}}')"

# echo: the prompt in front; its tokens' logprobs, the first null.
e=$(completion '{"prompt": "Once upon a time", "max_tokens": 4, "echo": true, "logprobs": 2, "temperature": 0}')
/usr/bin/python3 - "$e" <<'PY' || fail "echo: $e"
import json, sys
j = json.loads(sys.argv[1]); c = j["choices"][0]; lp = c["logprobs"]
assert c["text"].startswith("Once upon a time") and len(c["text"]) > len("Once upon a time"), c
n = j["usage"]["prompt_tokens"] + j["usage"]["completion_tokens"]
assert len(lp["tokens"]) == n and lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None, lp
assert all(x <= 0 for x in lp["token_logprobs"][1:]) and len(lp["top_logprobs"][1]) == 2, lp
PY

# logprobs in stream chunks: the same tokens and values as the same seeded request unstreamed.
body='{"prompt": "Once upon a time", "max_tokens": 12, "seed": 5, "logprobs": 1'
completion "$body}" > "$tmp/plain.json"
curl -s -N -H 'Content-Type: application/json' -d "$body, \"stream\": true}" "$BASE/v1/completions" > "$tmp/sse"
/usr/bin/python3 - "$tmp/plain.json" "$tmp/sse" <<'PY' || fail "stream logprobs"
import json, sys
plain = json.load(open(sys.argv[1]))["choices"][0]
toks, lps, offs, text = [], [], [], ""
for line in open(sys.argv[2]):
    if not line.startswith("data: {"):
        continue
    c = json.loads(line[6:])["choices"][0]
    text += c["text"]
    if c["logprobs"]:
        toks += c["logprobs"]["tokens"]; lps += c["logprobs"]["token_logprobs"]; offs += c["logprobs"]["text_offset"]
assert text == plain["text"] and toks == plain["logprobs"]["tokens"], (text, toks, plain)
assert all(abs(a - b) < 1e-6 for a, b in zip(lps, plain["logprobs"]["token_logprobs"])), lps
assert offs == plain["logprobs"]["text_offset"], (offs, plain["logprobs"]["text_offset"])
PY

# Chat streams carry logprobs as {"content": [{token, logprob, bytes, top_logprobs}]}.
curl -s -N -H 'Content-Type: application/json' -d '{"messages": [{"role": "user", "content": "Hi"}],
  "max_tokens": 6, "logprobs": true, "top_logprobs": 2, "stream": true}' "$BASE/v1/chat/completions" > "$tmp/chat.sse"
/usr/bin/python3 - "$tmp/chat.sse" <<'PY' || fail "chat stream logprobs: $(head -c 600 "$tmp/chat.sse")"
import json, sys
text, toks = "", []
for line in open(sys.argv[1]):
    if line.startswith("data: {"):
        c = json.loads(line[6:])["choices"][0]
        text += c["delta"].get("content", "")
        toks += (c["logprobs"] or {"content": []})["content"]
assert toks and all(len(t["top_logprobs"]) == 2 and t["logprob"] <= 0 for t in toks), toks
assert "".join(t["token"] for t in toks) == text and bytes(sum((t["bytes"] for t in toks), [])) == text.encode(), (toks, text)
PY

# /v1/search: a collection created now is found; ef as the CLI's --ef; rrf_k changes the fusion.
q='Lily played with the ball'
expect 404 collection_not_found "$(post /v1/search '{"collection": "late", "query": "x"}')"
"$LOOM" collection create --db "$tmp/s.db" --name late "${M[@]}" >/dev/null 2>&1 || fail "create late"
"$LOOM" collection add --db "$tmp/s.db" --name late "${M[@]}" --docs "$tmp/docs.jsonl" >/dev/null 2>&1 ||
  fail "add late"
r=$(post /v1/search "{\"collection\": \"late\", \"query\": \"$q\", \"k\": 3, \"ef\": 64}")
[ "$(tail -n1 <<<"$r")" = 200 ] || fail "late collection: $r"
"$LOOM" collection search --db "$tmp/s.db" --name late "${M[@]}" --query "$q" --k 3 --ef 64 --json \
  > "$tmp/cli.json" 2>/dev/null || fail "collection search"
r2=$(post /v1/search "{\"collection\": \"late\", \"query\": \"$q\", \"k\": 3, \"mode\": \"hybrid\", \"rrf_k\": 10}")
/usr/bin/python3 - "$(head -n -1 <<<"$r")" "$tmp/cli.json" "$(head -n -1 <<<"$r2")" <<'PY' || fail "search: $r $r2"
import json, sys
srv, cli, hyb = json.loads(sys.argv[1])["data"], json.load(open(sys.argv[2])), json.loads(sys.argv[3])["data"]
assert len(srv) == 3 and [h["id"] for h in srv] == [h["id"] for h in cli], (srv, cli)
assert all(abs(a["score"] - b["score"]) <= 1e-6 for a, b in zip(srv, cli)), (srv, cli)
# RRF with k = 10: a hit's score is a sum of at most two terms 1/(10 + rank), so the best is at
# least 1/11 > 2/61, the most the default k = 60 can give.
assert 1 / 11 - 1e-9 <= hyb[0]["score"] <= 2 / 11 + 1e-9, hyb
PY
expect 400 ef "$(post /v1/search '{"collection": "late", "query": "x", "ef": 0}')"
expect 400 rrf_k "$(post /v1/search '{"collection": "late", "query": "x", "rrf_k": 5}')"
echo "serve_structured: ok"
