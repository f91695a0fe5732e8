# Sourced by tests/cli/train_finetune*.sh (after `set -u` and fail()): FOLDOC "define TERM:"
# instruction data (40 lines, seed 1) in $tmp/sft.jsonl and preference pairs (16, seed 2) in
# $tmp/pairs.jsonl, stories260K flags in base, and log.csv helpers. $tmp is removed on exit.
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}"
m="$data/models/stories260K"
foldoc="$data/corpora/foldoc/foldoc.tsv"
[ -f "$m/stories260K.bin" ] && [ -f "$foldoc" ] || fail "missing stories260K or FOLDOC in $data"
here=$(dirname "${BASH_SOURCE[0]}")/..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/lib/foldoc_jsonl.sh" sft "$foldoc" 40 1 > "$tmp/sft.jsonl" || fail "sft data"
bash "$here/lib/foldoc_jsonl.sh" pairs "$foldoc" 16 2 > "$tmp/pairs.jsonl" || fail "pair data"
[ "$(wc -l < "$tmp/sft.jsonl")" -eq 40 ] && [ "$(wc -l < "$tmp/pairs.jsonl")" -eq 16 ] ||
  fail "FOLDOC draw gave $(wc -l < "$tmp/sft.jsonl") / $(wc -l < "$tmp/pairs.jsonl") lines"
base=(--init "$m/stories260K.bin" --tokenizer "$m/tok512.model" --seq 64 --batch 4 --warmup 2
      --threads 2)
# Column of a log row by name ($1 log, $2 step, $3 column).
col() { awk -F, -v s="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i }
                                      NR > 1 && $1 == s { print $k }' "$1"; }
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a < b) }'; }

