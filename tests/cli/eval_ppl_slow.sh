#!/usr/bin/env bash
# `loom eval ppl` on the WikiText-2 test split (809k tokens) equals the PyTorch reference
# (tests/reference/eval/infer_ppl.py) to 1e-3, token count included. Labelled slow (name *_slow.sh):
# the sanitizer run leaves it out.
source "$LOOM_SOURCE_DIR/tests/cli/lib/ppl_check.sh"
check 2
echo "eval ppl wikitext-2: ok"
