#!/usr/bin/env bash
# `loom serve` end to end on stories260K over curl: completions equal `loom generate` token for
# token (greedy and seeded sampling), streamed chunks concatenate to the same text, chat renders
# the model's template, embeddings equal `loom embed` (float within 1e-6, base64 the same bytes),
# a batch of 3000 inputs, long inputs refused by index or chunked, n > 1 and prompt lists, 8 concurrent requests each
# with its own output, /metrics counts them.
set -u
. "$LOOM_SOURCE_DIR/tests/cli/lib/serve.sh"  # fail, $d (stories260K), $tmp, start_server, post
# A model folder with a chat template beside the weights (stories260K ships none).
mkdir "$tmp/m" && ln -s "$d/stories260K.gguf" "$tmp/m/stories260K.gguf"
cat > "$tmp/m/tokenizer_config.json" <<'JSON'
{"bos_token": "<s>", "eos_token": "</s>",
 "chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"}
JSON
M="$tmp/m/stories260K.gguf"
start_server "$tmp/log" --model "$M" --threads 4 --max-tokens 64 --embed-max-tokens 256 || fail "server did not start"
gen() { "$LOOM" generate --model "$M" --steps 0 "$@" 2>/dev/null; }

r=$(curl -s "$BASE/health") && [ "$(field "$r" 'j["status"]')" = ok ] || fail "health: $r"
r=$(curl -s "$BASE/v1/models") && [ "$(field "$r" 'j["data"][0]["id"]')" = stories260K.gguf ] || fail "models: $r"

# Greedy and seeded sampling: the text `loom generate` prints, the same number of tokens.
r=$(post /v1/completions '{"model":"stories260K.gguf","prompt":"Once upon a time","max_tokens":40,"temperature":0}')
[ "$(tail -n1 <<<"$r")" = 200 ] || fail "completion: $r"
r=$(head -n -1 <<<"$r")
want=$(gen --prompt "Once upon a time" --temperature 0 --max-tokens 40 --json)
[ "$(field "$r" 'j["choices"][0]["text"]')" = "$(field "$want" 'j["text"]')" ] || fail "greedy text differs: $r vs $want"
[ "$(field "$r" 'j["usage"]["completion_tokens"]')" = "$(field "$want" 'len(j["tokens"])')" ] || fail "token count differs"
[ "$(field "$r" 'j["usage"]["prompt_tokens"]')" = "$(field "$want" 'j["prompt_tokens"]')" ] || fail "prompt tokens differ"
r=$(post /v1/completions '{"prompt":"Tom had","max_tokens":50,"temperature":0.8,"top_p":0.9,"seed":7}' | head -n -1)
want=$(gen --prompt "Tom had" --temperature 0.8 --top-p 0.9 --seed 7 --max-tokens 50)
[ "$(field "$r" 'j["choices"][0]["text"]')" = "$want" ] || fail "seeded sampling differs: $r vs $want"
r=$(post /v1/completions '{"prompt":"Tom had","max_tokens":30,"temperature":0.7,"top_k":20,"seed":3}' | head -n -1)
want=$(gen --prompt "Tom had" --temperature 0.7 --top-k 20 --top-p 1 --seed 3 --max-tokens 30)
[ "$(field "$r" 'j["choices"][0]["text"]')" = "$want" ] || fail "top-k sampling differs: $r vs $want"
r=$(post /v1/completions '{"prompt":"Once upon a time","max_tokens":40,"temperature":0,"stop":" park"}' | head -n -1)
want=$(gen --prompt "Once upon a time" --temperature 0 --max-tokens 40 --stop " park")
[ "$(field "$r" 'j["choices"][0]["text"]')" = "$want" ] && [ "$(field "$r" 'j["choices"][0]["finish_reason"]')" = stop ] || fail "stop: $r"

