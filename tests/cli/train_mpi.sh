#!/usr/bin/env bash
# Data parallelism: `mpirun -np 2 loom train ... --accum 1` takes the same steps as one process
# with --accum 2 (the same global batch: process r runs micro-batch r of each step, gradients are
# summed across processes): every logged loss and gradient norm agrees within floating-point
# tolerance, the validation losses too; only process 0 writes the run folder and prints. A bad
# loss on one process stops both with one error line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
command -v mpirun > /dev/null || fail "mpirun not found (scripts/install-deps.sh installs openmpi-bin)"
data="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}/corpora/tinyshakespeare/input.txt"
[ -f "$data" ] || fail "missing $data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Containers run CI as root; Open MPI's shared-memory transport needs no network. Open MPI leaks
# at exit, which LeakSanitizer would report in the sanitizer build.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export ASAN_OPTIONS=detect_leaks=0
common=(--text "$data" --d-model 32 --layers 2 --heads 4 --kv-heads 2 --seq 32 --batch 4
        --steps 8 --warmup 2 --lr 5e-3 --eval-every 4 --eval-batches 2 --save-every 4
        --sample 0 --threads 1 --json)

"$LOOM" train "${common[@]}" --accum 2 --out "$tmp/one" > "$tmp/one.json" 2> "$tmp/one.err" ||
  fail "single process: $(tail -2 "$tmp/one.err")"
mpirun -np 2 --oversubscribe "$LOOM" train "${common[@]}" --accum 1 --out "$tmp/two" \
  > "$tmp/two.json" 2> "$tmp/two.err" || fail "mpirun -np 2: $(tail -3 "$tmp/two.err")"
[ "$(wc -l < "$tmp/two.json")" -eq 1 ] || fail "expected one summary line (process 0), got: $(cat "$tmp/two.json")"
grep -q '"steps": 8' "$tmp/two.json" || fail "summary: $(cat "$tmp/two.json")"
[ -f "$tmp/two/checkpoint.loom" ] && [ -f "$tmp/two/model.safetensors" ] || fail "no run folder from process 0"
[ "$(wc -l < "$tmp/two/log.csv")" -eq "$(wc -l < "$tmp/one/log.csv")" ] || fail "log lengths differ"
# Columns: step,loss,lr,grad_norm,tokens_per_s,val_loss. Compare loss, grad_norm and val_loss.
paste -d, "$tmp/one/log.csv" "$tmp/two/log.csv" | tail -n +2 | awk -F, '
  function close_enough(a, b) { if (a == "" && b == "") return 1; d = a - b; if (d < 0) d = -d;
                                m = a < 0 ? -a : a; return d <= 1e-4 * (m > 1 ? m : 1) }
  { if (!close_enough($2, $8) || !close_enough($4, $10) || !close_enough($6, $12)) {
      print "step " $1 ": one process " $2 "/" $4 "/" $6 ", two processes " $8 "/" $10 "/" $12; bad = 1 } }
  END { exit bad }' || fail "losses differ between 1 process (accum 2) and 2 processes (accum 1)"
echo "mpirun -np 2 matches one process: $(sed -n 's/.*"loss": \([0-9.]*\).*/final loss \1/p' "$tmp/two.json")"

# A run that cannot start fails on every process with its error line, and no hang.
timeout 60 mpirun -np 2 --oversubscribe "$LOOM" train "${common[@]}" --out "$tmp/bad" \
  --text "$tmp/missing.txt" > /dev/null 2> "$tmp/bad.err" && fail "a missing --text accepted"
grep -q "missing.txt" "$tmp/bad.err" || fail "no error line: $(head -3 "$tmp/bad.err")"
echo "train mpi: ok"
