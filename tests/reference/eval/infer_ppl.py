#!/usr/bin/env python3
"""Perplexity golden for tests/eval/perplexity_test.cpp and tests/cli/generate_eval.sh.

Model: stories260K.bin (llama2.c legacy format) run through common/ref_models.py's Llama
(float64; RMSNorm eps 1e-5, interleaved-pair RoPE theta 10000, GQA, SwiGLU, tied head).
Tokenisation: python sentencepiece with tok512.model on the WHOLE file as one string (bytes kept
as they are, CRLF included), BOS (id 1) prepended: ids = [1] + sp.encode(text).
Windowing: windows of W tokens starting at 0, S, 2S, ...; each window starts from an empty cache;
only tokens not scored by an earlier window are scored; token 0 is never scored.
PPL = exp(sum NLL / scored). Run: /usr/bin/python3 tests/reference/eval/infer_ppl.py [DATA_DIR]
(--keep-large: reuse the WikiText entry already in infer_ppl.json; it takes ~8 minutes.)
"""
import hashlib
import json
import math
import os
import struct
import sys

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
DATA = ARGS[0] if ARGS else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
CASES = [("corpora/tinystories/tinystories_sample.txt", 512, 512),
         ("corpora/tinystories/tinystories_sample.txt", 128, 64),
         ("corpora/wikitext-2-raw/wiki.test.raw", 512, 512)]


def load_bin(path):
    """stories260K.bin -> (Config, HF-named float64 weights; q/k rows in llama2.c's order)."""
    c, w = rm.read_llama2c(path)
    assert w["lm_head.weight"] is w["model.embed_tokens.weight"]  # tied
    return c, w


def forward(cfg, w, ids):
    """ids (T) -> logits (T, vocab): llama2.c conventions, interleaved-pair RoPE."""
    return rm.llama_logits(w, cfg, ids, interleaved=True)


def perplexity(cfg, w, ids, window, stride):
    n, nll, scored, until, begin, windows = len(ids), 0.0, 0, 1, 0, 0
    while until < n:
        end = min(n, begin + window)
        logp = torch.log_softmax(forward(cfg, w, ids[begin:end]), -1)
        for t in range(max(until, begin + 1), end):
            nll -= logp[t - 1 - begin, ids[t]].item()
            scored += 1
        until, begin, windows = end, begin + stride, windows + 1
    return nll, scored, windows


def main():
    cfg, w = load_bin(os.path.join(DATA, "models/stories260K/stories260K.bin"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(DATA, "models/stories260K/tok512.model"))
    out = []
    torch.set_grad_enabled(False)
    golden = os.path.join(HERE, "infer_ppl.json")
    old = json.load(open(golden))["cases"] if "--keep-large" in sys.argv and os.path.exists(golden) else []
    for rel, window, stride in CASES:
        kept = [c for c in old if c["file"] == rel and c["window"] == window and c["stride"] == stride
                and "wikitext" in rel]
        if kept:
            out.append(kept[0])
            continue
        text = open(os.path.join(DATA, rel), "rb").read().decode("utf-8")
        ids = [1] + sp.encode(text)
        nll, scored, windows = perplexity(cfg, w, ids, window, stride)
        digest = hashlib.sha256(struct.pack(f"<{len(ids)}i", *ids)).hexdigest()
        out.append({"file": rel, "window": window, "stride": stride, "n_tokens": len(ids),
                    "ids_sha256": digest, "first_ids": ids[:32], "nll_sum": nll, "scored": scored,
                    "windows": windows, "ppl": math.exp(nll / scored)})
        if len(ids) < 5000:  # small enough to keep: the C++ test scores these ids directly
            out[-1]["ids"] = ids
        print(rel, window, stride, len(ids), "ppl", math.exp(nll / scored))
    write_json(golden, {"cases": out}, indent=1)


if __name__ == "__main__":
    main()
