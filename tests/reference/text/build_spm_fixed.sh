#!/usr/bin/env bash
# Builds spm_train from Debian 12's own sentencepiece 0.1.97 source with one line changed: the
# pruning fix of sentencepiece issue #628 as upstream made it (the total after removing a piece
# grows by its frequency times its alternatives minus one, not times all pieces minus one).
# That binary is the reference for Loom's default (corrected) Unigram pruning; Debian's own
# spm_train is the reference for `--spm-0.1.97-pruning`. Prints the binary's path.
# Usage: tests/reference/text/build_spm_fixed.sh [WORKDIR]   (needs curl, cmake, g++; a few minutes)
set -euo pipefail
work=${1:-$(mktemp -d)}
url=http://deb.debian.org/debian/pool/main/s/sentencepiece/sentencepiece_0.1.97.orig.tar.gz
cd "$work"
[ -f orig.tar.gz ] || curl -sf -m 300 -o orig.tar.gz "$url"
rm -rf src && mkdir src && tar -C src --strip-components=1 -xzf orig.tar.gz
f=src/src/unigram_model_trainer.cc
grep -q 'freq\[i\] \* (alternatives.size() - 1)' "$f" || { echo "unexpected source: $f" >&2; exit 1; }
sed -i 's/freq\[i\] \* (alternatives.size() - 1)/freq[i] * (alternatives[i].size() - 1)/' "$f"
cmake -S src -B build -DCMAKE_BUILD_TYPE=Release -DSPM_ENABLE_SHARED=OFF > cmake.log 2>&1
make -C build -j "$(nproc)" spm_train > make.log 2>&1
echo "$work/build/src/spm_train"
