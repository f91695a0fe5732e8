#!/usr/bin/env bash
# `loom eval ppl` equals the PyTorch reference (tests/reference/eval/infer_ppl.py) to 1e-3 on the
# tinystories sample (two window/stride settings), token count included.
source "$LOOM_SOURCE_DIR/tests/cli/lib/ppl_check.sh"
check 0
check 1
echo "eval ppl tinystories: ok"
