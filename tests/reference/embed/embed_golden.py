#!/usr/bin/env python3
"""Embedding golden for tests/embed/embedder_test.cpp and tests/cli/embed.sh.

Model: stories260K.bin through common/ref_models.py's Llama (float64, as infer_ppl.py), stopping at the
final RMSNorm (the hidden states an embedder pools). Tokenisation: python sentencepiece with
tok512.model, BOS (id 1) prepended: ids = [1] + sp.encode(text).
Pooling over all tokens, BOS included (as sentence-transformers pools every attended token):
mean, weighted-mean (weights 1..T, SGPT), last token, first token; then L2 normalisation.
Matryoshka: the first 16 values of the mean pool, re-normalised.
Run: /usr/bin/python3 tests/reference/embed/embed_golden.py [DATA_DIR]  -> tests/reference/embed/embed_golden.json
"""
import os
import sys

import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from eval import infer_ppl  # noqa: E402  (load_bin)
from common import ref_models as rm  # noqa: E402
from common.golden_io import write_json  # noqa: E402

DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
TEXTS = ["Once upon a time, there was a little girl named Lily.",
         "The cat sat on the mat.",
         "Tom and his dog went to the park to play with a big red ball.",
         "x",
         "She was very happy! \"Thank you,\" she said to her mom."]


def hidden(cfg, w, ids):
    """ids (T) -> the final RMSNorm's output (T, dim)."""
    return rm.llama_hidden(w, cfg, ids, interleaved=True)


def unit(v):
    return v / v.norm()


def main():
    cfg, w = infer_ppl.load_bin(os.path.join(DATA, "models/stories260K/stories260K.bin"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(DATA, "models/stories260K/tok512.model"))
    torch.set_grad_enabled(False)
    out = []
    for text in TEXTS:
        ids = [1] + sp.encode(text)
        h = hidden(cfg, w, ids)
        t = h.shape[0]
        wts = torch.arange(1, t + 1, dtype=torch.float64)[:, None]
        mean = h.mean(0)
        pools = {"mean": mean, "weighted-mean": (h * wts).sum(0) / wts.sum(),
                 "last": h[-1], "cls": h[0]}
        case = {"text": text, "ids": ids, "mean_raw": mean.tolist()}
        for name, v in pools.items():
            case[name] = unit(v).tolist()
        case["mean_dims16"] = unit(mean[:16]).tolist()
        out.append(case)
        print(len(ids), "tokens:", text)
    write_json(os.path.join(HERE, "embed_golden.json"),
               {"model": "stories260K.bin", "tokenizer": "tok512.model", "cases": out})


if __name__ == "__main__":
    main()
