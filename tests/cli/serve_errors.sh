#!/usr/bin/env bash
# `loom serve` refusals, each an OpenAI error object with the right status: API key (401),
# malformed JSON / wrong types / bad token ids / over-long prompt / no chat template (400),
# unknown model or route (404), oversize body (413), full queue (503); then SIGTERM with a
# request in flight: that request still completes and the server exits 0.
set -u
. "$LOOM_SOURCE_DIR/tests/cli/lib/serve.sh"  # fail, $d, $tmp, start_server, post, expect
start_server "$tmp/log" --model "$d/stories260K.gguf" --model-name tiny --api-key sekret \
  --threads 1 --max-queue 0 --max-body 100000 || fail "server did not start"
K=(-H "Authorization: Bearer sekret")

[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ] || fail "health needs no key"
# A second server on the same port is refused (no silent SO_REUSEPORT sharing): one line, rc != 0.
err=$("$LOOM" serve --model "$d/stories260K.gguf" --port "${BASE##*:}" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "cannot listen" <<<"$err" || fail "port in use: rc=$rc $err"
expect 401 invalid_api_key "$(curl -s -w '\n%{http_code}' "$BASE/v1/models")"
expect 401 invalid_api_key "$(curl -s -w '\n%{http_code}' -H 'Authorization: Bearer nope' "$BASE/v1/models")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${K[@]}" "$BASE/v1/models")" = 200 ] || fail "key refused"

expect 400 invalid_json "$(post /v1/completions '{"prompt": "a",' "${K[@]}")"
expect 400 invalid_json "$(post /v1/completions $'\xff\xfe' "${K[@]}")"
expect 400 temperature "$(post /v1/completions '{"prompt":"a","temperature":"hot"}' "${K[@]}")"
expect 400 max_tokens "$(post /v1/completions '{"prompt":"a","max_tokens":100000}' "${K[@]}")"
expect 400 input "$(post /v1/embeddings '{"input":{"text":"a"}}' "${K[@]}")"
expect 400 prompt "$(post /v1/completions '{"prompt":[1,99999]}' "${K[@]}")"
expect 400 no_chat_template "$(post /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}]}' "${K[@]}")"
long=$(/usr/bin/python3 -c 'print("once upon a time " * 600)')
expect 400 context_length_exceeded "$(post /v1/completions "{\"prompt\":\"$long\"}" "${K[@]}")"
expect 404 model_not_found "$(post /v1/completions '{"model":"gpt-4","prompt":"a"}' "${K[@]}")"
r=$(curl -s -w '\n%{http_code}' "${K[@]}" "$BASE/v1/nothing")
[ "$(tail -n1 <<<"$r")" = 404 ] && grep -q '"error"' <<<"$r" || fail "unknown route: $r"
/usr/bin/python3 -c 'import json; print(json.dumps({"input": "a" * 200000}))' > "$tmp/huge.json"
r=$(curl -s -w '\n%{http_code}' "${K[@]}" -H 'Content-Type: application/json' --data-binary @"$tmp/huge.json" "$BASE/v1/embeddings")
expect 413 request_too_large "$r"

# One worker, no queue: while a long embedding runs, another request is 503; then SIGTERM while
# it still runs: new requests are 503 while it drains, it completes (200, all rows), and the
# server exits 0.
/usr/bin/python3 -c 'import json; print(json.dumps({"input": [[1] + [300] * 2000] * 2}))' > "$tmp/slow.json"
curl -s -w '\n%{http_code}' "${K[@]}" -H 'Content-Type: application/json' --data-binary @"$tmp/slow.json" \
  "$BASE/v1/embeddings" > "$tmp/slow.out" &
slow=$!
for _ in $(seq 1 200); do
  curl -s "$BASE/metrics" | grep -q '^loom_requests_running 1$' && break
  sleep 0.02
done
expect 503 queue_full "$(post /v1/completions '{"prompt":"a","max_tokens":2}' "${K[@]}")"
kill -TERM "$SERVER_PID"
# Draining: the listener stays up until the running request is done; new model requests are 503.
for _ in $(seq 1 20); do
  r=$(post /v1/completions '{"prompt":"a","max_tokens":2}' "${K[@]}")
  grep -q shutting_down <<<"$r" && break
  sleep 0.02
done
expect 503 shutting_down "$r"
wait "$slow"
[ "$(tail -n1 "$tmp/slow.out")" = 200 ] || fail "in-flight request under SIGTERM: $(head -c 300 "$tmp/slow.out")"
[ "$(field "$(head -n -1 "$tmp/slow.out")" 'len(j["data"])')" = 2 ] || fail "in-flight request incomplete"
wait "$SERVER_PID"; rc=$?
[ $rc -eq 0 ] || fail "server exit code $rc after SIGTERM"
grep -q "loom serve: stopped" "$tmp/log" || fail "no stop line: $(cat "$tmp/log")"
echo "serve errors: ok"
