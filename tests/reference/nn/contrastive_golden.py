#!/usr/bin/env python3
"""Contrastive-loss golden for tests/nn/contrastive_test.cpp.

Inputs: float32 random q (B,C), p (B,C), hard negatives n (M,C) from torch.manual_seed(7), kept
in the JSON; computed in float64. Definitions (sentence-transformers' MultipleNegativesRankingLoss,
its symmetric variant and MatryoshkaLoss, written out here in plain torch):
  norm(x) = torch.nn.functional.normalize(x, dim=-1)
  S = norm(q) @ cat(norm(p), norm(n)).T / temperature;  L = cross_entropy(S, arange(B))
  symmetric: 0.5 * L + 0.5 * cross_entropy(S[:, :B].T, arange(B))
  matryoshka: sum_k w_k * L(q[:, :d_k], p[:, :d_k], n[:, :d_k]) (each truncation re-normalised)
Also the raw (unnormalised) InfoNCE without negatives. Stored: loss and d loss / d q, p, n.
Run: /usr/bin/python3 tests/reference/nn/contrastive_golden.py -> tests/reference/nn/contrastive_golden.json
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import write_json  # noqa: E402
B, M, C = 5, 3, 12


def info_nce(q, p, n, tau, symmetric, normalize=True):
    if normalize:
        q, p = F.normalize(q, dim=-1), F.normalize(p, dim=-1)
        n = F.normalize(n, dim=-1) if n is not None else None
    docs = torch.cat([p, n]) if n is not None else p
    return rm.info_nce(q, docs, q.shape[0], tau, symmetric)


def main():
    torch.manual_seed(7)
    q32, p32, n32 = torch.randn(B, C), torch.randn(B, C), torch.randn(M, C)
    p32 = p32 + 0.3 * q32  # positives lean towards their queries; the loss stays far from 0
    cases = [
        {"name": "in_batch", "tau": 0.2, "symmetric": False, "negatives": False},
        {"name": "hard_negatives", "tau": 0.05, "symmetric": False, "negatives": True},
        {"name": "symmetric_hard", "tau": 0.1, "symmetric": True, "negatives": True},
        {"name": "symmetric", "tau": 0.5, "symmetric": True, "negatives": False},
        {"name": "raw_dot", "tau": 1.0, "symmetric": False, "negatives": False, "raw": True},
        {"name": "matryoshka", "tau": 0.05, "symmetric": False, "negatives": True,
         "dims": [3, 6, 12], "weights": [1.0, 0.5, 0.25]},
        {"name": "matryoshka_symmetric", "tau": 0.05, "symmetric": True, "negatives": False,
         "dims": [4, 12], "weights": []},
    ]
    for case in cases:
        q = q32.double().requires_grad_()
        p = p32.double().requires_grad_()
        n = n32.double().requires_grad_() if case["negatives"] else None
        if "dims" in case:
            ws = case["weights"] or [1.0] * len(case["dims"])
            loss = sum(w * info_nce(q[:, :d], p[:, :d], n[:, :d] if n is not None else None,
                                    case["tau"], case["symmetric"])
                       for d, w in zip(case["dims"], ws))
        else:
            loss = info_nce(q, p, n, case["tau"], case["symmetric"], not case.get("raw", False))
        loss.backward()
        case["loss"] = loss.item()
        case["dq"] = q.grad.flatten().tolist()
        case["dp"] = p.grad.flatten().tolist()
        case["dn"] = n.grad.flatten().tolist() if n is not None else []
        print(case["name"], case["loss"])
    out = {"B": B, "M": M, "C": C, "q": q32.flatten().tolist(), "p": p32.flatten().tolist(),
           "n": n32.flatten().tolist(), "cases": cases}
    write_json(os.path.join(HERE, "contrastive_golden.json"), out)


if __name__ == "__main__":
    main()
