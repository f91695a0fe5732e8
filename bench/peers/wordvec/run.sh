#!/usr/bin/env bash
# Loom vs gensim (Debian python3-gensim) word2vec in one run: skip-gram with negative sampling on
# the bench corpus, the same settings for both (d=100, window 5, 5 negatives, min_count 5,
# sample 1e-3, alpha 0.025 -> 0.0001, 1 epoch, 2 threads). The corpus is lower-cased and cut into
# words (letters/digits with inner apostrophes; punctuation dropped) once, and both tools read
# that file, one sentence per line. Words/s = corpus words x epochs / training seconds (reading
# the corpus and training; building the vocabulary is timed apart). Both vector files are scored
# by `loom wordvec eval`, whose scores equal gensim's own (tests/wordvec/evaluate_test.cpp):
# analogy accuracy on questions-words.txt (gensim's default: the 300k most frequent words) and
# Spearman on WordSim-353.
#   bench/peers/wordvec/run.sh [EPOCHS=1] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/../../.."
epochs=${1:-1}
threads=${2:-2}
dim=100 window=5 negative=5
data=${LOOM_DATA:-$(cd ../shared/data && pwd)}
if ! /usr/bin/python3 -c "import gensim" 2>/dev/null; then
  sudo -n apt-get install -y python3-gensim >/dev/null 2>&1 || apt-get install -y python3-gensim >/dev/null
fi
corpus=$(bash bench/peers/wordvec/prepare_corpus.sh)
loom=build/bin/loom
out=bench/out/wordvec

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "corpus: $(wc -w < "$corpus") words, $(wc -l < "$corpus") lines; skip-gram NS d=$dim" \
     "window=$window negative=$negative epochs=$epochs threads=$threads"
gensim=$(/usr/bin/python3 bench/peers/wordvec/gensim_train.py "$corpus" "$out/gensim.bin" \
         $dim $window $negative "$epochs" "$threads")
echo "gensim: $gensim"
loomj=$("$loom" wordvec train --corpus "$corpus" --out "$out/loom.bin" --dim $dim --window $window \
        --negative $negative --epochs "$epochs" --threads "$threads" --json)
echo "loom:   $loomj"
score() {
  "$loom" wordvec eval --vectors "$1" --analogies "$data/wordsim/questions-words.txt" \
    --threads "$threads" --json | /usr/bin/python3 -c \
    'import json,sys; print("%.4f" % json.load(sys.stdin)["analogies"]["accuracy"])'
  "$loom" wordvec eval --vectors "$1" --pairs "$data/wordsim/wordsim353.tsv" --json | \
    /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["pairs"]["spearman"])'
}
g_scores=$(score "$out/gensim.bin")
l_scores=$(score "$out/loom.bin")
read -r g_an g_ws <<<"$(tr '\n' ' ' <<<"$g_scores")"
read -r l_an l_ws <<<"$(tr '\n' ' ' <<<"$l_scores")"
/usr/bin/python3 - "$gensim" "$loomj" "$g_an" "$g_ws" "$l_an" "$l_ws" "$epochs" <<'PY'
import json, sys
g, l = json.loads(sys.argv[1]), json.loads(sys.argv[2])
g_an, g_ws, l_an, l_ws = (float(x) for x in sys.argv[3:7])
def per_cpu(r):
    return r["corpus_words"] * epochs / r["train_cpu_seconds"]
epochs = int(sys.argv[7])
print("%-8s %7s %8s %11s %8s %13s %9s %8s" % ("", "vocab", "train s", "words/s", "CPU s",
      "words/CPU-s", "analogy", "WS-353"))
for name, r, an, ws in (("gensim", g, g_an, g_ws), ("loom", l, l_an, l_ws)):
    print("%-8s %7d %8.2f %11.0f %8.2f %13.0f %8.2f%% %8.4f" % (name, r["vocab"],
          r["train_seconds"], r["words_per_second"], r["train_cpu_seconds"], per_cpu(r),
          100 * an, ws))
print("loom / gensim words/s: %.2fx (per CPU-second: %.2fx)" % (
    l["words_per_second"] / g["words_per_second"], per_cpu(l) / per_cpu(g)))
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
