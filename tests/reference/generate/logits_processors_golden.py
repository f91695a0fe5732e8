#!/usr/bin/env python3
"""Golden for tests/generate/sampler_test.cpp (`Sampler.DistributionMatchesHuggingFace*`): the
distribution a sampler draws from, after Hugging Face's logits processors and warpers.

Written here in PyTorch after transformers' generation/logits_process.py (not packaged for Debian):
- RepetitionPenaltyLogitsProcessor(penalty): for every distinct token of the history, a score < 0
  is multiplied by the penalty, else divided by it.
- frequency / presence penalties (OpenAI's definition; transformers has none): score -= count *
  frequency_penalty + (count > 0) * presence_penalty, after the repetition penalty.
- TemperatureLogitsWarper: scores / temperature.
- TopKLogitsWarper(k): scores below the k-th largest -> -inf.
- TopPLogitsWarper(p): sort ascending, softmax, cumulative sum; tokens whose cumulative
  probability is <= 1 - p -> -inf (the most probable token is always kept).
- MinPLogitsWarper(min_p): softmax; tokens with probability < min_p * the largest -> -inf.
Then softmax: the distribution, zero for removed tokens. The history window is the whole history
(Loom's penalty_last_n = 0), as Hugging Face penalises every token of input_ids.

  /usr/bin/python3 tests/reference/generate/logits_processors_golden.py
Writes tests/reference/generate/logits_processors.json.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import write_json  # noqa: E402

VOCAB = 64
CASES = [
    dict(temperature=1.0),
    dict(temperature=0.7),
    dict(temperature=1.0, top_k=5),
    dict(temperature=1.3, top_k=12),
    dict(temperature=1.0, top_p=0.8),
    dict(temperature=0.6, top_p=0.5),
    dict(temperature=1.0, min_p=0.1),
    dict(temperature=1.5, min_p=0.05),
    dict(temperature=1.0, repetition_penalty=1.3),
    dict(temperature=1.0, frequency_penalty=0.5, presence_penalty=0.3),
    dict(temperature=0.8, top_k=20, top_p=0.9, min_p=0.02, repetition_penalty=1.2,
         frequency_penalty=0.2, presence_penalty=0.1),
]


def process(scores, history, c):
    s = scores.clone()
    if c.get("repetition_penalty", 1.0) != 1.0:
        ids = torch.tensor(sorted(set(history)))
        picked = s[ids]
        s[ids] = torch.where(picked < 0, picked * c["repetition_penalty"],
                             picked / c["repetition_penalty"])
    freq, pres = c.get("frequency_penalty", 0.0), c.get("presence_penalty", 0.0)
    if freq or pres:
        counts = torch.bincount(torch.tensor(history), minlength=VOCAB).to(s.dtype)
        s = s - counts * freq - (counts > 0).to(s.dtype) * pres
    s = s / c["temperature"]
    if "top_k" in c:
        kth = torch.topk(s, c["top_k"]).values[-1]
        s = s.masked_fill(s < kth, -float("inf"))
    if "top_p" in c:
        sorted_s, order = torch.sort(s, descending=False)
        cum = sorted_s.softmax(-1).cumsum(-1)
        remove = cum <= 1 - c["top_p"]
        remove[-1] = False
        s = s.masked_fill(remove.scatter(0, order, remove), -float("inf"))
    if "min_p" in c:
        p = s.softmax(-1)
        s = s.masked_fill(p < c["min_p"] * p.max(), -float("inf"))
    return s.softmax(-1)


def main():
    g = torch.Generator().manual_seed(7)
    scores = torch.randn(VOCAB, generator=g, dtype=torch.float64) * 2.5
    history = torch.randint(0, VOCAB, (40,), generator=g).tolist()
    cases = []
    for c in CASES:
        probs = process(scores, history, c)
        cases.append({"config": c, "probs": probs.tolist()})
    write_json(os.path.join(HERE, "logits_processors.json"),
               {"logits": scores.float().tolist(), "history": history, "cases": cases})


if __name__ == "__main__":
    main()
