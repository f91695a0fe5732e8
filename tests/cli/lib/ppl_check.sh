# Sourced by tests/cli/eval_ppl*.sh: check N runs `loom eval ppl` on case N of the PyTorch golden
# (tests/reference/eval/infer_ppl.json, from tests/reference/eval/infer_ppl.py) and fails unless the token
# count is equal and the perplexity is within 1e-3 (relative).
set -u
LOOM_DATA=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
fail() { echo "FAIL: $*"; exit 1; }
d="$LOOM_DATA/models/stories260K"
golden="$LOOM_SOURCE_DIR/tests/reference/eval/infer_ppl.json"
check() {  # index into the golden list
  read -r file window stride want ntok < <(/usr/bin/python3 -c 'import os,sys; sys.path.insert(0, os.environ["LOOM_SOURCE_DIR"] + "/tests/cli/lib"); from golden import load_golden; c=load_golden(sys.argv[1])["cases"][int(sys.argv[2])]; print(c["file"], c["window"], c["stride"], c["ppl"], c["n_tokens"])' "$golden" "$1")
  out=$("$LOOM" eval ppl --model "$d/stories260K.bin" --tokenizer "$d/tok512.model" --text "$LOOM_DATA/$file" --window "$window" --stride "$stride" --threads 2 --json 2>/dev/null) || fail "eval ppl exited non-zero on $file"
  got=$(sed -n 's/.*"perplexity": \([0-9.]*\).*/\1/p' <<<"$out")
  toks=$(sed -n 's/.*"tokens": \([0-9]*\).*/\1/p' <<<"$out")
  [ "$toks" = "$ntok" ] || fail "$file: $toks tokens, reference $ntok"
  awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 1e-3 * w) }' || fail "$file W=$window S=$stride: ppl $got, reference $want"
  echo "ppl $file W=$window S=$stride: $got (reference $want)"
}
