#!/usr/bin/env bash
# `loom tokenizer train --type bpe|wordpiece` writes a tokenizer.json that Loom loads and that gives
# the ids Hugging Face tokenizers gives on the same file (goldens written by
# tests/reference/text/hf_train_golden.js, which trains with the same flags and loads the result with
# HF's Tokenizer.fromFile); also with --add-special, after a save/reload, and on bad flags.
set -u
fail() { echo "FAIL: $*"; exit 1; }
DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
GOLD=$LOOM_SOURCE_DIR/tests/reference/text/hf_goldens
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check_golden() {  # ids_file golden_json [first_ids field]
  /usr/bin/python3 - "$@" <<'PY' || exit 1
import json, os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
ids = [[int(x) for x in l.split()] for l in open(sys.argv[1]).read().split("\n")[:-1]]
g = load_golden(sys.argv[2])
if len(sys.argv) > 3:  # only the first lines, against a list of ids
    want = g[sys.argv[3]]
    for i, w in enumerate(want):
        assert ids[i] == w, f"{sys.argv[3]} line {i+1}: {ids[i][:20]} != {w[:20]}"
    print(f"  {sys.argv[2].split('/')[-1]}: {len(want)} lines with special tokens identical")
    sys.exit(0)
assert len(ids) == g["lines"], f"{len(ids)} output lines, golden has {g['lines']}"
for i, want in enumerate(g["first_ids"]):
    assert ids[i] == want, f"line {i+1}: {ids[i][:20]} != {want[:20]}"
B = g["block_lines"]
for b, digest in enumerate(g["blocks"]):
    h = 0xcbf29ce484222325
    for line in ids[b * B:(b + 1) * B]:
        for w in line + [0xffffffff]:
            for k in range(4):
                h = ((h ^ ((w >> (8 * k)) & 0xff)) * 0x100000001b3) & 0xffffffffffffffff
    assert f"{h:016x}" == digest, f"block {b} (lines {b*B+1}..) differs from the golden"
print(f"  {sys.argv[2].split('/')[-1]}: {len(ids)} lines, {sum(map(len, ids))} tokens identical")
PY
}

train=$DATA/corpora/ptb/ptb.valid.txt
# Flags as in hf_train_golden.js.
"$LOOM" tokenizer train --type bpe --vocab-size 1000 --min-frequency 2 \
  --special-tokens '<|endoftext|>,<pad>' --output "$tmp/bpe.json" "$train" --threads 2 >/dev/null \
  || fail "bpe training exited non-zero"
"$LOOM" tokenizer train --type wordpiece --vocab-size 1000 --output "$tmp/wordpiece.json" \
  --input "$train" --json > "$tmp/wp.out" || fail "wordpiece training exited non-zero"
grep -q '"vocab_size": 1000' "$tmp/wp.out" || fail "wordpiece: not 1000 tokens: $(cat "$tmp/wp.out")"

for cfg in bpe wordpiece; do
  want=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" \
         "$GOLD/trained_${cfg}__ptb_test.json")
  info=$("$LOOM" tokenizer info --tokenizer "$tmp/$cfg.json") || fail "$cfg: info failed"
  grep -q "$want" <<<"$info" || fail "$cfg: vocabulary size is not $want: $info"
  for c in ptb_test:ptb/ptb.test.txt tinyshakespeare:tinyshakespeare/input.txt; do
    "$LOOM" tokenize --tokenizer "$tmp/$cfg.json" --ids < "$DATA/corpora/${c#*:}" > "$tmp/ids" \
      || fail "$cfg: tokenize failed"
    check_golden "$tmp/ids" "$GOLD/trained_${cfg}__${c%%:*}.json"
  done
  head -n 20 "$DATA/corpora/ptb/ptb.test.txt" \
    | "$LOOM" tokenize --tokenizer "$tmp/$cfg.json" --ids --add-special > "$tmp/ids_special"
  check_golden "$tmp/ids_special" "$GOLD/trained_${cfg}__ptb_test.json" first_ids_add_special
done

# Trained to exhaustion on the same text, the merge list is Hugging Face BpeTrainer's, merge for
# merge (digest from hf_train_golden.js).
"$LOOM" tokenizer train --type bpe --vocab-size 30000 --output "$tmp/full.json" "$train" >/dev/null \
  || fail "bpe 30000 exited non-zero"
/usr/bin/python3 - "$tmp/full.json" "$GOLD/trained_bpe_vs_hf_trainer.json" <<'PY' || exit 1
import hashlib, json, os, sys
sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib")
from golden import load_golden
m = json.load(open(sys.argv[1]))["model"]["merges"]
g = load_golden(sys.argv[2])
assert len(m) == g["hf_merges"], f"{len(m)} merges, HF's trainer made {g['hf_merges']}"
d = hashlib.sha256("\n".join(m).encode()).hexdigest()
assert d == g["hf_merges_sha256"], "merge list differs from HF BpeTrainer's"
print(f"  {len(m)} merges identical to HF BpeTrainer's")
PY

# Two threads or one, same file.
"$LOOM" tokenizer train --type bpe --vocab-size 1000 --min-frequency 2 \
  --special-tokens '<|endoftext|>,<pad>' --output "$tmp/bpe1.json" "$train" --threads 1 >/dev/null
cmp -s "$tmp/bpe.json" "$tmp/bpe1.json" || fail "bpe: 1 and 2 threads wrote different files"
# min-frequency stops merging early.
"$LOOM" tokenizer train --type bpe --vocab-size 30000 --min-frequency 1000 --output "$tmp/mf.json" \
  --json "$train" > "$tmp/mf.out"
n=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$tmp/mf.out")
[ "$n" -gt 256 ] && [ "$n" -lt 1000 ] || fail "--min-frequency 1000 gave $n tokens"

# Bad flags: one line, non-zero.
for bad in "--type bpe --vocab-size 10" "--type wordpiece --special-tokens [PAD]" \
           "--type sentencepiece"; do
  err=$("$LOOM" tokenizer train $bad --output "$tmp/x.json" "$train" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "'$bad' exited 0"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "'$bad' printed more than one line: $err"
done
echo "tokenizer train (bpe, wordpiece) vs Hugging Face: ok"
