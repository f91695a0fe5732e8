#!/usr/bin/env python3
"""Preference-loss golden for tests/nn/preference_test.cpp.

Inputs (torch.manual_seed(11), float32, kept in the JSON): logits of chosen and rejected
responses (B*T, V), targets (B*T) with -100 on prompt and padding positions, reference
log-probabilities (B). Computed in float64 with plain torch (TRL's definitions):
  logp[b] = sum_t log_softmax(logits)[b,t,target] over targets != -100
  Δ = (logp_c - logp_r) - (ref_c - ref_r)
  sigmoid DPO: mean(-(1-ls)·logsigmoid(β·Δ) - ls·logsigmoid(-β·Δ));  IPO: mean((Δ - 1/(2β))²)
  Bradley-Terry: mean(-logsigmoid(r_c - r_r)) on rewards r (B)
Stored: each loss, d loss / d logits_c, d logits_r (DPO) and d r_c, d r_r (Bradley-Terry).
Run: /usr/bin/python3 tests/reference/nn/preference_golden.py -> tests/reference/nn/preference_golden.json
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import write_json  # noqa: E402

B, T, V = 3, 5, 11


def seq_logprobs(logits, targets):
    lp = F.log_softmax(logits, dim=-1)
    mask = targets != -100
    picked = lp.gather(1, targets.clamp(min=0).unsqueeze(1)).squeeze(1) * mask
    return picked.view(B, T).sum(1)


def main():
    torch.manual_seed(11)
    lc32, lr32 = torch.randn(B * T, V) * 2, torch.randn(B * T, V) * 2
    tc = torch.randint(0, V, (B * T,))
    tr = torch.randint(0, V, (B * T,))
    for tg in (tc, tr):  # prompt (first 2 positions) and a padded tail in the last sequence
        tg.view(B, T)[:, :2] = -100
        tg.view(B, T)[2, 4] = -100
    ref_c32, ref_r32 = torch.randn(B) * 3 - 10, torch.randn(B) * 3 - 10
    r_c32, r_r32 = torch.randn(B), torch.randn(B)
    out = {"B": B, "T": T, "V": V, "logits_c": lc32.flatten().tolist(),
           "logits_r": lr32.flatten().tolist(), "targets_c": tc.tolist(), "targets_r": tr.tolist(),
           "ref_c": ref_c32.tolist(), "ref_r": ref_r32.tolist(), "cases": []}
    for beta, ls, ipo in [(0.1, 0.0, False), (0.5, 0.2, False), (2.0, 0.0, False), (0.3, 0.0, True)]:
        lc = lc32.double().requires_grad_()
        lr = lr32.double().requires_grad_()
        pc, pr = seq_logprobs(lc, tc), seq_logprobs(lr, tr)
        d = (pc - pr) - (ref_c32.double() - ref_r32.double())
        if ipo:
            loss = ((d - 1 / (2 * beta)) ** 2).mean()
        else:
            loss = (-(1 - ls) * F.logsigmoid(beta * d) - ls * F.logsigmoid(-beta * d)).mean()
        loss.backward()
        out["cases"].append({"beta": beta, "label_smoothing": ls, "ipo": ipo,
                             "logp_c": pc.tolist(), "logp_r": pr.tolist(), "loss": loss.item(),
                             "d_logits_c": lc.grad.flatten().tolist(),
                             "d_logits_r": lr.grad.flatten().tolist()})
    rc, rr = r_c32.double().requires_grad_(), r_r32.double().requires_grad_()
    bt = (-F.logsigmoid(rc - rr)).mean()
    bt.backward()
    out["bt"] = {"r_c": r_c32.tolist(), "r_r": r_r32.tolist(), "loss": bt.item(),
                 "d_r_c": rc.grad.tolist(), "d_r_r": rr.grad.tolist()}
    write_json(os.path.join(HERE, "preference_golden.json"), out)


if __name__ == "__main__":
    main()
