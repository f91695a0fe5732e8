#!/usr/bin/env bash
# loom train-embed: a short contrastive fine-tune of the real stories260K on term -> definition
# pairs from FOLDOC's train split (never a held-out line: line % 10 != 0). Checks: the loss falls;
# the output directory records its pooling (modules.json + 1_Pooling/config.json) and
# `loom embed --model DIR`, with no pooling flag, picks it up and gives exactly the vectors the
# training graph computes for the same texts; --pooling last is recorded too; JSONL pairs with
# hard negatives; --stop-at + --resume equals one run; a malformed pairs line is named by
# file:line, or skipped with --skip-bad.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
m="$data/models/stories260K"
[ -f "$m/stories260K.bin" ] || fail "missing $m/stories260K.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F'\t' 'NR % 10 != 0 && NR <= 80 { print $1 "\t" $2 }' "$data/corpora/foldoc/foldoc.tsv" > "$tmp/pairs.tsv"
[ "$(wc -l < "$tmp/pairs.tsv")" -eq 72 ] || fail "pairs: $(wc -l < "$tmp/pairs.tsv")"
cut -f1 "$tmp/pairs.tsv" | head -6 > "$tmp/probe.txt"
common=(--init "$m/stories260K.bin" --tokenizer "$m/tok512.model" --max-tokens 48 --threads 2)

"$LOOM" train-embed "${common[@]}" --pairs "$tmp/pairs.tsv" --steps 30 --batch 12 --lr 3e-3 \
  --warmup 2 --matryoshka 64,32 --out "$tmp/e" --probe "$tmp/probe.txt" --probe-out "$tmp/probe.vec" \
  --json > "$tmp/out.json" 2> "$tmp/err" || fail "train-embed: $(tail -3 "$tmp/err")"
grep -q "^step 30/30 loss" "$tmp/err" || fail "no per-step loss line on stderr"
for f in model.safetensors config.json tokenizer.json modules.json 1_Pooling/config.json log.csv checkpoint.loom; do
  [ -f "$tmp/e/$f" ] || fail "missing $f"
done
grep -q '"pooling_mode_mean_tokens": true' "$tmp/e/1_Pooling/config.json" || fail "pooling config"
grep -q 'sentence_transformers.models.Normalize' "$tmp/e/modules.json" || fail "modules.json"
# Loss falls: mean of the last 5 logged steps well under the mean of the first 5.
/usr/bin/python3 - "$tmp/e/log.csv" <<'PY' || fail "loss did not fall"
import csv, sys
l = [float(r["loss"]) for r in csv.DictReader(open(sys.argv[1]))]
assert len(l) == 30, len(l)
a, b = sum(l[:5]) / 5, sum(l[-5:]) / 5
print(f"loss first5 {a:.3f} last5 {b:.3f}")
assert b < 0.7 * a, (a, b)
PY

# loom embed reads the recorded pooling and gives the training graph's vectors.
# (and the 48-token limit training used, recorded in sentence_bert_config.json: no flag needed).
"$LOOM" embed --model "$tmp/e" --input "$tmp/probe.txt" --output "$tmp/v.npy" \
  --threads 2 > /dev/null 2> "$tmp/err2" || fail "embed: $(cat "$tmp/err2")"
grep -q "mean pooling (model files), L2-normalised, 64 dims, up to 48 tokens per text" "$tmp/err2" || fail "embed pooling: $(cat "$tmp/err2")"
/usr/bin/python3 - "$tmp" <<'PY' || fail "loom embed differs from the training graph"
import sys, numpy as np
t = sys.argv[1]
a = np.load(t + "/v.npy")
b = np.loadtxt(t + "/probe.vec", dtype=np.float32)
assert a.shape == b.shape == (6, 64), (a.shape, b.shape)
err = abs(a - b).max()
print("max |embed - training graph|", err)
assert err < 1e-4, err
# and the vectors are not all the same (the model was not collapsed)
assert (a @ a.T)[np.triu_indices(6, 1)].max() < 0.999
PY

# --pooling last, JSONL pairs with hard negatives; the recorded pooling follows.
/usr/bin/python3 - "$tmp/pairs.tsv" "$tmp/pairs.jsonl" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
with open(sys.argv[2], "w") as f:
    for i, (q, p) in enumerate(rows):
        f.write(json.dumps({"query": q, "positive": p, "negative": rows[(i + 1) % len(rows)][1]}) + "\n")
PY
"$LOOM" train-embed "${common[@]}" --pairs "$tmp/pairs.jsonl" --steps 2 --batch 4 --pooling last \
  --symmetric --out "$tmp/l" > /dev/null 2> "$tmp/err3" || fail "train-embed jsonl: $(tail -2 "$tmp/err3")"
grep -q "72 pairs (72 with a hard negative" "$tmp/err3" || fail "hard negatives: $(head -1 "$tmp/err3")"
"$LOOM" embed --model "$tmp/l" --input "$tmp/probe.txt" --output "$tmp/w.npy" --max-tokens 48 \
  > /dev/null 2> "$tmp/err4" || fail "embed last"
grep -q "last pooling (model files)" "$tmp/err4" || fail "last pooling not recorded: $(cat "$tmp/err4")"

# --stop-at then --resume continues exactly: same losses and the same model as one run.
r=(--pairs "$tmp/pairs.tsv" --steps 6 --batch 6 --save-every 2)
"$LOOM" train-embed "${common[@]}" "${r[@]}" --out "$tmp/ra" > /dev/null 2>&1 || fail "run a"
"$LOOM" train-embed "${common[@]}" "${r[@]}" --out "$tmp/rb" --stop-at 3 > /dev/null 2>&1 || fail "run b"
"$LOOM" train-embed "${common[@]}" "${r[@]}" --out "$tmp/rb" > /dev/null 2>&1 && fail "overwrote a run without --resume"
"$LOOM" train-embed "${common[@]}" "${r[@]}" --out "$tmp/rb" --resume > /dev/null 2>&1 || fail "resume"
[ "$(cut -d, -f1-4 "$tmp/ra/log.csv")" = "$(cut -d, -f1-4 "$tmp/rb/log.csv")" ] || fail "resumed losses differ"
cmp -s "$tmp/ra/model.safetensors" "$tmp/rb/model.safetensors" || fail "resumed model differs"
"$LOOM" train-embed "${common[@]}" "${r[@]}" --out "$tmp/rb" --resume --pooling last > /dev/null 2>&1 \
  && fail "resume with another pooling accepted"

# Malformed input: named by file:line; --skip-bad skips and lists it.
{ head -5 "$tmp/pairs.tsv"; echo "no tab here"; } > "$tmp/bad.tsv"
out=$("$LOOM" train-embed "${common[@]}" --pairs "$tmp/bad.tsv" --steps 1 --batch 2 --out "$tmp/b" 2>&1)
[ $? -ne 0 ] || fail "bad pairs accepted"
echo "$out" | grep -q "bad.tsv:6: 1 tab-separated fields" || fail "error does not name the line: $out"
"$LOOM" train-embed "${common[@]}" --pairs "$tmp/bad.tsv" --skip-bad --steps 1 --batch 2 \
  --out "$tmp/b2" > /dev/null 2> "$tmp/err5" || fail "--skip-bad"
grep -q "skipped .*bad.tsv:6" "$tmp/err5" || fail "skip not listed"
echo "ok"
