#!/usr/bin/env bash
# Loom's LLM inference against native peers built on this machine (build_peers.sh, as
# ../shared/peers/README.md describes): llama2.c's run (f32) / runq (int8, group 32) and
# llama.cpp's llama-bench (GGML_NATIVE, OpenMP, f32 KV cache, no flash attention); and, as a last
# column, npm node-llama-cpp 3.21.1's prebuilt generic llama.cpp driven from JavaScript
# (llama_cpp_bench.mjs): what a JavaScript user gets, not what llama.cpp can do.
# Same weights everywhere: make_models.py's random-weight Llamas (~15M: dim 288, 6 layers;
# ~110M: dim 768, 12 layers; Llama 2 vocabulary) as GGUF F32/Q8_0 for Loom and llama.cpp, and
# ../shared/peers/llama2.c/make_llama2c_models.py's llama2.c .bin files replaying the same random
# stream (runq's -q80.bin keeps f32 group scales where GGUF Q8_0 has f16 ones).
# Prints the CPU, the streaming read bandwidth build/bench/llm_bench measures (1 and 2 threads),
# then per model, dtype and thread count:
#   decode: tokens/s of 256 greedy steps from BOS (Loom `generate --steps 256`, llama2.c -n 256,
#           llama-bench -p 0 -n 256 -r 3); ratios Loom / llama2.c and Loom / llama.cpp; "bound" is
#           the bandwidth bound, read bandwidth / weight bytes per token (models that fit in the
#           last-level cache can exceed it)
#   prompt: 512 tokens in one batch (Loom: BOS + 511 tokens of tinyshakespeare; llama-bench
#           -p 512 -n 0 -b 512 -ub 512 -r 3); ratio Loom / llama.cpp
# and sanity lines: Loom's and llama2.c's first 32 greedy tokens on random15M (f32: run, q8_0: runq).
# usage: bench/peers/llm/run.sh   env THREADS ("1 2"), MODELS ("random15M random110M"),
#        DTYPES ("f32 q8_0"), NODE=0 skips the node-llama-cpp column.
# A peer that fails prints "-" in its cells. The first run builds the peers (build_peers.sh: tens of minutes on 2 cores); later runs reuse them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
data=${LOOM_DATA:-$root/../shared/data}
peers=${PEERS:-$root/../shared/peers}
loom=${LOOM:-$root/build/bin/loom}
out=$root/bench/out/llm
bin=$root/bench/out/peers
mkdir -p "$out"
[ -x "$loom" ] || make -C "$root" build
if [ ! -d "$here/node_modules/node-llama-cpp" ]; then
  (cd "$here" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund >/dev/null)
fi
PEERS=$peers "$here/build_peers.sh" "$bin"
/usr/bin/python3 "$here/make_models.py" "$out" "$data" >&2
for f in random15M.bin random15M-q80.bin random110M.bin random110M-q80.bin; do
  [ -f "$out/$f" ] || { /usr/bin/python3 "$peers/llama2.c/make_llama2c_models.py" "$out" >&2; break; }
done

# Prompt file: the longest tinyshakespeare prefix of at most 511 Llama 2 tokens (BOS makes 512).
if [ ! -f "$out/prompt_llama2.txt" ]; then
  /usr/bin/python3 - "$data" "$out" <<'PY'
import sys, sentencepiece as spm
data, out = sys.argv[1], sys.argv[2]
text = open(f"{data}/corpora/tinyshakespeare/input.txt").read()[:20000]
sp = spm.SentencePieceProcessor(model_file=f"{data}/tokenizers/llama2/tokenizer.model")
lo, hi = 0, len(text)
while lo < hi:
    mid = (lo + hi + 1) // 2
    if len(sp.encode(text[:mid])) <= 511: lo = mid
    else: hi = mid - 1
open(f"{out}/prompt_llama2.txt", "w").write(text[:lo])
PY
fi

