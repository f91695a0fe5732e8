#!/usr/bin/env bash
# The CLI grammar: --help lists commands, --version, unknown commands/flags fail with one line.
set -u
fail() { echo "FAIL: $*"; exit 1; }
out=$("$LOOM" --help) || fail "--help exited non-zero"
grep -q "system" <<<"$out" || fail "--help does not list 'system'"
"$LOOM" --version | grep -Eq '^loom [0-9]+\.[0-9]+' || fail "--version"
"$LOOM" system --help | grep -q -- "--threads" || fail "system --help lacks --threads"
"$LOOM" system --json | grep -q '"gemm"' || fail "system --json"
err=$("$LOOM" no-such-command 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "unknown command exited 0"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "unknown command printed more than one line: $err"
err=$("$LOOM" system --bogus 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "unknown flag exited 0"
grep -q -- "--bogus" <<<"$err" || fail "unknown flag error does not name it: $err"
echo "cli basics: ok"
