#!/usr/bin/env bash
# Domain adapters as PEFT directories: `loom train --train new-embeddings,lora` on the stories260K
# extension writes RUN/adapter (adapter_config.json + adapter_model.safetensors with PEFT's names,
# and the extended tokenizer), a few kilobytes beside a model of about a megabyte;
# `loom generate --model stories260K.bin --adapter RUN/adapter --temperature 0` equals generation
# from the merged model token for token, and `loom eval ppl` / `loom embed` agree the same way.
# Bad adapters (another base's sha256, unknown target module, a tokenizer that disagrees with the
# indices, a truncated safetensors) are one line on stderr and a non-zero exit.
set -u
fail() { echo "FAIL: $*"; exit 1; }
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
m="$data/models/stories260K"
[ -f "$m/stories260K.bin" ] || fail "missing $m/stories260K.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -300 "$data/corpora/foldoc/foldoc.tsv" > "$tmp/fold.txt"
printf 'language\nprogramming\ncompiler\nsystem\nprotocol\ncomputer\nnetwork\nsoftware\n' > "$tmp/terms.txt"
"$LOOM" adapt extend --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms.txt" \
  --output "$tmp/ext" > /dev/null || fail "adapt extend"
"$LOOM" train --init "$tmp/ext" --text "$tmp/fold.txt" --heldout-every 10 --seq 64 --batch 4 --warmup 1 \
  --steps 4 --train new-embeddings,lora --lora-rank 4 --lora-targets q,v --lr 2e-2 --eval-every 4 \
  --eval-batches 2 --sample 0 --threads 2 --out "$tmp/run" --json > "$tmp/train.json" || fail "train"
a="$tmp/run/adapter"
bytes=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["adapter_bytes"])' "$tmp/train.json")
model_bytes=$(stat -c %s "$tmp/run/model.safetensors")
[ "$bytes" -gt 0 ] && [ "$bytes" -lt 65536 ] || fail "adapter of $bytes bytes"
/usr/bin/python3 - "$a" <<'PY' || fail "PEFT layout"
import json, struct, sys
d = sys.argv[1]
c = json.load(open(d + "/adapter_config.json"))
assert c["peft_type"] == "LORA" and c["r"] == 4 and c["target_modules"] == ["q_proj", "v_proj"], c
assert c["trainable_token_indices"] == list(range(512, 520)), c["trainable_token_indices"]
assert c["loom"]["base_vocab_size"] == 512 and c["loom"]["vocab_size"] == 520, c["loom"]
raw = open(d + "/adapter_model.safetensors", "rb").read()
h = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
h.pop("__metadata__", None)
want = {"base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta": [8, 64]}
for l in range(5):
    for p in ("q_proj", "v_proj"):
        out = 64 if p == "q_proj" else 32  # stories260K: 8 heads, 4 kv heads of 8 dims
        want[f"base_model.model.model.layers.{l}.self_attn.{p}.lora_A.weight"] = [4, 64]
        want[f"base_model.model.model.layers.{l}.self_attn.{p}.lora_B.weight"] = [out, 4]
got = {k: v["shape"] for k, v in h.items()}
assert got == want, sorted(set(got) ^ set(want))
assert json.load(open(d + "/tokenizer.json"))["added_tokens"][-1]["id"] == 519
PY
gen() { "$LOOM" generate --temperature 0 --steps 60 --prompt "A compiler is a program" --json "$@" 2>/dev/null; }
tokens() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"])'; }
merged=$(gen --model "$tmp/run" | tokens) || fail "generate merged"
adapted=$(gen --model "$m/stories260K.bin" --adapter "$a" | tokens) || fail "generate base + adapter"
[ -n "$merged" ] && [ "$merged" = "$adapted" ] || fail "generation differs: merged $merged, adapter $adapted"
cut -f2 "$tmp/fold.txt" | head -8 > "$tmp/heldout.txt"
p1=$("$LOOM" eval ppl --model "$tmp/run" --text "$tmp/heldout.txt" --json 2>/dev/null) || fail "ppl merged"
p2=$("$LOOM" eval ppl --model "$m/stories260K.bin" --adapter "$a" --text "$tmp/heldout.txt" --json 2>/dev/null) ||
  fail "ppl base + adapter"
[ "$p1" = "$p2" ] || fail "perplexity differs: $p1 vs $p2"
head -5 "$tmp/heldout.txt" > "$tmp/texts.txt"
"$LOOM" embed --model "$tmp/run" --input "$tmp/texts.txt" --output "$tmp/e1.npy" >/dev/null 2>&1 || fail "embed merged"
"$LOOM" embed --model "$m/stories260K.bin" --adapter "$a" --input "$tmp/texts.txt" --output "$tmp/e2.npy" \
  >/dev/null 2>&1 || fail "embed base + adapter"
cmp -s "$tmp/e1.npy" "$tmp/e2.npy" || fail "embeddings differ"

# Bad adapters: one line naming the file and field, non-zero exit.
bad() {  # bad NAME NEEDLE: generate with the adapter copy $tmp/NAME must fail with NEEDLE
  if "$LOOM" generate --model "$m/stories260K.bin" --adapter "$tmp/$1" --steps 4 > /dev/null 2> "$tmp/err"; then
    fail "$1: accepted"
  fi
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$1: not one line: $(cat "$tmp/err")"
  grep -qF -- "$2" "$tmp/err" || fail "$1: expected '$2' in: $(cat "$tmp/err")"
  [ -z "${VERBOSE:-}" ] || cat "$tmp/err"
}
cp -r "$a" "$tmp/sha"
sed -i 's/"base_rows_sha256": "[0-9a-f]\{8\}/"base_rows_sha256": "00000000/' "$tmp/sha/adapter_config.json"
bad sha "adapter_config.json: loom.base_rows_sha256"
cp -r "$a" "$tmp/target"
sed -i 's/"v_proj"/"w_proj"/' "$tmp/target/adapter_config.json"
bad target "target_modules: unknown module 'w_proj'"
cp -r "$a" "$tmp/tok"
printf 'language\nprogramming\n' > "$tmp/terms2.txt"
"$LOOM" adapt extend --model "$m/stories260K.bin" --tokenizer "$m/tok512.model" --terms "$tmp/terms2.txt" \
  --output "$tmp/ext2" > /dev/null || fail "adapt extend (2 terms)"
cp "$tmp/ext2/tokenizer.json" "$tmp/tok/tokenizer.json"
bad tok "tokenizer.json: 514 tokens but the adapted model has 520"
cp -r "$a" "$tmp/trunc"
head -c 300 "$a/adapter_model.safetensors" > "$tmp/trunc/adapter_model.safetensors"
bad trunc "adapter_model.safetensors"
echo "adapter $bytes bytes (merged model.safetensors $model_bytes bytes); base + adapter generation," \
  "perplexity and embeddings equal the merged model's"
echo "cli adapter: ok"
