#!/usr/bin/env python3
"""Perplexity golden for tests/eval/perplexity_test.cpp and tests/cli/generate_eval.sh.

Model: stories260K.bin (llama2.c legacy format) loaded into a PyTorch forward written here
(float64; RMSNorm eps 1e-5, interleaved-pair RoPE theta 10000, GQA, SwiGLU, tied head).
Tokenisation: python sentencepiece with tok512.model on the WHOLE file as one string (bytes kept
as they are, CRLF included), BOS (id 1) prepended: ids = [1] + sp.encode(text).
Windowing: windows of W tokens starting at 0, S, 2S, ...; each window starts from an empty cache;
only tokens not scored by an earlier window are scored; token 0 is never scored.
PPL = exp(sum NLL / scored). Run: /usr/bin/python3 tests/reference/infer_ppl.py [DATA_DIR]
(--keep-large: reuse the WikiText entry already in infer_ppl.json; it takes ~8 minutes.)
"""
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
DATA = ARGS[0] if ARGS else os.path.join(HERE, "..", "..", "..", "shared", "data")
CASES = [("corpora/tinystories/tinystories_sample.txt", 512, 512),
         ("corpora/tinystories/tinystories_sample.txt", 128, 64),
         ("corpora/wikitext-2-raw/wiki.test.raw", 512, 512)]


def load_bin(path):
    raw = open(path, "rb").read()
    dim, hidden, L, H, KV, vocab, seq = struct.unpack("<7i", raw[:28])
    a = np.frombuffer(raw[28:], dtype=np.float32).astype(np.float64)
    hd = dim // H
    o = 0

    def take(*shape):
        nonlocal o
        n = int(np.prod(shape))
        t = torch.from_numpy(a[o:o + n].reshape(shape).copy())
        o += n
        return t
    w = {"emb": take(abs(vocab), dim), "rms_att": take(L, dim), "wq": take(L, dim, dim),
         "wk": take(L, KV * hd, dim), "wv": take(L, KV * hd, dim), "wo": take(L, dim, dim),
         "rms_ffn": take(L, dim), "w1": take(L, hidden, dim), "w2": take(L, dim, hidden),
         "w3": take(L, hidden, dim), "rms_final": take(dim)}
    assert vocab > 0  # tied
    return (dim, hidden, L, H, KV, vocab, seq), w


def rms(x, w):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w


def rope_interleaved(x, pos, hd):
    # x (heads, n, hd): pairs (2i, 2i+1) rotate by pos * 10000^(-2i/hd)
    freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = pos[:, None] * freq[None, :]
    c, s = ang.cos(), ang.sin()
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def forward(cfg, w, ids):
    dim, hidden, L, H, KV, vocab, seq = cfg
    hd, n = dim // H, len(ids)
    x = w["emb"][ids]
    pos = torch.arange(n, dtype=torch.float64)
    mask = torch.triu(torch.full((n, n), float("-inf"), dtype=torch.float64), 1)
    for l in range(L):
        h = rms(x, w["rms_att"][l])
        q = (h @ w["wq"][l].T).view(n, H, hd).transpose(0, 1)
        k = (h @ w["wk"][l].T).view(n, KV, hd).transpose(0, 1)
        v = (h @ w["wv"][l].T).view(n, KV, hd).transpose(0, 1)
        q, k = rope_interleaved(q, pos, hd), rope_interleaved(k, pos, hd)
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1) @ v
        x = x + a.transpose(0, 1).reshape(n, dim) @ w["wo"][l].T
        h = rms(x, w["rms_ffn"][l])
        x = x + (torch.nn.functional.silu(h @ w["w1"][l].T) * (h @ w["w3"][l].T)) @ w["w2"][l].T
    return rms(x, w["rms_final"]) @ w["emb"].T


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
    old = json.load(open(golden)) if "--keep-large" in sys.argv and os.path.exists(golden) else []
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
    with open(golden, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
