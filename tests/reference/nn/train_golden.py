#!/usr/bin/python3
"""Golden gradients and optimiser trajectories for Loom's training engine (tests/nn/causal_lm_test.cpp).

Builds tiny random-weight GPT-2 (learned positions, LayerNorm, GELU-tanh, tied head) and Llama
(RMSNorm, HF half-split RoPE, SwiGLU, GQA, untied head) models with common/ref_models.py
(Hugging Face's GPT2LMHeadModel / LlamaForCausalLM math and parameter names; float32), and writes
for each:
  - every parameter (float32), the input ids and targets (-100 = ignored),
  - the loss and every parameter gradient (computed in float64),
  - ten AdamW steps (torch.optim.AdamW, decay only on matrices, grad clipping at 1.0): the loss
    before each step and every parameter after the tenth,
  - ten SGD steps (momentum 0.9, coupled weight decay): the same.
Files: train_<arch>.bin (raw little-endian float32) and train_<arch>.txt (one line per tensor:
"name offset numel dim..."; offsets in floats; "config key value" lines first).
Run: /usr/bin/python3 tests/reference/nn/train_golden.py   (Debian python3-torch 1.13)
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import TensorGolden  # noqa: E402

torch.manual_seed(1234)
B, T = 2, 12


def gpt2_config(cfg):
    return rm.Config(vocab=cfg["vocab"], dim=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                     hidden=cfg["ff"], eps=cfg["eps"], ctx=cfg["max_seq"])


def llama_config(cfg):
    return rm.Config(vocab=cfg["vocab"], dim=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                     kv_heads=cfg["kv_heads"], hidden=cfg["ff"], eps=cfg["eps"], theta=cfg["theta"])


def gpt2_params(cfg):
    return rm.gpt2_random_params(gpt2_config(cfg))[0]


def llama_params(cfg):
    return rm.llama_random_params(llama_config(cfg))[0]


def gpt2_loss(p, cfg, ids, targets):
    return rm.lm_loss(rm.gpt2_logits(p, gpt2_config(cfg), ids), targets)


def llama_loss(p, cfg, ids, targets):
    return rm.lm_loss(rm.llama_logits(p, llama_config(cfg), ids), targets)


def run(arch, cfg, make_params, loss_fn):
    p = make_params(cfg)
    ids = torch.randint(0, cfg["vocab"], (B, T))
    targets = torch.randint(0, cfg["vocab"], (B, T))
    targets[0, 3] = -100
    targets[1, 7] = -100
    targets[1, 11] = -100
    w = TensorGolden()
    w.config(cfg)
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    w.add("ids", ids.float())
    w.add("targets", targets.float())

    # Loss and gradients in float64 (the float32 parameters exactly): a reference far below the
    # tolerance the test applies, and the same on every machine.
    leaves = {n: p[n].double().clone().requires_grad_(True) for n in names}
    loss = loss_fn(leaves, cfg, ids, targets)
    loss.backward()
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        w.add("grad." + n, leaves[n].grad)

    # Ten AdamW steps: matrices decay, vectors (norms, biases) and wpe do not; clip at 1.0.
    leaves = {n: p[n].clone().requires_grad_(True) for n in names}
    decay = [leaves[n] for n in names if leaves[n].dim() == 2 and n != "transformer.wpe.weight"]
    no_decay = [leaves[n] for n in names if not (leaves[n].dim() == 2 and n != "transformer.wpe.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = loss_fn(leaves, cfg, ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(leaves.values()), 1.0)
        opt.step()
        losses.append(loss.item())
    w.add("adamw.losses", torch.tensor(losses))
    for n in names:
        w.add("adamw." + n, leaves[n])

    # Ten SGD steps: momentum 0.9, coupled weight decay 0.01 on every parameter.
    leaves = {n: p[n].clone().requires_grad_(True) for n in names}
    opt = torch.optim.SGD(list(leaves.values()), lr=0.05, momentum=0.9, weight_decay=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = loss_fn(leaves, cfg, ids, targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    w.add("sgd.losses", torch.tensor(losses))
    for n in names:
        w.add("sgd." + n, leaves[n])
    w.save(HERE, "train_" + arch)
    print(arch, "loss", losses[0], "->", losses[-1], "floats", w.off)


if __name__ == "__main__":
    torch.set_num_threads(1)
    run("gpt2", {"vocab": 96, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
        gpt2_params, gpt2_loss)
    run("llama", {"vocab": 96, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 80,
                  "eps": 1e-6, "theta": 10000.0}, llama_params, llama_loss)
