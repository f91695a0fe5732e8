#!/usr/bin/env bash
# loom data tokenize: FOLDOC lines through stories260K's SentencePiece tokenizer into a training
# shard and a held-out shard (every 10th line); `loom train --shard/--val-shard` on them logs
# exactly the losses of `loom train --text --heldout-every 10` (same tokens); a corrupted shard
# and bad flags fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
m="$data/models/stories260K"
[ -f "$m/tok512.model" ] || fail "missing $m/tok512.model"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -300 "$data/corpora/foldoc/foldoc.tsv" > "$tmp/fold.txt"

"$LOOM" data tokenize --tokenizer "$m/tok512.model" --text "$tmp/fold.txt" --heldout-every 10 \
  --out "$tmp/f.tok" --json > "$tmp/tok.json" || fail "data tokenize exited non-zero"
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/tok.json" "$1"; }
[ "$(field documents)" -eq 270 ] || fail "expected 270 training documents, got $(field documents)"
[ "$(field heldout_documents)" -eq 30 ] || fail "expected 30 held-out documents"
[ -f "$tmp/f.tok.heldout" ] || fail "no held-out shard"
# Header: magic, 2-byte tokens (vocab 512), token count as printed.
[ "$(head -c 7 "$tmp/f.tok")" = "LOOMTOK" ] || fail "bad magic"
n=$(od -An -t u8 -j 16 -N 8 "$tmp/f.tok" | tr -d ' ')
[ "$n" = "$(field tokens)" ] || fail "header token count $n != $(field tokens)"
[ "$(stat -c %s "$tmp/f.tok")" -eq $((64 + 2 * n)) ] || fail "file size is not 64 + 2 x tokens"

common=(--init "$m/stories260K.bin" --seq 64 --batch 4 --steps 6 --warmup 1 --lr 3e-3
        --eval-every 3 --eval-batches 2 --sample 0 --threads 2)
"$LOOM" train "${common[@]}" --shard "$tmp/f.tok" --val-shard "$tmp/f.tok.heldout" --out "$tmp/a" > /dev/null ||
  fail "train --shard"
"$LOOM" train "${common[@]}" --text "$tmp/fold.txt" --tokenizer "$m/tok512.model" --heldout-every 10 \
  --out "$tmp/b" > /dev/null || fail "train --text"
diff <(cut -d, -f1-4,6 "$tmp/a/log.csv") <(cut -d, -f1-4,6 "$tmp/b/log.csv") > /dev/null ||
  fail "shard and text runs differ: $(diff <(cut -d, -f1-4,6 "$tmp/a/log.csv") <(cut -d, -f1-4,6 "$tmp/b/log.csv") | head -4)"

# Bad input.
printf 'X' | dd of="$tmp/f.tok" bs=1 seek=100 conv=notrunc 2>/dev/null
err=$("$LOOM" train "${common[@]}" --shard "$tmp/f.tok" --out "$tmp/c" 2>&1 >/dev/null) && fail "trained on a corrupted shard"
grep -q checksum <<<"$err" || fail "corrupted shard error does not say checksum: $err"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "multi-line error: $err"
err=$("$LOOM" data tokenize --tokenizer "$tmp/none.model" --text "$tmp/fold.txt" --out "$tmp/x" 2>&1 >/dev/null) &&
  fail "accepted a missing tokenizer"
err=$("$LOOM" data tokenize --tokenizer "$m/tok512.model" --text "$tmp/fold.txt" --out "$tmp/x" --heldout-out "$tmp/y" 2>&1 >/dev/null) &&
  fail "accepted --heldout-out without --heldout-every"
: > "$tmp/empty.txt"
err=$("$LOOM" data tokenize --tokenizer "$m/tok512.model" --text "$tmp/empty.txt" --out "$tmp/x" 2>&1 >/dev/null) &&
  fail "tokenized an empty file"
[ ! -e "$tmp/x" ] || fail "wrote a shard for bad input"
echo "cli data_tokenize: ok"
