#!/usr/bin/env bash
# `loom wordvec train|eval|similar|analogy`: training writes loadable vectors (and gensim loads
# them, where python3-gensim is installed), --deterministic gives the same bytes at 1 and 3
# threads, eval prints gensim's golden WordSim-353 score, and bad input fails with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}
ptb="$data/corpora/ptb/ptb.valid.txt"
golden="$LOOM_SOURCE_DIR/tests/reference/wordvec"
[ -f "$ptb" ] || fail "missing $ptb"

"$LOOM" wordvec train --help | grep -q -- "--deterministic" || fail "train --help"
out=$("$LOOM" wordvec train --corpus "$ptb" --out "$tmp/v.bin" --dim 16 --epochs 1 --min-count 3 \
      --threads 2) || fail "train"
grep -q "words/s" <<<"$out" || fail "train summary: $out"
head -c 20 "$tmp/v.bin" | head -1 | grep -Eq '^[0-9]+ 16$' || fail "binary header"
"$LOOM" wordvec train --corpus "$ptb" --out "$tmp/v.txt" --dim 16 --epochs 1 --min-count 3 \
  --arch cbow --hs --negative 0 --json | grep -q '"words_per_second"' || fail "train --json"
for t in 1 3; do
  "$LOOM" wordvec train --corpus "$ptb" --out "$tmp/d$t.bin" --dim 16 --epochs 1 --min-count 3 \
    --deterministic --threads $t >/dev/null || fail "deterministic train $t"
done
cmp -s "$tmp/d1.bin" "$tmp/d3.bin" || fail "--deterministic differs between 1 and 3 threads"

if /usr/bin/python3 -c "import gensim" 2>/dev/null; then
  /usr/bin/python3 - "$tmp" <<'PY' || fail "gensim could not load Loom's files"
import sys
import numpy as np
from gensim.models import KeyedVectors
d = sys.argv[1]
b = KeyedVectors.load_word2vec_format(f"{d}/v.bin", binary=True)
t = KeyedVectors.load_word2vec_format(f"{d}/v.txt", binary=False)
assert b.vector_size == 16 and len(b) > 1000 and len(t) == len(b), (len(b), len(t))
assert b.index_to_key[:3] == ["the", "<unk>", "N"], b.index_to_key[:3]
PY
fi

w=$("$LOOM" wordvec eval --vectors "$golden/golden_vectors.bin" \
    --pairs "$data/wordsim/wordsim353.tsv" --json) || fail "eval"
grep -q '"spearman": 0.287957' <<<"$w" || fail "eval spearman differs from gensim's: $w"
a=$("$LOOM" wordvec eval --vectors "$golden/golden_vectors.bin" \
    --analogies "$data/wordsim/questions-words.txt") || fail "eval analogies"
grep -Eq '^Total accuracy +83 / 905' <<<"$a" || fail "analogy total differs from gensim's: $a"
n=$("$LOOM" wordvec similar --vectors "$golden/golden_vectors.bin" --topn 4 king | wc -l)
[ "$n" -eq 4 ] || fail "similar printed $n lines"
"$LOOM" wordvec analogy --vectors "$golden/golden_vectors.bin" man king woman --json \
  | grep -q '"cosine"' || fail "analogy --json"

printf '2 3\nthe 1.5 2.5 3.5\n' > "$tmp/short.txt"
err=$("$LOOM" wordvec similar --vectors "$tmp/short.txt" the 2>&1 >/dev/null) && fail "short file accepted"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "more than one error line: $err"
grep -q "short.txt: line 3: expected row 2" <<<"$err" || fail "short-file message: $err"
err=$("$LOOM" wordvec similar --vectors "$golden/golden_vectors.bin" qqqzzz 2>&1 >/dev/null) \
  && fail "unknown word accepted"
grep -q "qqqzzz" <<<"$err" || fail "unknown word message: $err"
: > "$tmp/empty.txt"
err=$("$LOOM" wordvec train --corpus "$tmp/empty.txt" --out "$tmp/e.bin" 2>&1 >/dev/null) \
  && fail "empty corpus accepted"
grep -q "the corpus has no words" <<<"$err" || fail "empty corpus message: $err"
[ ! -e "$tmp/e.bin" ] || fail "a file was written for an empty corpus"
printf 'a b c d\n' > "$tmp/q.txt"
err=$("$LOOM" wordvec eval --vectors "$golden/golden_vectors.bin" --analogies "$tmp/q.txt" 2>&1 \
      >/dev/null) && fail "analogies without a section accepted"
grep -q "q.txt: line 1: expected a section header" <<<"$err" || fail "section message: $err"
echo "wordvec cli: ok"
