#!/usr/bin/env bash
# loom train --init: continued pre-training of the real stories260K (llama2.c .bin and GGUF) on
# FOLDOC lines with every 10th line held out. Checks: held-out loss and perplexity fall; the
# output is a Hugging Face directory that `loom eval ppl` loads; --train new-embeddings keeps the
# original rows bit-identical (read back from model.safetensors with numpy) while new rows move;
# LoRA changes the model and resumes exactly; bad flags fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
m="$data/models/stories260K"
[ -f "$m/stories260K.bin" ] || fail "missing $m/stories260K.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -400 "$data/corpora/foldoc/foldoc.tsv" > "$tmp/fold.txt"
awk 'NR % 10 == 0' "$tmp/fold.txt" > "$tmp/heldout.txt"
common=(--tokenizer "$m/tok512.model" --text "$tmp/fold.txt" --heldout-every 10 --seq 64
        --batch 4 --warmup 1 --eval-every 4 --eval-batches 4 --save-every 4 --sample 0 --threads 2)
num() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
ppl() { "$LOOM" eval ppl --model "$1" --tokenizer "$m/tok512.model" --text "$tmp/heldout.txt" --window 64 --stride 64 | awk '$1 == "perplexity" { print $2 }'; }

# 1. All weights, from the llama2.c file: held-out loss falls, eval ppl loads the directory.
"$LOOM" train --init "$m/stories260K.bin" "${common[@]}" --steps 12 --lr 3e-3 --out "$tmp/all" --json > "$tmp/all.json" ||
  fail "train --init exited non-zero"
for f in model.safetensors config.json tokenizer.model tokenizer.json log.csv checkpoint.loom loss.png; do
  [ -f "$tmp/all/$f" ] || fail "no $f in the output directory"
done
b=$(num "$tmp/all.json" val_loss_before); a=$(num "$tmp/all.json" val_loss)
awk -v b="$b" -v a="$a" 'BEGIN { exit !(a < b - 0.2) }' || fail "held-out loss did not fall: $b -> $a"
p0=$(ppl "$m/stories260K.bin"); p1=$(ppl "$tmp/all")
awk -v b="$p0" -v a="$p1" 'BEGIN { exit !(a < b) }' || fail "held-out perplexity did not fall: $p0 -> $p1"
echo "all: held-out loss $b -> $a, perplexity $p0 -> $p1"
# loom generate loads the directory (and its tokenizer.json) by itself.
"$LOOM" generate --model "$tmp/all" --prompt "A compiler" --steps 12 --temperature 0 > "$tmp/gen.txt" 2>/dev/null ||
  fail "loom generate could not load the trained directory"
[ -n "$(tr -d '[:space:]' < "$tmp/gen.txt")" ] || fail "loom generate printed nothing"

# 2. new-embeddings from the GGUF copy, rows >= 500 new: rows < 500 bit-identical, others move.
"$LOOM" train --init "$m/stories260K.gguf" "${common[@]}" --steps 0 --out "$tmp/base" > /dev/null || fail "steps 0"
"$LOOM" train --init "$m/stories260K.gguf" "${common[@]}" --steps 8 --lr 1e-2 --wd 0.1 --train new-embeddings \
  --base-vocab 500 --out "$tmp/ne" --json > "$tmp/ne.json" || fail "new-embeddings run"
[ "$(num "$tmp/ne.json" original_rows_sha256_before)" = "$(num "$tmp/ne.json" original_rows_sha256_after)" ] ||
  fail "original rows sha256 changed"
/usr/bin/python3 - "$tmp/base/model.safetensors" "$tmp/ne/model.safetensors" <<'PY' || fail "safetensors rows check"
import json, struct, sys
import numpy as np
def load(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"])
    return out
base, ne = load(sys.argv[1]), load(sys.argv[2])
rows = [k for k in ("model.embed_tokens.weight", "lm_head.weight") if k in base]
moved = []
for e in rows:
    assert np.array_equal(base[e][:500], ne[e][:500]), "an original row of " + e + " changed"
    moved.append(int((np.abs(base[e][500:] - ne[e][500:]).max(axis=1) > 0).sum()))
    assert moved[-1] >= 6, "new rows of " + e + " did not move"
for k in base:
    if k not in rows: assert np.array_equal(base[k], ne[k]), k + " changed"
print("new-embeddings: rows < 500 of", ", ".join(rows), "and every other tensor bit-identical;",
      "new rows moved:", moved, "of 12")
PY

# 3. LoRA: the merged model differs from the base; an interrupted run resumes exactly.
lora=(--train lora --lora-rank 4 --lora-alpha 8 --lora-targets q,k,v,o,gate,up,down --steps 8 --lr 1e-2)
"$LOOM" train --init "$m/stories260K.bin" "${common[@]}" "${lora[@]}" --out "$tmp/lora" > /dev/null || fail "lora run"
"$LOOM" train --init "$m/stories260K.bin" "${common[@]}" "${lora[@]}" --out "$tmp/lora2" --stop-at 5 > /dev/null || fail "lora stop-at"
"$LOOM" train --init "$m/stories260K.bin" "${common[@]}" "${lora[@]}" --out "$tmp/lora2" --resume > /dev/null || fail "lora resume"
diff <(cut -d, -f1-4 "$tmp/lora/log.csv") <(cut -d, -f1-4 "$tmp/lora2/log.csv") > /dev/null || fail "LoRA resume differs"
cmp -s "$tmp/lora/model.safetensors" "$tmp/lora2/model.safetensors" || fail "LoRA resumed model differs"
cmp -s "$tmp/base/model.safetensors" "$tmp/lora/model.safetensors" && fail "LoRA merge left the model unchanged"
err=$("$LOOM" train --init "$m/stories260K.bin" "${common[@]}" --train lora --lora-rank 2 --steps 9 --out "$tmp/lora2" --resume 2>&1 >/dev/null) &&
  fail "resumed a LoRA run with another rank"
grep -q "resume with the same flags" <<<"$err" || fail "mode mismatch error: $err"
pl=$(ppl "$tmp/lora"); echo "lora: held-out perplexity $p0 -> $pl"

# 4. Bad input: one line each, nothing trained.
for bad in "--train new-embeddings" "--train lora --lora-targets q,zz" "--train everything" "--lora-rank 4"; do
  err=$("$LOOM" train --init "$m/stories260K.bin" "${common[@]}" --steps 1 $bad --out "$tmp/bad" 2>&1 >/dev/null) &&
    fail "accepted $bad"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "multi-line error for $bad: $err"
done
err=$("$LOOM" train --init "$tmp/nothing" "${common[@]}" --out "$tmp/bad" 2>&1 >/dev/null) && fail "accepted a missing model"
echo "cli train_init: ok"
