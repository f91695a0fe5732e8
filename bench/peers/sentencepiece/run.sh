#!/usr/bin/env bash
# Loom vs libsentencepiece (Debian python3-sentencepiece) encoding the bench corpus with the
# Llama 2 tokenizer.model, 1 and 2 threads. Both encode the whole corpus as a list of lines
# (split on "\n", no BOS/EOS); file reading is outside the timed region; best of REPEAT runs.
# Also times Loom's byte-level BPE trainer (32k vocab) on the same text.
#   bench/peers/sentencepiece/run.sh [MB=20] [REPEAT=2]
set -euo pipefail
cd "$(dirname "$0")/../../.."
mb=${1:-20}
repeat=${2:-2}
data=${LOOM_DATA:-$(cd ../shared/data && pwd)}
model="$data/tokenizers/llama2/tokenizer.model"

if ! /usr/bin/python3 -c "import sentencepiece" 2>/dev/null; then
  sudo -n apt-get install -y python3-sentencepiece >/dev/null 2>&1 || apt-get install -y python3-sentencepiece >/dev/null
fi
mkdir -p bench/out
[ -s bench/out/corpus.txt ] || ../shared/tools/bench-corpus bench/out/corpus.txt >/dev/null
corpus=bench/out/corpus_${mb}mb.txt
[ -s "$corpus" ] || head -c $((mb * 1000000)) bench/out/corpus.txt > "$corpus"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target sentencepiece_bench >/dev/null
loom=build/bench/sentencepiece_bench

spm_mb_s() {
  /usr/bin/python3 - "$model" "$corpus" "$1" "$repeat" <<'PY'
import sys, time
import sentencepiece as spm
model, corpus, threads, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sp = spm.SentencePieceProcessor(model_file=model)
data = open(corpus, "rb").read()
lines = data.split(b"\n")
if data.endswith(b"\n"):
    lines.pop()
best = 1e30
for _ in range(repeat):
    t = time.perf_counter()
    ids = sp.encode(lines, num_threads=threads)
    best = min(best, time.perf_counter() - t)
print("%.2f %d" % (len(data) / 1e6 / best, sum(len(x) for x in ids)))
PY
}

echo "corpus: $corpus ($(wc -c < "$corpus") bytes, $(wc -l < "$corpus") lines), model: Llama 2 tokenizer.model"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
printf "%-8s %14s %18s %8s\n" threads "loom MB/s" "sentencepiece MB/s" ratio
for t in 1 2; do
  read -r loom_mb loom_tokens < <($loom --sp_report --sp_model="$model" --sp_corpus="$corpus" \
      --sp_threads=$t --sp_repeat="$repeat" | awk '{print $2, $6}')
  read -r spm_mb spm_tokens < <(spm_mb_s $t)
  [ "$loom_tokens" = "$spm_tokens" ] || { echo "token counts differ: loom $loom_tokens spm $spm_tokens"; exit 1; }
  printf "%-8s %14s %18s %7.2fx\n" "$t" "$loom_mb" "$spm_mb" "$(echo "$loom_mb / $spm_mb" | bc -l)"
done
echo "(token counts identical: $loom_tokens)"
echo "BPE trainer, vocab 32000, whitespace pre-tokens of the same text (Loom only; no HF trainer peer is installed):"
$loom --sp_report --sp_train_bpe=32000 --sp_corpus="$corpus" --sp_repeat=1
