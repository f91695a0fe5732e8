#!/usr/bin/env bash
# `loom index build --type vamana --pq M`: PQ codes are built, saved and shown by info; queries
# find themselves; M that does not divide the dimension and --pq on another type fail clearly.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY' || fail "python3/numpy unavailable"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.standard_normal((400, 16)).astype('<f4')
np.save(f"{d}/x.npy", x)
np.save(f"{d}/q.npy", x[:5])
PY
"$LOOM" index build --vectors "$tmp/x.npy" --type vamana --pq 8 --metric l2 --out "$tmp/pq.lidx" >/dev/null \
  || fail "build with --pq 8"
first=$("$LOOM" index search --index "$tmp/pq.lidx" --queries "$tmp/q.npy" --k 3 2>/dev/null | awk '$2==1{print $3"/"$4}' | tr '\n' ' ')
[ "$first" = "0/0 1/0 2/0 3/0 4/0 " ] || fail "each query's own id should come first at distance 0, got '$first'"
info=$("$LOOM" index info --index "$tmp/pq.lidx")
grep -q "pq=8 (8-byte codes, 2 dims per subspace)" <<<"$info" || fail "info does not show pq: $info"
"$LOOM" index build --vectors "$tmp/x.npy" --type vamana --metric l2 --out "$tmp/plain.lidx" >/dev/null || fail "plain build"
plain=$(stat -c %s "$tmp/plain.lidx"); pq=$(stat -c %s "$tmp/pq.lidx")
# codes 400 x 8 bytes + codebooks 256 x 16 floats + three section headers
[ $((pq - plain)) -ge $((400 * 8 + 256 * 16 * 4)) ] || fail "PQ file only $((pq - plain)) bytes larger"
"$LOOM" index info --index "$tmp/plain.lidx" | grep -q "pq=" && fail "plain index shows pq"
err=$("$LOOM" index build --vectors "$tmp/x.npy" --type vamana --pq 5 --out "$tmp/bad.lidx" 2>&1 >/dev/null) \
  && fail "--pq 5 with dim 16 accepted"
grep -q "do not divide dimension 16" <<<"$err" || fail "--pq 5 message: $err"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "more than one error line"
err=$("$LOOM" index build --vectors "$tmp/x.npy" --type hnsw --pq 8 --out "$tmp/bad.lidx" 2>&1 >/dev/null) \
  && fail "--pq with hnsw accepted"
grep -q "vamana only" <<<"$err" || fail "--pq hnsw message: $err"
echo "index pq cli: ok"
