#!/usr/bin/python3
"""Golden for a reward-model step (tests/train/reward_trainer_test.cpp).

Tiny random-weight Llama (GQA) and GPT-2 models (common/ref_models.py, HF's math and names; the
random parameters of train_golden.py) with a scoring head score.weight (1, d) as transformers'
LlamaForSequenceClassification / GPT2ForSequenceClassification have it (no bias), read at each
sequence's last token. Four preference pairs of token sequences of different lengths, each run
ALONE (no padding: the C++ side right-pads them and must get the same); the Bradley-Terry loss
mean(-logsigmoid(r_chosen - r_rejected)), as TRL's RewardTrainer computes it. Writes every
parameter, the ids, the rewards, the loss and every parameter gradient (the LM head, unused: zeros)
as reward_<arch>.bin/.txt (train_golden.py's format), computed in float64.
Run: /usr/bin/python3 tests/reference/train/reward_model_golden.py   (Debian python3-torch 1.13)
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from nn import train_golden as tg  # noqa: E402  (the random parameters and configs)
from common import ref_models as rm  # noqa: E402
from common.golden_io import TensorGolden  # noqa: E402

torch.manual_seed(2468)
LENS = {"chosen": [5, 9, 3, 12], "rejected": [7, 4, 11, 6]}


def llama_hidden(p, cfg, ids):
    return rm.llama_hidden(p, tg.llama_config(cfg), ids[None])[0]


def gpt2_hidden(p, cfg, ids):
    return rm.gpt2_hidden(p, tg.gpt2_config(cfg), ids[None])[0]


def run(arch, cfg, make_params, hidden):
    p = make_params(cfg)
    p["score.weight"] = torch.randn(1, cfg["d"]) * 0.5
    seqs = {k: [torch.randint(0, cfg["vocab"], (n,)) for n in v] for k, v in LENS.items()}
    w = TensorGolden()
    w.config(cfg)
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    for k in ("chosen", "rejected"):
        w.add(k + ".lens", torch.tensor([float(len(s)) for s in seqs[k]]))
        w.add(k + ".ids", torch.cat(seqs[k]).float())
    leaves = {n: p[n].double().clone().requires_grad_(True) for n in names}

    def rewards(k):  # (B): score.weight · the last token's final hidden state
        last = torch.stack([hidden(leaves, cfg, s)[-1] for s in seqs[k]])
        return (last @ leaves["score.weight"].T)[:, 0]

    rc, rr = rewards("chosen"), rewards("rejected")
    loss = -F.logsigmoid(rc - rr).mean()
    loss.backward()
    w.add("reward.chosen", rc.detach())
    w.add("reward.rejected", rr.detach())
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        g = leaves[n].grad
        w.add("grad." + n, g if g is not None else torch.zeros_like(p[n]))
    w.save(HERE, "reward_" + arch)
    print(arch, "loss", loss.item(), "floats", w.off)


torch.set_num_threads(1)
run("llama", {"vocab": 64, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 80, "eps": 1e-6,
              "theta": 10000.0}, tg.llama_params, llama_hidden)
run("gpt2", {"vocab": 64, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
    tg.gpt2_params, gpt2_hidden)
