#!/usr/bin/env bash
# `loom tokenizer train`: trains a Unigram .model from PTB; bad input fails with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$("$LOOM" tokenizer train --input "$data/corpora/ptb/ptb.valid.txt" --vocab-size 300 \
      --output "$tmp/ptb.model" --threads 2 --json) || fail "train exited non-zero"
grep -q '"pieces": 300' <<<"$out" || fail "expected 300 pieces: $out"
grep -q '"lines": 3370' <<<"$out" || fail "expected 3370 lines: $out"
[ "$(head -c 1 "$tmp/ptb.model" | od -An -tx1 | tr -d ' ')" = "0a" ] || fail "not a ModelProto"
grep -q "▁the" "$tmp/ptb.model" || fail "model lacks the piece ▁the"
err=$("$LOOM" tokenizer train --input "$tmp/missing.txt" --output "$tmp/x.model" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "missing input exited 0"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "missing input printed more than one line: $err"
grep -q "missing.txt" <<<"$err" || fail "error does not name the file: $err"
err=$("$LOOM" tokenizer train --type morfessor --input "$tmp/ptb.model" --output "$tmp/x" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "--type morfessor exited 0"
echo "tokenizer train: ok"
