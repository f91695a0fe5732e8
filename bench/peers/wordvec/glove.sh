#!/usr/bin/env bash
# Loom's GloVe on the bench corpus, beside Stanford GloVe's figures measured earlier (issue #14:
# 367 s, analogy 12.9 %, WS-353 0.475). Stanford's tool cannot run here (no Debian package, no
# network for its source), so its row is printed as quoted, not measured by this script.
# Settings: Stanford's demo.sh but d=100: vocabulary min count 5, symmetric window 15, 15
# iterations, x_max 10 (demo.sh's; glove.c's default is 100: pass it as the first argument),
# alpha 0.75, eta 0.05, output W + W~ (-model 2). The corpus is prepared as run.sh does (lower-
# cased, cut into words, one sentence per line). Seconds = the whole job: vocabulary,
# co-occurrence counts, training and writing (Stanford's figure covers vocab_count, cooccur,
# shuffle and glove). Scores by `loom wordvec eval` (gensim's conventions): analogy accuracy on
# questions-words.txt over the 300k most frequent words, Spearman on WordSim-353.
#   bench/peers/wordvec/glove.sh [X_MAX=10] [THREADS=2] [EPOCHS=15]
set -euo pipefail
cd "$(dirname "$0")/../../.."
x_max=${1:-10}
threads=${2:-2}
epochs=${3:-15}
dim=100 window=15 min_count=5
data=${LOOM_DATA:-$(cd ../shared/data && pwd)}
corpus=$(bash bench/peers/wordvec/prepare_corpus.sh)
loom=build/bin/loom
out=bench/out/wordvec

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "corpus: $(wc -w < "$corpus") words, $(wc -l < "$corpus") lines; GloVe d=$dim window=$window" \
     "min_count=$min_count x_max=$x_max alpha=0.75 eta=0.05 epochs=$epochs threads=$threads"
loomj=$("$loom" wordvec glove --corpus "$corpus" --out "$out/glove.bin" --dim $dim \
        --window $window --min-count $min_count --x-max "$x_max" --epochs "$epochs" \
        --threads "$threads" --temp-dir "$out" --json)
echo "loom:   $loomj"
an=$("$loom" wordvec eval --vectors "$out/glove.bin" --analogies "$data/wordsim/questions-words.txt" \
     --threads "$threads" --json)
ws=$("$loom" wordvec eval --vectors "$out/glove.bin" --pairs "$data/wordsim/wordsim353.tsv" --json)
/usr/bin/python3 - "$loomj" "$an" "$ws" <<'PY'
import json, sys
l, an, ws = (json.loads(a) for a in sys.argv[1:4])
print("%-34s %7s %9s %9s %8s" % ("", "vocab", "seconds", "analogy", "WS-353"))
print("%-34s %7s %9.0f %8.1f%% %8.3f" % ("Stanford GloVe (issue #14, earlier)", "", 367, 12.9,
                                        0.475))
print("%-34s %7d %9.1f %8.1f%% %8.3f" % ("Loom (this run)", l["vocab"], l["total_seconds"],
      100 * an["analogies"]["accuracy"], ws["pairs"]["spearman"]))
print("loom: counts %.1f s, training %.1f s, %d pairs, peak RSS %d MB, cost %.4f -> %.4f" % (
    l["cooccur_seconds"], l["train_seconds"], l["pairs"], l["peak_rss_mb"], l["epoch_cost"][0],
    l["epoch_cost"][-1]))
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
