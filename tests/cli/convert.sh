#!/usr/bin/env bash
# `loom convert`: stories260K (llama2.c .bin + tok512.bin) to GGUF (tokenizer embedded) and to a
# Hugging Face folder (tokenizer.model written), and the GGUF back to HF; greedy `loom generate`
# from each gives the original's text. Bad input: one error line, non-zero exit, nothing at --out.
set -u
LOOM_DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
fail() { echo "FAIL: $*"; exit 1; }
d="$LOOM_DATA/models/stories260K"
[ -f "$d/stories260K.bin" ] || fail "missing $d/stories260K.bin"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/loom_convert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
gen() { "$LOOM" generate "$@" --temperature 0 --steps 120 2>/dev/null; }
want=$(gen --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin") || fail "generate from the .bin"
[ -n "$want" ] || fail "empty reference text"

"$LOOM" convert --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --out "$tmp/s.gguf" \
  >"$tmp/log" 2>&1 || fail "convert to gguf: $(cat "$tmp/log")"
grep -q "tok512.bin" "$tmp/log" || fail "convert did not report the tokenizer: $(cat "$tmp/log")"
[ "$(gen --model "$tmp/s.gguf")" = "$want" ] || fail "text from the GGUF (embedded vocabulary) differs"

"$LOOM" convert --model "$d/stories260K.bin" --tokenizer "$d/tok512.bin" --out "$tmp/hf" \
  >"$tmp/log" 2>&1 || fail "convert to hf: $(cat "$tmp/log")"
for f in config.json model.safetensors tokenizer.model tokenizer_config.json; do
  [ -f "$tmp/hf/$f" ] || fail "hf folder lacks $f"
done
[ "$(gen --model "$tmp/hf")" = "$want" ] || fail "text from the HF folder differs"

"$LOOM" convert --model "$tmp/s.gguf" --out "$tmp/hf2" --to hf >/dev/null 2>&1 || fail "gguf -> hf"
[ "$(gen --model "$tmp/hf2")" = "$want" ] || fail "text from gguf -> hf differs"
"$LOOM" convert --model "$tmp/hf2" --out "$tmp/s2.gguf" --type q8_0 >/dev/null 2>&1 ||
  fail "hf -> q8_0 gguf"
[ -n "$(gen --model "$tmp/s2.gguf")" ] || fail "q8_0 GGUF generates nothing"

# Bad input: one line on stderr, non-zero exit, nothing left at --out.
one_error() {  # out-path, then the convert arguments
  local out=$1; shift
  err=$("$LOOM" convert "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$*: rc=$rc $err"
}
one_error "$tmp/x.gguf" --model "$tmp/missing.bin" --out "$tmp/x.gguf"
[ ! -e "$tmp/x.gguf" ] || fail "missing input left a file"
one_error "/proc/loom_no/x.gguf" --model "$tmp/s.gguf" --out "/proc/loom_no/x.gguf"
mkdir "$tmp/busy" && echo keep >"$tmp/busy/keep.txt"
one_error "$tmp/busy" --model "$tmp/s.gguf" --out "$tmp/busy" --to hf
[ "$(ls "$tmp/busy")" = "keep.txt" ] || fail "non-empty folder was touched: $(ls "$tmp/busy")"
one_error "$tmp/y.gguf" --model "$tmp/s.gguf" --out "$tmp/y.gguf" --type q4_k
[ ! -e "$tmp/y.gguf" ] || fail "bad --type left a file"
[ -z "$(ls -a "$tmp" | grep -E '^\.(hf|busy|x|y).*tmp')" ] || fail "temporary files left: $(ls -a "$tmp")"
"$LOOM" convert --help | grep -q -- "--tokenizer" || fail "--help lists no flags"
echo "convert stories260K: ok"
