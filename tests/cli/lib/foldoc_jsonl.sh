#!/usr/bin/env bash
# Instruction and preference JSONL from FOLDOC (one "term<TAB><tags> definition" entry per line),
# chosen by a seeded draw, for `loom train --task sft|dpo` tests and the README demonstration.
#   foldoc_jsonl.sh sft|pairs FOLDOC_TSV N SEED > out.jsonl
# sft:   {"prompt": "define TERM:", "completion": " DEFINITION"}
# pairs: {"prompt": "define TERM:", "chosen": " DEFINITION", "rejected": " ANOTHER TERM'S"}
#        (the drawn entries alternate: a wrong definition, then a pair; so no definition is both
#        chosen somewhere and rejected elsewhere, and held-out pairs share none with training)
# Terms are letters, digits and spaces (at most 20 characters); a definition is its first 60
# printable ASCII characters, cut back to a word boundary, without the <tags>.
set -eu
kind=$1 tsv=$2 n=$3 seed=$4
awk -F'\t' -v kind="$kind" -v n="$n" -v seed="$seed" '
BEGIN { srand(seed); made = 0 }
made < n && $1 ~ /^[A-Za-z0-9 ]+$/ && length($1) <= 20 && rand() < 0.2 {
  d = $2
  sub(/^<[^>]*> */, "", d)
  gsub(/[^ -~]/, "", d)
  gsub(/[\\"]/, "", d)
  gsub(/ +/, " ", d)
  if (length(d) < 20) next
  if (length(d) > 60) { d = substr(d, 1, 60); sub(/ [^ ]*$/, "", d) }
  if (kind == "sft") {
    printf "{\"prompt\": \"define %s:\", \"completion\": \" %s\"}\n", $1, d
    made++
  } else if (prev == "") {
    prev = d  # a wrong definition for the next pair, never a chosen one itself
  } else if (prev != d) {
    printf "{\"prompt\": \"define %s:\", \"chosen\": \" %s\", \"rejected\": \" %s\"}\n", $1, d, prev
    made++
    prev = ""
  }
}' "$tsv"
