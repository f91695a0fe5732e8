#!/usr/bin/env bash
# `loom embed` on a BERT directory: the random-weight BertForMaskedLM of
# tests/reference/models/infer_bert.py, its vocab.txt found beside the weights ([CLS] text [SEP]).
# CLS and mean pooled, L2-normalised vectors equal PyTorch's (embed.json) within 1e-5; RoBERTa's
# directory, which has no tokenizer, is refused with the folder named.
set -u
fail() { echo "FAIL: $*"; exit 1; }
R="$LOOM_SOURCE_DIR/tests/reference/models/infer_bert"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$R/embed.json" "$tmp" <<'PY' || fail "python3 unavailable"
import os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
with open(sys.argv[2] + "/texts.txt", "w") as f:
    f.write(load_golden(sys.argv[1])["text"] + "\n")
PY
for p in cls mean; do
  "$LOOM" embed --model "$R/bert_hf" --input "$tmp/texts.txt" --output "$tmp/$p.npy" \
    --pooling "$p" --normalize 2>"$tmp/err" >/dev/null || fail "embed $p: $(cat "$tmp/err")"
done
/usr/bin/python3 - "$R/embed.json" "$tmp" <<'PY' || fail "vectors differ from the PyTorch golden"
import os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
import numpy as np
g = load_golden(sys.argv[1])
for p in ("cls", "mean"):
    a = np.load(sys.argv[2] + "/" + p + ".npy")
    assert a.shape == (1, 32) and a.dtype == np.float32, a.shape
    err = abs(a[0] - np.array(g[p])).max()
    assert err < 1e-5, (p, err)
    print(p, "max |loom - torch| =", err)
PY
if "$LOOM" embed --model "$R/roberta_hf" --input "$tmp/texts.txt" --output "$tmp/r.npy" 2>"$tmp/err" >/dev/null; then
  fail "roberta_hf has no tokenizer but embedded"
fi
grep -q "roberta_hf" "$tmp/err" || fail "the error names no folder: $(cat "$tmp/err")"
echo ok
