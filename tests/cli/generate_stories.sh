#!/usr/bin/env bash
# `loom generate` reproduces llama2.c's three stories260K texts (expected.json) exactly, from the
# .bin with tok512.bin and from the .gguf with its embedded vocabulary; plus the CLI contract
# (stdout holds the text alone, errors are one line).
set -u
LOOM_DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
fail() { echo "FAIL: $*"; exit 1; }
d="$LOOM_DATA/models/stories260K"
[ -f "$d/expected.json" ] || fail "missing $d/expected.json"
expected() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cases"][int(sys.argv[2])]["expected_text"])' "$d/expected.json" "$1"; }
for model in "--model $d/stories260K.bin --tokenizer $d/tok512.bin" "--model $d/stories260K.gguf"; do
  # shellcheck disable=SC2086
  out=$("$LOOM" generate $model --temperature 0 --steps 200 2>/dev/null) || fail "greedy 200 exited non-zero ($model)"
  [ "$out" = "$(expected 0)" ] || fail "greedy -n 200 differs ($model): $out"
  # shellcheck disable=SC2086
  out=$("$LOOM" generate $model --temperature 0.0 2>/dev/null) || fail "greedy default exited non-zero"
  [ "$out" = "$(expected 1)" ] || fail "greedy default steps differs ($model): $out"
  # shellcheck disable=SC2086
  out=$("$LOOM" generate $model --temperature 1.0 --top-p 0.9 --seed 133742 --threads 2 2>/dev/null) || fail "top-p exited non-zero"
  [ "$out" = "$(expected 2)" ] || fail "-t 1.0 -p 0.9 -s 133742 differs ($model): $out"
done
# Diagnostics go to stderr only.
err=$("$LOOM" generate --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --temperature 0 --steps 5 2>&1 >/dev/null)
grep -q "tok/s" <<<"$err" || fail "no tokens/s on stderr: $err"
# Prompt, stop string, beams, standard sampler, JSON.
out=$("$LOOM" generate --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --prompt "Once upon a time" --temperature 0 --steps 40 --stop "Lily" 2>/dev/null)
[ -n "$out" ] && ! grep -q "Lily" <<<"$out" || fail "stop string not honoured: $out"
out=$("$LOOM" generate --model "$d/stories260K.gguf" --prompt "Tom had a dog" --beams 3 --steps 30 2>/dev/null) || fail "beams exited non-zero"
[ -n "$out" ] || fail "beam search printed nothing"
# No n-gram of 3 tokens repeats under --no-repeat-ngram 3 (some do without); a bad
# --early-stopping is one line (HF's semantics are checked in tests/generate/beam_search_test.cpp).
toks() { python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["tokens"])))'; }
repeats() { python3 -c 'import sys; t=sys.argv[1].split(); g=[tuple(t[i:i+3]) for i in range(len(t)-2)]; print(len(g)-len(set(g)))' "$1"; }
free=$("$LOOM" generate --model "$d/stories260K.gguf" --prompt "Tom had a dog" --beams 3 --steps 200 --json 2>/dev/null | toks)
banned=$("$LOOM" generate --model "$d/stories260K.gguf" --prompt "Tom had a dog" --beams 3 --steps 200 --no-repeat-ngram 3 --json 2>/dev/null | toks)
[ "$(repeats "$free")" -gt 0 ] && [ "$(repeats "$banned")" -eq 0 ] || fail "--no-repeat-ngram 3: $(repeats "$free") vs $(repeats "$banned") repeated trigrams"
err=$("$LOOM" generate --model "$d/stories260K.gguf" --beams 2 --early-stopping maybe 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "early_stopping" <<<"$err" || fail "--early-stopping maybe: rc=$rc $err"
out=$("$LOOM" generate --model "$d/stories260K.gguf" --top-k 40 --min-p 0.05 --repeat-penalty 1.1 --seed 1 --steps 30 --json 2>/dev/null)
grep -q '"stop_reason"' <<<"$out" || fail "--json output: $out"
# Bad input: one line on stderr, non-zero exit.
long=$(printf 'once upon a time %.0s' $(seq 1 200))
err=$("$LOOM" generate --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --prompt "$long" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "exceeds the model's context" <<<"$err" || fail "long prompt: rc=$rc $err"
err=$("$LOOM" generate --model "$d/tok512.bin" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "tokenizer as model: rc=$rc $err"
err=$("$LOOM" generate --model "$d/stories260K.bin" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && grep -q "pass --tokenizer" <<<"$err" || fail "missing tokenizer: rc=$rc $err"
head -c 5000 "$d/stories260K.gguf" > "${TMPDIR:-/tmp}/loom_trunc.gguf"
err=$("$LOOM" generate --model "${TMPDIR:-/tmp}/loom_trunc.gguf" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "loom_trunc.gguf" <<<"$err" || fail "truncated gguf: rc=$rc $err"
rm -f "${TMPDIR:-/tmp}/loom_trunc.gguf"
echo "generate stories260K: ok"
