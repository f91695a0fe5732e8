#!/usr/bin/python3
"""Golden for a sequence-classification step (tests/train/classify_trainer_test.cpp).

Two random-weight models with a 3-label head named as transformers names it:
  bert:  the tiny BERT of models/infer_bert.py (same sizes as infer_bert/bert_hf, fresh weights)
         with BertForSequenceClassification's classifier.weight (3, d) and classifier.bias (3) on
         the pooled output tanh(pooler(h[CLS])).
  llama: the tiny GQA Llama of nn/train_golden.py with LlamaForSequenceClassification's
         score.weight (3, d), no bias, read at each sequence's last token.
Four token sequences of different lengths, each run ALONE (no padding: the C++ side right-pads
them to the batch's longest and must get the same), labels [2, 0, 1, 2]; the loss is the mean
cross-entropy F.cross_entropy(logits, labels), as both transformers classes compute it for
num_labels > 1. Writes every parameter, the ids, the logits, the loss and every parameter
gradient (unused ones, the MLM / LM head: zeros) as classify_<arch>.bin/.txt (train_golden.py's
format), computed in float64.
Then the variants of classify_trainer.h on the same weights (fresh sequences from the same seed
stream): classify_<arch>_mean, the head on the mean of each sequence's final hidden states
(--pooling mean; BERT's pooler unused), and classify_bert_token, token classification: the
classifier on every token's hidden state (BertForTokenClassification), per-token labels with
-100 on [CLS] and on about a third of the other positions (later sub-tokens), the loss the mean
cross-entropy over the labelled tokens of all four sequences (transformers' ignore_index -100).
Run: /usr/bin/python3 tests/reference/train/classify_golden.py   (Debian python3-torch 1.13)
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from nn import train_golden as tg  # noqa: E402
from models import infer_bert as ib  # noqa: E402
from common import ref_models as rm  # noqa: E402
from common.golden_io import TensorGolden  # noqa: E402

torch.manual_seed(1313)
LENS = [5, 9, 3, 12]
LABELS = torch.tensor([2, 0, 1, 2])


def bert_logits(p, cfg, ids):  # ids (T) starting with [CLS] -> logits (3)
    c = rm.Config(vocab=ib.V, dim=ib.C, layers=ib.L, heads=ib.H, hidden=ib.FF, eps=1e-12)
    hid = rm.bert_hidden(p, c, ids[None], None, torch.zeros_like(ids)[None], "bert.", None)
    pooled = rm.bert_pooled(p, hid, "bert.")[0]
    return pooled @ p["classifier.weight"].T + p["classifier.bias"]


def llama_logits(p, cfg, ids):
    last = rm.llama_hidden(p, tg.llama_config(cfg), ids[None])[0][-1]
    return last @ p["score.weight"].T


def token_labels(n):  # per-token labels of a sequence of n: -100 on [CLS] and ~1/3 of the rest
    lab = torch.randint(0, 3, (n,))
    lab[torch.rand(n) < 0.3] = -100
    lab[0] = -100
    return lab


def run(arch, cfg, p, logits_of, first_id=None, stem=None, token=False):
    seqs = [torch.randint(5 if first_id is not None else 0, cfg["vocab"], (n,)) for n in LENS]
    if first_id is not None:
        for s in seqs:
            s[0] = first_id
    labels = torch.cat([token_labels(n) for n in LENS]) if token else LABELS
    w = TensorGolden()
    w.config(cfg)
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    w.add("lens", torch.tensor([float(len(s)) for s in seqs]))
    w.add("ids", torch.cat(seqs).float())
    w.add("labels", labels.float())
    leaves = {n: p[n].double().clone().requires_grad_(True) for n in names}
    logits = (torch.cat if token else torch.stack)([logits_of(leaves, cfg, s) for s in seqs])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    w.add("logits", logits.detach())
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        g = leaves[n].grad
        w.add("grad." + n, g if g is not None else torch.zeros_like(p[n]))
    w.save(HERE, "classify_" + (stem or arch))
    print(stem or arch, "loss", loss.item(), "floats", w.off)


torch.set_num_threads(1)
bert = ib.params(torch.Generator().manual_seed(1313), "bert.", "cls.predictions.", 2, False)
bert["classifier.weight"] = torch.randn(3, ib.C, dtype=torch.float64) * 0.5
bert["classifier.bias"] = torch.randn(3, dtype=torch.float64) * 0.1
run("bert", {"vocab": ib.V, "d": ib.C}, bert, bert_logits, first_id=2)  # [CLS] = 2
llama_cfg = {"vocab": 64, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 80, "eps": 1e-6,
             "theta": 10000.0}
llama = tg.llama_params(llama_cfg)
llama["score.weight"] = torch.randn(3, llama_cfg["d"]) * 0.5
run("llama", llama_cfg, llama, llama_logits)


def bert_hidden(p, ids):  # ids (T) -> (T, C)
    c = rm.Config(vocab=ib.V, dim=ib.C, layers=ib.L, heads=ib.H, hidden=ib.FF, eps=1e-12)
    return rm.bert_hidden(p, c, ids[None], None, torch.zeros_like(ids)[None], "bert.", None)[0]


def bert_mean_logits(p, cfg, ids):
    return bert_hidden(p, ids).mean(0) @ p["classifier.weight"].T + p["classifier.bias"]


def bert_token_logits(p, cfg, ids):  # (T, 3)
    return bert_hidden(p, ids) @ p["classifier.weight"].T + p["classifier.bias"]


def llama_mean_logits(p, cfg, ids):
    return rm.llama_hidden(p, tg.llama_config(cfg), ids[None])[0].mean(0) @ p["score.weight"].T


run("bert", {"vocab": ib.V, "d": ib.C}, bert, bert_mean_logits, first_id=2, stem="bert_mean")
run("llama", llama_cfg, llama, llama_mean_logits, stem="llama_mean")
run("bert", {"vocab": ib.V, "d": ib.C}, bert, bert_token_logits, first_id=2, stem="bert_token",
    token=True)
