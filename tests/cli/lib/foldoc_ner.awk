# A synthetic NER task from FOLDOC (tests/cli/train_token_classify.sh): each entry with a
# <category> and a headword of 1-3 words becomes the CoNLL sentence
# "in <category> , <2-5 definition words> <cue> <headword> , <up to 4 more words>" with the category
# tagged CAT and the headword TERM (B-/I-), the rest O. Deterministic (choices cycle with the entry
# count n); every 5th sentence goes to `dev`, the others to `train`; stops after `limit`.
function emit(w, t) { printf "%s\t%s\n", w, t > out }
BEGIN { FS = "\t"; split("called named termed dubbed", cue, " ") }
NR > 1 && $1 ~ /^[A-Za-z][A-Za-z0-9 -]*$/ && $2 ~ /^<[a-z][a-z ,]*>/ {
  nt = split($1, tw, " "); if (nt > 3) next
  match($2, /^<[^>]*>/); split(substr($2, 2, RLENGTH - 2), cats, ",")
  nd = split(substr($2, RLENGTH + 2), dw, " "); if (nd < 8) next
  n++; out = n % 5 == 0 ? dev : train
  emit("in", "O"); nc = split(cats[1], cw, " ")
  for (i = 1; i <= nc; i++) emit(cw[i], i == 1 ? "B-CAT" : "I-CAT")
  emit(",", "O"); k = 2 + n % 4
  for (i = 1; i <= k; i++) emit(dw[i], "O")
  emit(cue[1 + n % 4], "O")
  for (i = 1; i <= nt; i++) emit(tw[i], i == 1 ? "B-TERM" : "I-TERM")
  emit(",", "O")
  for (i = k + 1; i <= k + 4 && i <= nd; i++) emit(dw[i], "O")
  print "" > out
  if (n >= limit) exit
}
