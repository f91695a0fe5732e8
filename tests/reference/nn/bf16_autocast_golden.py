#!/usr/bin/python3
"""Golden for tests/models/causal_lm_test.cpp (`Bf16Autocast.*`): 50 AdamW steps of a tiny Llama
in float32 and under PyTorch's CPU autocast to bfloat16, from the same weights and batches.

torch.autocast("cpu", dtype=torch.bfloat16) runs matrix products (every projection, q·kᵀ,
attention·v and the LM head) with bfloat16 inputs and outputs, and the rest as the types
promote; parameters, gradients and the optimiser stay float32 (mixed precision with float32
master weights, what Loom's `--bf16` does). Data: a random sparse Markov chain over the
vocabulary (each token has 3 possible successors), batches of 4 x 32 tokens, a new batch each
step. Optimiser: torch.optim.AdamW (lr 3e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01 on
matrices only), gradient norm clipped at 1.0. Writes bf16_autocast.{bin,txt} (the parameters,
every batch, both loss curves).
Run: /usr/bin/python3 tests/reference/nn/bf16_autocast_golden.py   (Debian python3-torch 1.13)
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import TensorGolden  # noqa: E402

CFG = {"vocab": 64, "d": 48, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 96, "eps": 1e-6,
       "theta": 10000.0, "steps": 50, "batch": 4, "seq": 32}


def markov_batches(g):
    n = CFG["steps"] * CFG["batch"] * (CFG["seq"] + 1)
    succ = torch.randint(0, CFG["vocab"], (CFG["vocab"], 3), generator=g)
    pick = torch.randint(0, 3, (n,), generator=g)
    s, cur = [], 0
    for i in range(n):
        s.append(cur)
        cur = int(succ[cur, pick[i]])
    rows = torch.tensor(s).view(CFG["steps"], CFG["batch"], CFG["seq"] + 1)
    return rows[..., :-1], rows[..., 1:]


def train(p, cfg, ids, targets, autocast):
    leaves = {n: t.clone().requires_grad_(True) for n, t in p.items()}
    decay = [t for t in leaves.values() if t.dim() == 2]
    no_decay = [t for t in leaves.values() if t.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for step in range(CFG["steps"]):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = rm.llama_logits(leaves, cfg, ids[step])
        loss = rm.lm_loss(logits.float(), targets[step])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(leaves.values()), 1.0)
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses)


def main():
    torch.manual_seed(2026)
    torch.set_num_threads(1)
    cfg = rm.Config(vocab=CFG["vocab"], dim=CFG["d"], layers=CFG["layers"], heads=CFG["heads"],
                    kv_heads=CFG["kv_heads"], hidden=CFG["ff"], eps=CFG["eps"], theta=CFG["theta"])
    p = rm.llama_random_params(cfg)[0]
    ids, targets = markov_batches(torch.Generator().manual_seed(12))
    w = TensorGolden()
    w.config(CFG)
    for n, t in p.items():
        w.add("param." + n, t)
    w.add("ids", ids.float())
    w.add("targets", targets.float())
    f32 = train(p, cfg, ids, targets, False)
    bf16 = train(p, cfg, ids, targets, True)
    w.add("losses.fp32", f32)
    w.add("losses.autocast_bf16", bf16)
    w.save(HERE, "bf16_autocast")
    dev = ((bf16 - f32).abs() / f32).max().item()
    print(f"fp32 {f32[0]:.4f} -> {f32[-1]:.4f}, autocast bf16 {bf16[0]:.4f} -> {bf16[-1]:.4f}, "
          f"worst step deviation {100 * dev:.3f}%")


if __name__ == "__main__":
    main()