# Streaming: chunks concatenate to the non-streamed text, then [DONE].
s=$(curl -sN -H 'Content-Type: application/json' -d '{"prompt":"Once upon a time","max_tokens":40,"temperature":0,"stream":true}' "$BASE/v1/completions")
[ "$(tail -n1 <<<"$s")" = "data: [DONE]" ] || fail "stream end: $s"
got=$(/usr/bin/python3 -c 'import json,sys
print("".join(json.loads(l[6:])["choices"][0]["text"] for l in sys.stdin.read().split("\n") if l.startswith("data: {")))' <<<"$s")
[ "$got" = "$(gen --prompt "Once upon a time" --temperature 0 --max-tokens 40)" ] || fail "stream text: $got"

# Chat: the template's rendering, generated as `loom generate` would from it; streamed the same.
r=$(post /v1/chat/completions '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":30,"temperature":0}' | head -n -1)
want=$(gen --prompt $'user: Hello\nassistant:' --temperature 0 --max-tokens 30)
[ "$(field "$r" 'j["choices"][0]["message"]["content"]')" = "$want" ] || fail "chat: $r vs $want"
s=$(curl -sN -H 'Content-Type: application/json' -d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":30,"temperature":0,"stream":true}' "$BASE/v1/chat/completions")
got=$(/usr/bin/python3 -c 'import json,sys
print("".join(json.loads(l[6:])["choices"][0]["delta"].get("content","") for l in sys.stdin.read().split("\n") if l.startswith("data: {")))' <<<"$s")
[ "$got" = "$want" ] || fail "chat stream: $got"

# n > 1 and a prompt list: indices prompt * n + j, seeds seed + j.
r=$(post /v1/completions '{"prompt":["Tom had","Lily saw"],"n":2,"max_tokens":8,"temperature":1,"seed":5}' | head -n -1)
[ "$(field "$r" '[c["index"] for c in j["choices"]]')" = "[0, 1, 2, 3]" ] || fail "n=2: $r"
want=$(gen --prompt "Lily saw" --temperature 1 --top-p 1 --seed 6 --max-tokens 8)
[ "$(field "$r" 'j["choices"][3]["text"]')" = "$want" ] || fail "choice 3 is not seed+1: $r vs $want"

# Embeddings equal `loom embed` (1e-6, as tests/cli/embed.sh); base64 is the same float32 bytes.
printf 'Once upon a time\nthe cat sat on the mat\nLily and Tom went to the park\n' > "$tmp/texts.txt"
"$LOOM" embed --model "$M" --input "$tmp/texts.txt" --output "$tmp/e.npy" >/dev/null 2>&1 || fail "loom embed"
body='{"input":["Once upon a time","the cat sat on the mat","Lily and Tom went to the park"]}'
post /v1/embeddings "$body" | head -n -1 > "$tmp/f.json"
post /v1/embeddings "${body%\}},\"encoding_format\":\"base64\"}" | head -n -1 > "$tmp/b.json"
/usr/bin/python3 - "$tmp" <<'PY' || fail "embeddings differ from loom embed"
import base64, json, sys
import numpy as np
t = sys.argv[1]
want = np.load(t + "/e.npy")
f = np.array([d["embedding"] for d in json.load(open(t + "/f.json"))["data"]], dtype=np.float32)
b = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4")
              for d in json.load(open(t + "/b.json"))["data"]])
assert f.shape == want.shape == b.shape, (f.shape, want.shape, b.shape)
err = float(abs(f - want).max())
assert err < 1e-6, err
assert (b == f).all(), "base64 floats differ from the JSON floats"
print(f"embeddings vs loom embed: max |error| {err:.3g}; base64 == float exactly")
PY
# A batch of 3000 inputs: every row, in order; row 1234 equals the same text sent alone.
/usr/bin/python3 -c 'import json; print(json.dumps({"input": ["story number %d" % i for i in range(3000)]}))' > "$tmp/batch.json"
curl -s -H 'Content-Type: application/json' --data-binary @"$tmp/batch.json" "$BASE/v1/embeddings" > "$tmp/batch.out"
post /v1/embeddings '{"input":"story number 1234"}' | head -n -1 > "$tmp/one.out"
/usr/bin/python3 - "$tmp" <<'PY' || fail "batch of 3000 embeddings"
import json, sys
t = sys.argv[1]
b = json.load(open(t + "/batch.out"))["data"]
one = json.load(open(t + "/one.out"))["data"][0]["embedding"]
assert [d["index"] for d in b] == list(range(3000))
assert b[1234]["embedding"] == one
PY
# An input over the window (--embed-max-tokens 256) is refused by index, or chunked on request.
long=$(/usr/bin/python3 -c 'print("once upon a time " * 80)')
r=$(post /v1/embeddings "{\"input\":[\"short\",\"$long\"]}")
[ "$(tail -n1 <<<"$r")" = 400 ] && [ "$(field "$(head -n -1 <<<"$r")" 'j["error"]["param"]')" = "input[1]" ] || fail "long input: ${r:0:300}"
r=$(post /v1/embeddings "{\"input\":[\"short\",\"$long\"],\"truncate\":\"chunk\"}")
[ "$(tail -n1 <<<"$r")" = 200 ] && [ "$(field "$(head -n -1 <<<"$r")" 'len(j["data"])')" = 2 ] || fail "chunked: ${r:0:300}"

# 8 concurrent requests on 4 workers: each gets its own prompt's greedy text.
prompts=("Once upon a time" "Tom had a dog" "Lily saw a bird" "The sun was" "A little cat" "One day" "Sam and Max" "The big tree")
for i in "${!prompts[@]}"; do
  post /v1/completions "{\"prompt\":\"${prompts[$i]}\",\"max_tokens\":48,\"temperature\":0}" > "$tmp/c$i" &
done
wait_for=$(jobs -p | grep -v "^$SERVER_PID$"); for j in $wait_for; do wait "$j"; done
for i in "${!prompts[@]}"; do
  [ "$(tail -n1 "$tmp/c$i")" = 200 ] || fail "concurrent request $i: $(cat "$tmp/c$i")"
  want=$(gen --prompt "${prompts[$i]}" --temperature 0 --max-tokens 48)
  [ "$(field "$(head -n -1 "$tmp/c$i")" 'j["choices"][0]["text"]')" = "$want" ] || fail "concurrent $i differs"
done

# /metrics: Prometheus counters for what ran above.
m=$(curl -s "$BASE/metrics")
grep -q '^loom_requests_total{endpoint="/v1/completions",status="200"} 1[0-9]$' <<<"$m" || fail "metrics: $m"
grep -q '^loom_request_duration_seconds_count{endpoint="/v1/embeddings"} 6$' <<<"$m" || fail "latency histogram: $m"
grep -q '^loom_generated_tokens_per_second [1-9]' <<<"$m" || fail "tokens/s: $m"
grep -q '^loom_queue_depth 0$' <<<"$m" || fail "queue depth: $m"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "server exit code $?"
echo "serve api: ok"
