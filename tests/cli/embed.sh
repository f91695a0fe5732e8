#!/usr/bin/env bash
# `loom embed` on stories260K: text lines and JSONL in, .npy + ids out; the mean-pooled vectors
# equal the PyTorch golden (tests/reference/embed/embed_golden.py) within 1e-6; --dims, --max-tokens,
# pooling read from a sentence-transformers layout beside the model; bad JSONL named by line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
M="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}/models/stories260K"
G="$LOOM_SOURCE_DIR/tests/reference/embed/embed_golden.json"
[ -f "$M/stories260K.bin" ] || fail "missing $M (set LOOM_DATA)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$G" "$tmp" <<'PY' || fail "python3 unavailable"
import json, os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
g = load_golden(sys.argv[1])
with open(sys.argv[2] + "/texts.txt", "w") as f:
    for c in g["cases"]:
        f.write(c["text"] + "\n\n")  # blank lines are skipped, ids are line numbers
with open(sys.argv[2] + "/texts.jsonl", "w") as f:
    for i, c in enumerate(g["cases"]):
        f.write(json.dumps({"_id": f"d{i}", "title": "", "text": c["text"]}) + "\n")
PY
"$LOOM" embed --model "$M/stories260K.bin" --tokenizer "$M/tok512.model" --input "$tmp/texts.txt" \
  --output "$tmp/a.npy" --threads 2 >/dev/null 2>&1 || fail "embed text lines"
[ "$(tr '\n' ' ' < "$tmp/a.ids.txt")" = "1 3 5 7 9 " ] || fail "ids: $(cat "$tmp/a.ids.txt")"
"$LOOM" embed --model "$M/stories260K.gguf" --input "$tmp/texts.jsonl" --field title,text \
  --output "$tmp/b.npy" --dims 16 --max-tokens 12 2>"$tmp/err" >/dev/null || fail "embed jsonl"
grep -q "3 of 5 texts truncated to their first 12 tokens" "$tmp/err" || fail "truncation: $(cat "$tmp/err")"
[ "$(head -n1 "$tmp/b.ids.txt")" = "d0" ] || fail "jsonl ids"
/usr/bin/python3 - "$G" "$tmp" <<'PY' || fail "vectors differ from the PyTorch golden"
import json, os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
import numpy as np
g = load_golden(sys.argv[1])["cases"]
a = np.load(sys.argv[2] + "/a.npy")
assert a.shape == (5, 64) and a.dtype == np.float32, a.shape
err = max(abs(a[i] - np.array(c["mean"])).max() for i, c in enumerate(g))
assert err < 1e-6, err  # the bound of tests/embed for unit vectors
b = np.load(sys.argv[2] + "/b.npy")
assert b.shape == (5, 16), b.shape
# "The cat sat on the mat." and "x" are under 12 tokens: exactly the golden's 16-dim Matryoshka.
for i in (1, 3):
    assert abs(b[i] - np.array(g[i]["mean_dims16"])).max() < 1e-6
assert abs(np.linalg.norm(b, axis=1) - 1).max() < 1e-5
print("max |loom - torch| =", err)
PY
# Pooling stored beside the model (sentence-transformers layout) is used; a flag overrides it.
mkdir -p "$tmp/st/1_Pooling" && ln -s "$M/stories260K.gguf" "$tmp/st/model.gguf"
echo '{"pooling_mode_lasttoken": true}' > "$tmp/st/1_Pooling/config.json"
"$LOOM" embed --model "$tmp/st/model.gguf" --input "$tmp/texts.txt" --output "$tmp/c.npy" 2>"$tmp/err" >/dev/null || fail "st layout"
grep -q "last pooling (model files), not normalised" "$tmp/err" || fail "st pooling: $(cat "$tmp/err")"
"$LOOM" embed --model "$tmp/st/model.gguf" --input "$tmp/texts.txt" --output "$tmp/c.npy" --pooling cls --normalize 2>"$tmp/err" >/dev/null || fail "override"
grep -q "cls pooling (model files), L2-normalised" "$tmp/err" || fail "override: $(cat "$tmp/err")"
# --save-config stores the pooling used; a model placed in that folder picks it up.
"$LOOM" embed --model "$M/stories260K.gguf" --input "$tmp/texts.txt" --output "$tmp/e.npy" --pooling weighted-mean --no-normalize --save-config "$tmp/st2" 2>/dev/null >/dev/null || fail "save-config"
ln -s "$M/stories260K.gguf" "$tmp/st2/model.gguf"
"$LOOM" embed --model "$tmp/st2/model.gguf" --input "$tmp/texts.txt" --output "$tmp/f.npy" 2>"$tmp/err" >/dev/null || fail "saved config"
grep -q "weighted-mean pooling (model files), not normalised" "$tmp/err" || fail "saved config: $(cat "$tmp/err")"
cmp -s "$tmp/e.npy" "$tmp/f.npy" || fail "saved config gives other vectors"
# A safetensors model folder: its tokenizer.json is found without --tokenizer.
H="$LOOM_SOURCE_DIR/tests/reference/models/infer_models/llama_hf"
mkdir -p "$tmp/hf" && ln -s "$H/config.json" "$H/model.safetensors" "$tmp/hf/"
cat > "$tmp/hf/tokenizer.json" <<'JSON'
{"version": "1.0", "added_tokens": [], "normalizer": {"type": "Lowercase"},
 "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
   "max_input_chars_per_word": 100,
   "vocab": {"[UNK]": 0, "the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5, "dog": 6, "##s": 7, ".": 8}}}
JSON
printf 'The cat sat on the mat.\ndogs\n' > "$tmp/hf/in.txt"
out=$("$LOOM" embed --model "$tmp/hf" --input "$tmp/hf/in.txt" --output "$tmp/hf.npy" 2>/dev/null) || fail "hf folder"
grep -q "2 x 32 float32.*(9 tokens" <<<"$out" || fail "hf folder tokens: $out"
printf '{"_id": "x", "text": "a"}\n{"_id": 5, "text": 7}\n' > "$tmp/bad.jsonl"
err=$("$LOOM" embed --model "$M/stories260K.gguf" --input "$tmp/bad.jsonl" --output "$tmp/d.npy" 2>&1) && fail "bad jsonl accepted"
grep -q 'bad.jsonl:2: field "text": expected a string' <<<"$err" || fail "bad jsonl message: $err"
[ ! -e "$tmp/d.npy" ] || fail "output written despite the error"
echo "embed: ok"
