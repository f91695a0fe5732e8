#!/usr/bin/env bash
# `loom adapt extend` end to end: mine FOLDOC terms for stories260K, extend (.bin + tok512.model,
# and the .gguf with the tokenizer given), check the directory layout and config.json, generate
# from the directory, extend the extended directory again (its own tokenizer.json), and refuse
# bad input with one line on stderr and nothing written.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
m=$data/models/stories260K
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$LOOM" adapt mine-terms --tokenizer "$m/tok512.model" --corpus "$data/corpora/foldoc/foldoc.tsv" \
  --top 12 > "$tmp/terms.tsv" || fail "mine-terms"
out=$("$LOOM" adapt extend --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" \
      --terms "$tmp/terms.tsv" --output "$tmp/ext" --json) || fail "extend: $out"
grep -q '"base_vocab_size": 512, "added": 12, "vocab_size": 524' <<<"$out" || fail "extend json: $out"
for f in model.safetensors config.json tokenizer.json tokenizer_config.json; do
  [ -f "$tmp/ext/$f" ] || fail "missing $f"
done
[ "$(ls -A "$tmp" | grep -c tmp)" -eq 0 ] || fail "temporary folder left behind"
grep -q '"base_vocab_size": 512' "$tmp/ext/config.json" || fail "loom_extension in config.json"
grep -q '"vocab_size": 524' "$tmp/ext/config.json" || fail "vocab_size in config.json"
# Generates from the directory alone (its tokenizer.json), prompt with a new term.
term=$(sed -n 2p "$tmp/terms.tsv" | cut -f1)
gen=$("$LOOM" generate --model "$tmp/ext" --prompt "The $term" --temperature 0 --steps 40 --json 2>/dev/null) \
  || fail "generate from the directory"
grep -q '"prompt_tokens": 3' <<<"$gen" || fail "the term is not one token in the prompt: $gen"
text=$("$LOOM" generate --model "$tmp/ext" --prompt "Once upon a time" --temperature 0 --steps 40 2>/dev/null) \
  || fail "generate text"
[ -n "$text" ] || fail "no text generated"
# Same original rows: extending again from the directory (tokenizer.json inside) keeps the sha256.
sha=$(sed -n 's/.*"embed_rows_sha256": "\([0-9a-f]*\)".*/\1/p' <<<"$out")
printf 'mainframe\n' > "$tmp/more.txt"
out2=$("$LOOM" adapt extend --model "$tmp/ext" --terms "$tmp/more.txt" --output "$tmp/ext2" --init mean --json) \
  || fail "extend the extended directory: $out2"
grep -q '"base_vocab_size": 524, "added": 1' <<<"$out2" || fail "second extension: $out2"
# The GGUF with the tokenizer given.
"$LOOM" adapt extend --model "$m/stories260K.gguf" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
  --output "$tmp/extg" --init normal --std 0.01 --seed 3 >/dev/null || fail "extend gguf"
grep -q "$sha" "$tmp/extg/config.json" || fail "gguf extension changed original rows"
# Full-covariance sampling at a chosen scale is recorded in the extension record.
"$LOOM" adapt extend --model "$m/stories260K.gguf" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
  --output "$tmp/extc" --init mean-cov-full --cov-scale 0.5 --seed 2 >/dev/null || fail "extend mean-cov-full"
grep -q '"init": "mean-cov-full"' "$tmp/extc/config.json" && grep -q '"cov_scale": 0.5' "$tmp/extc/config.json" \
  || fail "mean-cov-full not recorded: $(grep -A8 loom_extension "$tmp/extc/config.json")"
# The GGUF's own vocabulary (tokenizer.ggml.*) when no tokenizer is given: same ids as tok512.
"$LOOM" adapt extend --model "$m/stories260K.gguf" --terms "$tmp/terms.tsv" --output "$tmp/extg2" >/dev/null \
  || fail "extend gguf with its embedded vocabulary"
a=$("$LOOM" tokenize --tokenizer "$tmp/extg2/tokenizer.json" --text "Once upon a time $term")
b=$("$LOOM" tokenize --tokenizer "$tmp/ext/tokenizer.json" --text "Once upon a time $term")
[ "$a" = "$b" ] || fail "GGUF vocabulary tokenizes differently: $a vs $b"

# Bad input: one line on stderr, non-zero exit, no output directory.
bad() {
  local what=$1; shift
  err=$("$LOOM" adapt extend "$@" --output "$tmp/bad" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "$what: exit 0"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: expected one line, got: $err"
  [ ! -e "$tmp/bad" ] || fail "$what: output written"
  echo "  $what -> $err"
}
: > "$tmp/empty.txt"
printf 'compiler\nmainframe\ncompiler\n' > "$tmp/dup.txt"
printf 'the\n' > "$tmp/known.txt"
printf 'ok\n\xff\xfe\n' > "$tmp/badutf8.txt"
bad "empty terms" --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/empty.txt"
bad "duplicate terms" --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/dup.txt"
bad "term in the vocabulary" --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/known.txt"
bad "invalid UTF-8" --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/badutf8.txt"
bad "model without tokenizer" --model "$m/stories260K.bin" --terms "$tmp/terms.tsv"
bad "unknown init" --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" --init zeros
bad "covariance scale" --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
  --init mean-cov-full --cov-scale 0
mkdir "$tmp/bad"; touch "$tmp/bad/keep"
err=$("$LOOM" adapt extend --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.tsv" \
      --output "$tmp/bad" 2>&1 >/dev/null) && fail "non-empty output accepted"
[ "$(ls -A "$tmp/bad")" = "keep" ] || fail "non-empty output folder changed"
echo "cli adapt extend: ok"
