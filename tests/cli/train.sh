#!/usr/bin/env bash
# loom train: a tiny byte-level Llama on tinyshakespeare; the loss falls, the log and checkpoint
# exist; an interrupted run resumed with --resume logs exactly the losses of an uninterrupted one;
# bad flags and a corrupted checkpoint fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}/corpora/tinyshakespeare/input.txt"
[ -f "$data" ] || fail "missing $data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--text "$data" --d-model 32 --layers 2 --heads 4 --kv-heads 2 --seq 32 --batch 4
        --steps 12 --warmup 2 --lr 5e-3 --eval-every 6 --eval-batches 2 --save-every 4
        --sample 20 --threads 2)

"$LOOM" train "${common[@]}" --out "$tmp/a" --json > "$tmp/a.json" || fail "train exited non-zero"
grep -q '"steps": 12' "$tmp/a.json" || fail "json summary: $(cat "$tmp/a.json")"
[ -f "$tmp/a/checkpoint.loom" ] || fail "no checkpoint"
[ "$(wc -l < "$tmp/a/log.csv")" -eq 14 ] || fail "log.csv should have a header, the step-0 validation loss and 12 rows"
[ -f "$tmp/a/model.safetensors" ] && [ -f "$tmp/a/config.json" ] || fail "no model directory"
[ "$(head -c 8 "$tmp/a/loss.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "loss.png is not a PNG"
first=$(sed -n 3p "$tmp/a/log.csv" | cut -d, -f2)
last=$(sed -n 14p "$tmp/a/log.csv" | cut -d, -f2)
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f) }' || fail "loss did not fall: $first -> $last"

# Interrupted after step 6 (between checkpoints at 4 and 8 the stop itself saves), then resumed.
"$LOOM" train "${common[@]}" --out "$tmp/b" --stop-at 6 > /dev/null || fail "stop-at run"
"$LOOM" train "${common[@]}" --out "$tmp/b" --resume > /dev/null || fail "resume run"
diff <(cut -d, -f1-4 "$tmp/a/log.csv") <(cut -d, -f1-4 "$tmp/b/log.csv") > /dev/null ||
  fail "resumed losses differ: $(diff <(cut -d, -f1-4 "$tmp/a/log.csv") <(cut -d, -f1-4 "$tmp/b/log.csv") | head -4)"

# An existing run is not overwritten without --resume; a corrupted checkpoint fails in one line.
err=$("$LOOM" train "${common[@]}" --out "$tmp/a" 2>&1 >/dev/null) && fail "overwrote a run"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "multi-line error: $err"
printf 'X' | dd of="$tmp/a/checkpoint.loom" bs=1 seek=200 conv=notrunc 2>/dev/null
err=$("$LOOM" train "${common[@]}" --out "$tmp/a" --resume 2>&1 >/dev/null) && fail "loaded a corrupted checkpoint"
grep -q "checksum" <<<"$err" || fail "corruption error does not say checksum: $err"
err=$("$LOOM" train --out "$tmp/c" 2>&1 >/dev/null) && fail "ran without data"
echo "cli train: ok"