# loom_tg MODEL T -> "tok/s weight_MB";  loom_pp MODEL T -> "tok/s prompt_tokens"
loom_tg() {
  local err
  err=$("$loom" generate --model "$1" --threads "$2" --temperature 0 --steps 256 --ignore-eos 2>&1 >/dev/null)
  echo "$(sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p' <<<"$err")" \
    "$(sed -n 's/.*weights \([0-9.]*\) MB.*/\1/p' <<<"$err")"
}
loom_pp() {
  local err prompt
  prompt=$(cat "$out/prompt_llama2.txt"; echo .)  # keeps the trailing newline (one token)
  err=$("$loom" generate --model "$1" --threads "$2" --temperature 0 --prompt "${prompt%.}" \
    --steps 0 --max-tokens 1 2>&1 >/dev/null)
  sed -n 's/.*prompt \([0-9]*\) tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\2 \1/p' <<<"$err"
}
# llama2c MODEL.bin T -> tok/s ("achieved tok/s" of 256 steps; run for f32, runq for -q80)
llama2c() {
  local exe=run
  [[ "$1" == *-q80.bin ]] && exe=runq
  OMP_NUM_THREADS=$2 "$bin/llama2.c/$exe" "$1" -z "$data/tokenizers/llama2/tokenizer.bin" -t 0 -n 256 \
    2>&1 >/dev/null | sed -n 's/^achieved tok\/s: \([0-9.]*\).*/\1/p'
}
# llamacpp MODEL T tg|pp -> avg tok/s of llama-bench's 3 repetitions
llamacpp() {
  local test_args=(-p 0 -n 256)
  [ "$3" = pp ] && test_args=(-p 512 -n 0 -b 512 -ub 512)
  "$bin/llama.cpp/build/bin/llama-bench" -m "$1" -t "$2" "${test_args[@]}" -r 3 -ctk f32 -ctv f32 \
    -fa 0 -o jsonl 2>/dev/null | sed -n 's/.*"avg_ts": *\([0-9.e+-]*\).*/\1/p' | tail -1
}
node_tg() {
  [ "${NODE:-1}" = 0 ] && return
  (cd "$here" && node llama_cpp_bench.mjs "$1" "$2" tg 256 2>/dev/null | tail -1) |
    sed -n 's/.*"tok_per_s":\([0-9.e+-]*\).*/\1/p'
}
fmt() { if [ -n "$1" ]; then printf %.1f "$1"; else echo -; fi; }  # a failed run prints "-"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
declare -A bw
for t in ${THREADS:-1 2}; do
  bw[$t]=$("$root/build/bench/llm_bench" --benchmark_filter="ReadBandwidth/$t/" --benchmark_min_time=1 2>/dev/null |
    sed -n 's/.*GB\/s=\([0-9.]*\)G\/s.*/\1/p')
  echo "read bandwidth (build/bench/llm_bench BM_ReadBandwidth), $t thread(s): ${bw[$t]} GB/s"
done

agreement() {  # first 32 greedy tokens from BOS: Loom (GGUF) vs llama2.c run / runq (.bin)
  local dt=$1 l2bin=$2 exe=$3 a b
  a=$("$loom" generate --model "$out/random15M-$dt.gguf" --threads 1 --temperature 0 --steps 32 \
    --ignore-eos 2>/dev/null) || true
  b=$(OMP_NUM_THREADS=1 "$bin/llama2.c/$exe" "$out/$l2bin" -z "$data/tokenizers/llama2/tokenizer.bin" \
    -t 0 -n 32 2>/dev/null) || true
  if [ "$a" = "$b" ]; then echo "greedy agreement, random15M $dt, 32 tokens from BOS: Loom = llama2.c $exe (same text)"
  else printf 'greedy agreement, random15M %s, 32 tokens: DIFFER\n  Loom:     %s\n  llama2.c: %s\n' "$dt" "$a" "$b"; fi
}
agreement f32 random15M.bin run
agreement q8_0 random15M-q80.bin runq

hdr="%-10s %-5s %3s | %8s %8s %9s %8s %8s %8s | %8s %9s %6s | %9s\n"
printf "$hdr" model dtype thr "tg:Loom" llama2.c llama.cpp L/l2c L/lcpp bound "pp:Loom" llama.cpp L/lcpp "node(JS)"
for m in ${MODELS:-random15M random110M}; do
  for dt in ${DTYPES:-f32 q8_0}; do
    gguf=$out/$m-$dt.gguf
    l2bin=$out/$m.bin
    [ "$dt" = q8_0 ] && l2bin=$out/$m-q80.bin
    for t in ${THREADS:-1 2}; do
      read -r ltg wmb < <(loom_tg "$gguf" "$t") || true
      read -r lpp _ < <(loom_pp "$gguf" "$t") || true
      ctg=$(llama2c "$l2bin" "$t") || true
      ptg=$(llamacpp "$gguf" "$t" tg) || true
      ppp=$(llamacpp "$gguf" "$t" pp) || true
      ntg=$(node_tg "$gguf" "$t") || true
      bound=$(awk -v b="${bw[$t]:-0}" -v mb="$wmb" 'BEGIN { if (mb > 0) printf "%.1f", b * 1000 / mb; else print "-" }')
      printf "$hdr" "$m" "$dt" "$t" "$(fmt "$ltg")" "$(fmt "$ctg")" "$(fmt "$ptg")" "$(ratio "$ltg" "$ctg")" \
        "$(ratio "$ltg" "$ptg")" "$bound" "$(fmt "$lpp")" "$(fmt "$ppp")" "$(ratio "$lpp" "$ppp")" "$(fmt "$ntg")"
    done
  done
done
