#!/usr/bin/python3
"""Golden LoRA forward/backward for Loom (tests/train/lora_test.cpp).

Tiny random-weight Llama (GQA, untied head, HF half-split RoPE) and GPT-2 (Conv1D weights, tied
head) from common/ref_models.py (Hugging Face's math and names), with LoRA adapters as PEFT
implements them: y = base(x) + (alpha / r) * (x @ A.T) @ B.T, A (r, in), B (out, r), on every
projection of every block (Llama q,k,v,o,gate,up,down; GPT-2 c_attn, attn.c_proj, c_fc,
mlp.c_proj). A and B are random (B nonzero, so both get gradients). Writes the parameters, ids,
targets, the loss and the gradients of every A and B and of the token embedding.
Files: lora_<arch>.bin (raw little-endian float32) and lora_<arch>.txt ("name offset numel dims";
"config key value" lines first) — the layout of train_golden.py.
Run: /usr/bin/python3 tests/reference/train/train_lora_golden.py   (Debian python3-torch 1.13)
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import TensorGolden  # noqa: E402

torch.manual_seed(4321)
torch.set_num_threads(1)
B, T = 2, 10
RANK, ALPHA = 4, 8.0


def gpt2_config(c):
    return rm.Config(vocab=c["vocab"], dim=c["d"], layers=c["layers"], heads=c["heads"],
                     hidden=c["ff"], eps=c["eps"], ctx=c["max_seq"])


def llama_config(c):
    return rm.Config(vocab=c["vocab"], dim=c["d"], layers=c["layers"], heads=c["heads"],
                     kv_heads=c["kv_heads"], hidden=c["ff"], eps=c["eps"], theta=c["theta"])


def gpt2_params(c):
    return rm.gpt2_random_params(gpt2_config(c), lora_rank=RANK)[0]


def llama_params(c):
    return rm.llama_random_params(llama_config(c), lora_rank=RANK)[0]


def gpt2_loss(p, c, ids, targets):
    logits = rm.gpt2_logits(p, gpt2_config(c), ids, adapter=rm.lora_adapter(p, RANK, ALPHA))
    return rm.lm_loss(logits, targets)


def llama_loss(p, c, ids, targets):
    logits = rm.llama_logits(p, llama_config(c), ids, adapter=rm.lora_adapter(p, RANK, ALPHA))
    return rm.lm_loss(logits, targets)


def run(arch, cfg, make_params, loss_fn, emb):
    p = make_params(cfg)
    ids = torch.randint(0, cfg["vocab"], (B, T))
    targets = torch.randint(0, cfg["vocab"], (B, T))
    targets[1, 4] = -100
    w = TensorGolden()
    w.config(dict(cfg, rank=RANK, alpha=ALPHA))
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    w.add("ids", ids.float())
    w.add("targets", targets.float())
    # float64 reference: the golden is exact to far below the tolerance the test applies.
    leaves = {n: p[n].double().clone().requires_grad_(".lora_" in n or n == emb) for n in names}
    loss = loss_fn(leaves, cfg, ids, targets)
    loss.backward()
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        if leaves[n].grad is not None:
            w.add("grad." + n, leaves[n].grad)
    w.save(HERE, "lora_" + arch)
    print(arch, "loss", loss.item(), "floats", w.off)


run("llama", {"vocab": 64, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 64, "eps": 1e-6,
              "theta": 10000.0}, llama_params, llama_loss, "model.embed_tokens.weight")
run("gpt2", {"vocab": 64, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
    gpt2_params, gpt2_loss, "transformer.wte.weight")
