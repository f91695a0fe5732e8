#!/usr/bin/env bash
# The word-vector bench corpus, shared by run.sh and glove.sh: the bench corpus lower-cased and cut
# into words (letters/digits with inner apostrophes; punctuation dropped), one sentence per line,
# written once to bench/out/wordvec/corpus_words.txt; also builds `loom`. Prints the corpus path.
# Run from the repository root.
set -euo pipefail
mkdir -p bench/out/wordvec
[ -s bench/out/corpus.txt ] || ../shared/tools/bench-corpus bench/out/corpus.txt >/dev/null
corpus=bench/out/wordvec/corpus_words.txt
if [ ! -s "$corpus" ]; then
  /usr/bin/python3 - bench/out/corpus.txt "$corpus" <<'PY'
import re, sys
word = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in f:
        words = word.findall(line.lower())
        if words:
            out.write(" ".join(words) + "\n")
PY
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target loom >/dev/null
echo "$corpus"
