#!/usr/bin/env bash
# `loom index build|search|info` on small .npy files; a dimension mismatch, NaN input and a
# corrupted index file fail with one clear line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY' || fail "python3/numpy unavailable"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.standard_normal((300, 8)).astype('<f4')
np.save(f"{d}/x.npy", x)
np.save(f"{d}/q.npy", x[:5])
np.save(f"{d}/q3.npy", x[:5, :3])
np.save(f"{d}/ids.npy", np.arange(300, dtype='<i8') * 10 + 1)
bad = x.copy(); bad[4, 2] = np.nan
np.save(f"{d}/nan.npy", bad)
PY
for t in flat hnsw vamana; do
  "$LOOM" index build --vectors "$tmp/x.npy" --ids "$tmp/ids.npy" --type $t --metric l2 --out "$tmp/$t.lidx" >/dev/null \
    || fail "build $t"
  first=$("$LOOM" index search --index "$tmp/$t.lidx" --queries "$tmp/q.npy" --k 3 2>/dev/null | awk '$2==1{print $3}' | tr '\n' ' ')
  [ "$first" = "1 11 21 31 41 " ] || fail "$t: each query's own id should come first, got '$first'"
  "$LOOM" index info --index "$tmp/$t.lidx" | grep -q "^type	$t" || fail "info $t"
done
"$LOOM" index info --index "$tmp/hnsw.lidx" --json | grep -q '"vectors": 300' || fail "info --json"
err=$("$LOOM" index search --index "$tmp/hnsw.lidx" --queries "$tmp/q3.npy" 2>&1 >/dev/null) && fail "dim mismatch accepted"
grep -q "dimension mismatch" <<<"$err" || fail "dim mismatch message: $err"
err=$("$LOOM" index build --vectors "$tmp/nan.npy" --out "$tmp/n.lidx" 2>&1 >/dev/null) && fail "NaN accepted"
grep -q "row 4" <<<"$err" || fail "NaN message: $err"
[ ! -e "$tmp/n.lidx" ] || fail "a file was written for bad input"
cp "$tmp/hnsw.lidx" "$tmp/c.lidx"
printf '\x55' | dd of="$tmp/c.lidx" bs=1 seek=200 conv=notrunc 2>/dev/null
err=$("$LOOM" index info --index "$tmp/c.lidx" 2>&1 >/dev/null) && fail "corrupted file accepted"
grep -q "checksum" <<<"$err" || fail "corruption message: $err"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "more than one error line"
echo "index cli: ok"
