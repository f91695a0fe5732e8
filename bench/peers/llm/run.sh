#!/usr/bin/env bash
# Loom vs llama.cpp (npm node-llama-cpp@3.21.1, its prebuilt CPU build; f32 KV cache) on the same
# GGUF files: stories260K and random-weight Llama models of ~15M and ~110M parameters
# (make_models.py), F32 and Q8_0, 1 and 2 threads. Two tests per setting:
#   tg: greedy generation of 256 tokens from BOS (tokens/s over the forward steps)
#   pp: one 512-token prompt (BOS + 511 tokens of tinyshakespeare) processed in a batch
# Prints tokens/s (wall clock) for each and the ratio Loom / llama.cpp, tokens per CPU-second (all
# threads, timed part only; steadier than wall time on a shared machine) and its ratio, and peak
# RSS (/usr/bin/time %M). For decode it also prints the share of the memory-bandwidth bound that
# Loom reaches: weight bytes read per token x tokens/s, over the streaming read bandwidth that
# build/bench/llm_bench measures at the same thread count in the same run (meaningful for models
# larger than the last-level cache; smaller ones are served from cache and exceed 100%).
# usage: bench/peers/llm/run.sh [--quick]   (--quick: stories260K and 15M only)
#   env THREADS="1 2" (default) and MODELS="path.gguf ..." narrow the grid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
data=${LOOM_DATA:-$root/../shared/data}
loom=${LOOM:-$root/build/bin/loom}
out=$root/bench/out/llm
quick=${1:-}
mkdir -p "$out"
[ -x "$loom" ] || make -C "$root" build
if [ ! -d "$here/node_modules/node-llama-cpp" ]; then
  (cd "$here" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund >/dev/null)
fi
/usr/bin/python3 "$here/make_models.py" "$out" "$data" >&2

# Prompt files of at most 511 tokens (BOS makes up to 512; both sides tokenise them alike).
/usr/bin/python3 - "$data" "$out" <<'PY'
import sys, sentencepiece as spm
data, out = sys.argv[1], sys.argv[2]
text = open(f"{data}/corpora/tinyshakespeare/input.txt").read()[:20000]
for name, model in (("llama2", "tokenizers/llama2/tokenizer.model"), ("tok512", "models/stories260K/tok512.model")):
    sp = spm.SentencePieceProcessor(model_file=f"{data}/{model}")
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix with <= 511 tokens
        mid = (lo + hi + 1) // 2
        if len(sp.encode(text[:mid])) <= 511: lo = mid
        else: hi = mid - 1
    open(f"{out}/prompt_{name}.txt", "w").write(text[:lo])
    print(name, "prompt:", len(sp.encode(text[:lo])) + 1, "tokens", file=sys.stderr)
PY

models=("$data/models/stories260K/stories260K.gguf" "$out/random15M-f32.gguf" "$out/random15M-q8_0.gguf")
[ "$quick" = "--quick" ] || models+=("$out/random110M-f32.gguf" "$out/random110M-q8_0.gguf")
if [ -n "${MODELS:-}" ]; then read -r -a models <<<"$MODELS"; fi

# rate_of LINE FIELD: "prompt N tokens in S s (X tok/s)" -> X
loom_run() {  # model threads test prompt_file -> "tok/s tok/cpu-s rss_kb"
  local err rss n cpu
  err=$(mktemp)
  if [ "$3" = tg ]; then
    /usr/bin/time -f "RSS %M" "$loom" generate --model "$1" --threads "$2" --temperature 0 \
      --steps 256 --ignore-eos >/dev/null 2>"$err"
    rate=$(sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p' "$err")
    wmb=$(sed -n 's/.*weights \([0-9.]*\) MB.*/\1/p' "$err")
    n=$(sed -n 's/.*generated \([0-9]*\) tokens.*/\1/p' "$err")
  else
    /usr/bin/time -f "RSS %M" "$loom" generate --model "$1" --threads "$2" --temperature 0 \
      --prompt "$(cat "$4")" --steps 0 --max-tokens 1 >/dev/null 2>"$err"
    rate=$(sed -n 's/.*prompt \([0-9]*\) tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\2/p' "$err")
    n=$(sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' "$err")
  fi
  cpu=$(sed -n 's/.*cpu \([0-9.]*\) s.*/\1/p' "$err")
  rss=$(sed -n 's/^RSS //p' "$err")
  rm -f "$err"
  echo "$rate $(awk -v n="$n" -v c="$cpu" 'BEGIN { if (c > 0) print n / c; else print 0 }') $rss ${wmb:-0}"
}
peer_run() {
  local err json rss
  err=$(mktemp)
  json=$(cd "$here" && /usr/bin/time -f "RSS %M" node llama_cpp_bench.mjs "$1" "$2" "$3" \
    "$([ "$3" = tg ] && echo 256 || echo "$4")" 2>"$err" | tail -1)
  rss=$(sed -n 's/^RSS //p' "$err")
  rm -f "$err"
  echo "$(sed -n 's/.*"tok_per_s":\([0-9.e+-]*\).*/\1/p' <<<"$json") $(sed -n 's/.*"tok_per_cpu_s":\([0-9.e+-]*\).*/\1/p' <<<"$json") $rss"
}

# Streaming read bandwidth (GB/s) per thread count, for the decode rows' share of the bound.
declare -A bw
bench_bin=$(dirname "$loom")/../bench/llm_bench
for t in ${THREADS:-1 2}; do
  bw[$t]=$("$bench_bin" --benchmark_filter="ReadBandwidth/$t/" --benchmark_min_time=1 2>/dev/null |
    sed -n 's/.*GB\/s=\([0-9.]*\)G\/s.*/\1/p')
  echo "read bandwidth, $t thread(s): ${bw[$t]} GB/s" >&2
done

printf "%-20s %3s %3s %10s %10s %6s %11s %11s %6s %8s %8s %6s\n" model thr test loom_tok/s peer_tok/s ratio loom_tok/cpus peer_tok/cpus ratio loom_MB peer_MB bw%
for m in "${models[@]}"; do
  prompt="$out/prompt_llama2.txt"
  [[ "$m" == *stories260K* ]] && prompt="$out/prompt_tok512.txt"
  for t in ${THREADS:-1 2}; do
    for test in tg pp; do
      read -r lr lc lrss wmb < <(loom_run "$m" "$t" "$test" "$prompt")
      read -r pr pc prss < <(peer_run "$m" "$t" "$test" "$prompt")
      ratio=$(awk -v a="$lr" -v b="$pr" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
      cratio=$(awk -v a="$lc" -v b="$pc" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
      share=-
      [ "$test" = tg ] && share=$(awk -v r="$lr" -v mb="$wmb" -v b="${bw[$t]:-0}" 'BEGIN { if (b > 0) printf "%.0f", 100 * r * mb / 1000 / b; else print "-" }')
      printf "%-20s %3s %3s %10.1f %10.1f %6s %11.1f %11.1f %6s %8.1f %8.1f %6s\n" "$(basename "$m" .gguf)" "$t" "$test" \
        "$lr" "$pr" "$ratio" "$lc" "$pc" "$cratio" "$(awk -v k="$lrss" 'BEGIN{print k/1024}')" "$(awk -v k="$prss" 'BEGIN{print k/1024}')" "$share"
    done
  done
done
