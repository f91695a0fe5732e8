#!/usr/bin/env python3
"""Golden for tests/adapt/report_test.cpp: the report's per-document scores for stories260K.

Convention of src/adapt/report.h: each line is one document; ids = [BOS=1] + sp.encode(line)
(python sentencepiece, tok512.model); every token after BOS is scored; a document longer than the
context (512) is cut into windows [s, s + 512) with s = 0, 511, 1022, ... (overlap of one token),
each run from an empty cache, position k of a window predicting token k + 1. Bits = -log2 p.
Bytes = the line's UTF-8 bytes; words = runs of bytes other than space, \\t, \\r, \\v, \\f.
The forward pass is infer_ppl.py's (common/ref_models.py, float64, llama2.c conventions).
Documents: held-out FOLDOC entries (1-based line numbers divisible by 10) 1..40, and every line
of the TinyStories sample. Writes tests/reference/adapt/adapt_report.json.

  /usr/bin/python3 tests/reference/adapt/adapt_report_golden.py [DATA_DIR]
"""
import json
import math
import os
import re
import sys

import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from eval import infer_ppl  # noqa: E402
from common.golden_io import write_json  # noqa: E402

DATA = infer_ppl.DATA
CTX = 512
N_HELDOUT = 40


def lines_of(rel):
    data = open(os.path.join(DATA, rel), "rb").read()
    out = data.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return out


def score(cfg, w, sp, docs):
    s = dict(docs=0, bytes=0, words=0, tokens=0, nll_bits=0.0, longest=0)
    for d in docs:
        s["docs"] += 1
        s["bytes"] += len(d)
        s["words"] += len(re.findall(rb"[^ \t\r\v\f]+", d))
        body = sp.encode(d.decode("utf-8"))
        s["tokens"] += len(body)
        if not body:
            continue
        ids = [1] + body
        s["longest"] = max(s["longest"], len(ids))
        start = 0
        while start + 1 < len(ids):
            win = ids[start:start + CTX]
            logp = torch.log_softmax(infer_ppl.forward(cfg, w, win), -1)
            for k in range(len(win) - 1):
                s["nll_bits"] -= logp[k, win[k + 1]].item() / math.log(2)
            start += CTX - 1
    return s


def main():
    torch.set_grad_enabled(False)
    cfg, w = infer_ppl.load_bin(os.path.join(DATA, "models/stories260K/stories260K.bin"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(DATA, "models/stories260K/tok512.model"))
    foldoc = lines_of("corpora/foldoc/foldoc.tsv")
    heldout = [l for i, l in enumerate(foldoc, 1) if i % 10 == 0][:N_HELDOUT]
    general = lines_of("corpora/tinystories/tinystories_sample.txt")
    out = {"heldout": score(cfg, w, sp, heldout), "general": score(cfg, w, sp, general),
           "n_heldout": N_HELDOUT}
    write_json(os.path.join(HERE, "adapt_report.json"), out, indent=1)
    print(out)


if __name__ == "__main__":
    main()
