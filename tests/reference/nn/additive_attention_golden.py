#!/usr/bin/python3
"""Golden for nn::additive_attention (tests/nn/additive_attention_test.cpp): Bahdanau attention
written out in PyTorch from the paper (Bahdanau, Cho & Bengio 2015: e_j = v^T tanh(W s + U h_j),
alpha = softmax(e) over the source's valid positions, context = sum_j alpha_j h_j), on a batch of
sources of different lengths. Writes additive_attention.{bin,txt} beside this script: q (B,A),
keys (B*S,A), values (B*S,C), v (A), lengths, the projection r (B,C), the context (B,C), the
weights alpha (B,S) and the gradients of sum(context * r) w.r.t. q, keys, values and v, computed
in float64 from the float32 inputs.

Run: /usr/bin/python3 tests/reference/nn/additive_attention_golden.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import TensorGolden  # noqa: E402

B, S, A, C = 3, 5, 4, 6
LENGTHS = [5, 2, 4]


def attention(q, keys, values, v, lengths):
    e = torch.tanh(q[:, None, :] + keys.view(B, S, A)) @ v  # (B, S)
    mask = torch.arange(S)[None, :] >= torch.tensor(lengths)[:, None]
    alpha = torch.softmax(e.masked_fill(mask, float("-inf")), dim=1)
    return (alpha[..., None] * values.view(B, S, C)).sum(1), alpha


def main():
    torch.manual_seed(77)
    ins = {"q": torch.randn(B, A), "keys": torch.randn(B * S, A), "values": torch.randn(B * S, C),
           "v": torch.randn(A)}
    r = torch.rand(B, C) * 2 - 1
    leaves = {k: t.double().requires_grad_(True) for k, t in ins.items()}
    ctx, alpha = attention(leaves["q"], leaves["keys"], leaves["values"], leaves["v"], LENGTHS)
    (ctx * r.double()).sum().backward()
    g = TensorGolden()
    g.config({"batch": B, "src_len": S, "attn": A, "channels": C})
    for k, t in ins.items():
        g.add(k, t)
    g.add("lengths", torch.tensor(LENGTHS, dtype=torch.float32))
    g.add("r", r)
    g.add("context", ctx)
    g.add("alpha", alpha)
    for k, t in leaves.items():
        g.add("grad." + k, t.grad)
    g.save(HERE, "additive_attention")
    print("wrote", os.path.join(HERE, "additive_attention") + ".{bin,txt}")


if __name__ == "__main__":
    main()
