#!/usr/bin/env python3
"""Golden for tests/rag/knn_lm_test.cpp: kNN-LM's distribution (Khandelwal et al. 2020) on a fixed
tiny case, in PyTorch float64: keys (50, 8) rounded to float32, their values (next tokens) in a
vocabulary of 11, 6 queries with LM logits and targets; the k = 8 nearest keys by squared L2,
p_kNN(y) = sum over neighbours with value y of exp(-d/T) / sum of exp(-d/T) (T = 2), and
log p(y) = log(lambda p_kNN(y) + (1 - lambda) softmax(logits)(y)) for several lambdas (null where it is log 0).
Writes tests/reference/rag/knn_lm.json.

  /usr/bin/python3 tests/reference/rag/knn_lm_golden.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import write_json  # noqa: E402

N, D, V, Q, K, T = 50, 8, 11, 6, 8, 2.0
LAMBDAS = [0.0, 0.25, 0.7, 1.0]


def finite(t):
    """A float, or None (JSON null) for log(0) = -inf."""
    v = t.item()
    return v if v != float("-inf") else None


def main():
    g = torch.Generator().manual_seed(20261203)
    keys = torch.randn(N, D, generator=g).float().double()
    values = torch.randint(0, V, (N,), generator=g)
    # Queries near some keys, so neighbours' values repeat the targets sometimes.
    queries = (keys[torch.arange(Q) * 7] + 0.3 * torch.randn(Q, D, generator=g)).float().double()
    logits = (2 * torch.randn(Q, V, generator=g)).float().double()
    targets = values[torch.arange(Q) * 7].clone()
    targets[1] = (targets[1] + 1) % V  # one target no neighbour votes for, maybe
    d2 = ((queries[:, None, :] - keys[None, :, :]) ** 2).sum(-1)
    dist, idx = torch.topk(d2, K, dim=1, largest=False)
    w = torch.softmax(-dist / T, dim=1)
    p_knn = torch.zeros(Q, V, dtype=torch.float64)
    p_knn.scatter_add_(1, values[idx], w)
    p_lm = torch.softmax(logits, dim=1)
    rows = []
    for q in range(Q):
        y = int(targets[q])
        rows.append({"target": y, "p_knn": p_knn[q, y].item(), "neighbours": idx[q].tolist(),
                     "logprob": {str(l): finite(torch.log(l * p_knn[q, y] + (1 - l) * p_lm[q, y]))
                                 for l in LAMBDAS}})
    write_json(os.path.join(HERE, "knn_lm.json"),
               {"k": K, "temperature": T, "vocab": V, "keys": keys.flatten().tolist(),
                "values": values.tolist(), "queries": queries.flatten().tolist(),
                "logits": logits.flatten().tolist(), "cases": rows}, indent=None)
    print([round(r["p_knn"], 4) for r in rows])


if __name__ == "__main__":
    main()
