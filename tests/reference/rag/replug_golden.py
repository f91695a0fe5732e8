#!/usr/bin/env python3
"""Golden for tests/rag/replug_test.cpp: REPLUG's ensembled next-token log-probabilities
(Shi et al. 2023) on the random-weight Llama of tests/reference/infer_models (llama_hf), in
PyTorch float64: three documents with retriever scores, weights softmax(score / tau), and for
each continuation token log sum_d w_d p_LM(y_t | d + context + y_<t), each document's sequence run
whole. Writes tests/reference/rag/replug.json.

  /usr/bin/python3 tests/reference/rag/replug_golden.py      # after infer_models.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from models import infer_models  # noqa: E402
from common.golden_io import read_safetensors, write_json  # noqa: E402

DOCS = [([1, 12, 40, 7], 2.5), ([1, 33, 8], 1.0), ([1, 5, 5, 9, 21, 44], -0.5)]
CONTEXT = [17, 3, 28]
CONTINUATION = [11, 50, 2, 36, 19]
TAUS = [1.0, 0.3]


def main():
    w = read_safetensors(os.path.join(infer_models.OUT, "llama_hf", "model.safetensors"))
    cases = []
    for tau in TAUS:
        weights = torch.softmax(torch.tensor([s for _, s in DOCS], dtype=torch.float64) / tau, 0)
        per_doc = []
        for (doc, _), wd in zip(DOCS, weights):
            seq = doc + CONTEXT + CONTINUATION
            logp = torch.log_softmax(infer_models.llama_forward(w, seq[:-1]), dim=-1)
            start = len(doc) + len(CONTEXT) - 1
            per_doc.append(torch.stack([torch.log(wd) + logp[start + t, y]
                                        for t, y in enumerate(CONTINUATION)]))
        ens = torch.logsumexp(torch.stack(per_doc), dim=0)
        cases.append({"tau": tau, "weights": weights.tolist(), "logprobs": ens.tolist()})
    write_json(os.path.join(HERE, "replug.json"),
               {"model": "models/infer_models/llama_hf",
                "docs": [{"tokens": d, "score": s} for d, s in DOCS], "context": CONTEXT,
                "continuation": CONTINUATION, "cases": cases}, indent=1)
    print(cases)


if __name__ == "__main__":
    main()
