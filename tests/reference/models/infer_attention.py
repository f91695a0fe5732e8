#!/usr/bin/env python3
"""Golden for tests/models/attention_test.cpp: the notes' attention unit test in PyTorch.

d=16, k=v=8, h=2, m=10, random weights (torch.manual_seed(1234)), for multi-head (n_kv_heads=2)
and multi-query (n_kv_heads=1) attention. Weights in checkpoint layout (out, in):
wq (h*k, d), wk (n_kv*k, d), wv (n_kv*v, d), wo (d, h*v). Logits scaled by 1/sqrt(k).
Writes inputs X (b=2, m, d), weights, and the masked (causal) self-attention output Y (b, m, d)
computed in float64 with the notes' einsums. Run: /usr/bin/python3 tests/reference/models/infer_attention.py
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common.golden_io import write_json  # noqa: E402

D, K, V, H, M, B = 16, 8, 8, 2, 10, 2


def attention(X, wq, wk, wv, wo, n_kv):
    # X (b, n, d); the notes' MultiheadAttentionBatched with M = X and a causal mask.
    b, n, d = X.shape
    Pq = wq.reshape(H, K, D).permute(0, 2, 1)        # (h, d, k)
    Pk = wk.reshape(n_kv, K, D).permute(0, 2, 1)     # (g, d, k)
    Pv = wv.reshape(n_kv, V, D).permute(0, 2, 1)     # (g, d, v)
    Po = wo.reshape(D, H, V).permute(1, 0, 2)        # (h, d, v)
    Q = torch.einsum("bnd,hdk->bhnk", X, Pq)
    Kt = torch.einsum("bmd,gdk->bgmk", X, Pk).repeat_interleave(H // n_kv, dim=1)
    Vt = torch.einsum("bmd,gdv->bgmv", X, Pv).repeat_interleave(H // n_kv, dim=1)
    mask = torch.triu(torch.full((n, n), float("-inf"), dtype=X.dtype), diagonal=1)
    logits = torch.einsum("bhnk,bhmk->bhnm", Q, Kt) / math.sqrt(K) + mask
    w = torch.softmax(logits, dim=-1)
    O = torch.einsum("bhnm,bhmv->bhnv", w, Vt)
    return torch.einsum("bhnv,hdv->bnd", O, Po)


def main():
    torch.manual_seed(1234)
    out = {"d": D, "k": K, "v": V, "h": H, "m": M, "b": B, "cases": []}
    X = torch.randn(B, M, D, dtype=torch.float64)
    out["X"] = X.flatten().tolist()
    for name, n_kv in (("mha", H), ("mqa", 1)):
        wq = torch.randn(H * K, D, dtype=torch.float64) / math.sqrt(D)
        wk = torch.randn(n_kv * K, D, dtype=torch.float64) / math.sqrt(D)
        wv = torch.randn(n_kv * V, D, dtype=torch.float64) / math.sqrt(D)
        wo = torch.randn(D, H * V, dtype=torch.float64) / math.sqrt(H * V)
        Y = attention(X, wq, wk, wv, wo, n_kv)
        out["cases"].append({"name": name, "n_kv_heads": n_kv,
                             "wq": wq.flatten().tolist(), "wk": wk.flatten().tolist(),
                             "wv": wv.flatten().tolist(), "wo": wo.flatten().tolist(),
                             "Y": Y.flatten().tolist()})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "infer_attention.json")
    write_json(path, out)
    print("wrote", path)


if __name__ == "__main__":
    main()
