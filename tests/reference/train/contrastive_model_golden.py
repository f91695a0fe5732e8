#!/usr/bin/python3
"""Golden for a whole contrastive training step of a Loom model (tests/train/contrastive_trainer_test.cpp).

Tiny random-weight Llama (GQA) and GPT-2 models (common/ref_models.py, HF's math and names; the
random parameters of train_golden.py), a batch of (query, positive, hard negative)
token sequences of different lengths, each run through the model ALONE (no padding: the C++ side
pads and must get the same), pooled (mean over the sequence for Llama, last token for GPT-2),
then sentence-transformers' MatryoshkaLoss over MultipleNegativesRankingLoss:
  sum_d  CE(normalize(q[:, :d]) @ normalize([p; n][:, :d]).T / temperature, arange(B))
(Llama: dims {C, C/2}, one hard negative per query; GPT-2: dims {C}, no hard negatives, the
symmetric variant 0.5 * (forward + CE(S[:, :B].T, arange(B)))). Writes every parameter, the ids,
the loss and every parameter gradient as contrastive_<arch>.bin/.txt (train_golden.py's format).
Run: /usr/bin/python3 tests/reference/train/contrastive_model_golden.py   (Debian python3-torch 1.13)
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

torch.manual_seed(4321)
LENS = {"q": [3, 7, 5, 2], "p": [9, 4, 11, 6], "n": [5, 10, 3, 8]}


def llama_hidden(p, cfg, ids):
    # ids (L) -> final-norm output (L, C), run as a batch of one
    return rm.llama_hidden(p, tg.llama_config(cfg), ids[None])[0]


def gpt2_hidden(p, cfg, ids):
    return rm.gpt2_hidden(p, tg.gpt2_config(cfg), ids[None])[0]


def run(arch, cfg, make_params, hidden, pooling, dims, use_neg, symmetric, temperature):
    p = make_params(cfg)
    seqs = {k: [torch.randint(0, cfg["vocab"], (n,)) for n in v] for k, v in LENS.items()}
    w = TensorGolden()
    w.config(cfg)
    w.config({"pooling": pooling, "dims": ",".join(str(d) for d in dims), "hard_negatives": int(use_neg),
              "symmetric": int(symmetric), "temperature": temperature})
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    for k in ("q", "p", "n"):
        w.add(k + ".lens", torch.tensor([float(len(s)) for s in seqs[k]]))
        w.add(k + ".ids", torch.cat(seqs[k]).float())
    # float64 (the float32 parameters exactly): the reference is exact far below the test's bound
    leaves = {n: p[n].double().clone().requires_grad_(True) for n in names}

    def pooled(k):
        rows = []
        for s in seqs[k]:
            h = hidden(leaves, cfg, s)
            rows.append(h.mean(0) if pooling == "mean" else h[-1])
        return torch.stack(rows)

    q, pos = pooled("q"), pooled("p")
    docs = torch.cat([pos, pooled("n")]) if use_neg else pos
    b = q.shape[0]
    loss = sum(rm.info_nce(F.normalize(q[:, :d], dim=-1), F.normalize(docs[:, :d], dim=-1), b,
                        temperature, symmetric) for d in dims)
    loss.backward()
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        g = leaves[n].grad  # None for the LM head, which embeddings do not use
        w.add("grad." + n, g if g is not None else torch.zeros_like(p[n]))
    w.save(HERE, "contrastive_" + arch)
    print(arch, "loss", loss.item(), "floats", w.off)


torch.set_num_threads(1)
run("llama", {"vocab": 64, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 80, "eps": 1e-6,
              "theta": 10000.0}, tg.llama_params, llama_hidden, "mean", [32, 16], True, False, 0.05)
run("gpt2", {"vocab": 64, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
    tg.gpt2_params, gpt2_hidden, "last", [32], False, True, 0.1)
