#!/usr/bin/env bash
# `loom train --arch lstm`: a word-level LSTM LM on PTB's validation text (every 10th line held
# out) with truncated BPTT and clipping; the held-out loss falls by more than 1.5 nats in 120
# steps, the model folder holds PyTorch-named tensors, and bad flags fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$("$LOOM" train --arch lstm --text "$data/corpora/ptb/ptb.valid.txt" --heldout-every 10 \
      --d-model 32 --layers 2 --batch 20 --seq 20 --steps 120 --eval-every 0 --lr 3e-3 \
      --decay constant --out "$tmp/lm" --threads 2 --json) || fail "train exited non-zero"
python3 - "$out" <<'PY' || fail "losses: $out"
import json, sys
r = json.loads(sys.argv[1])
assert r["vocab"] == 5816, r          # the training lines' words + <unk>
assert r["val_loss_before"] > 8.5, r  # about ln(5816) = 8.67 untrained
assert r["val_loss"] < r["val_loss_before"] - 1.5, r
PY
for f in model.safetensors config.json vocab.txt; do [ -s "$tmp/lm/$f" ] || fail "no $f"; done
grep -q '"rnn.weight_hh_l1"' "$tmp/lm/model.safetensors" || fail "no rnn.weight_hh_l1 tensor"
grep -q '"encoder.weight"' "$tmp/lm/model.safetensors" || fail "no encoder.weight tensor"
grep -q '"rnn_type": "LSTM"' "$tmp/lm/config.json" || fail "config.json: $(cat "$tmp/lm/config.json")"
err=$("$LOOM" train --arch lstm --text "$data/corpora/ptb/ptb.valid.txt" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "no held-out split exited 0"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "usage error printed more than one line: $err"
err=$("$LOOM" train --arch lstm --text "$data/corpora/ptb/ptb.valid.txt" --heldout-every 10 \
      --tie --d-model 16 --steps 1 --out "$tmp/x" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] || fail "--tie with emb = hidden failed: $err"
echo "train lstm: ok"
