#!/usr/bin/env python3
"""Golden for tests/generate/tokenizer_codec_test.cpp: greedy continuation of the random-weight
GPT-2 (and Llama: GQA, untied head) of tests/reference/infer_models (gpt2_hf, llama_hf, written by infer_models.py),
computed with common/ref_models.py's GPT2LMHeadModel / LlamaForCausalLM forward (float64): at each
step the full sequence is run again and the argmax of the last position's logits is appended.
Writes tests/reference/generate/generate_gpt2_greedy.json.

  /usr/bin/python3 tests/reference/generate/generate_gpt2_greedy.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from models import infer_models  # noqa: E402  (GPT2 config and gpt2_forward)
from common.golden_io import read_safetensors, write_json  # noqa: E402

PROMPTS = [[50, 3, 17], [1, 5, 9, 13, 2, 40]]


def main():
    res = {}
    for key, forward, ctx, new in (("gpt2", infer_models.gpt2_forward, infer_models.GPT2["ctx"], 99),
                                   ("llama", infer_models.llama_forward, 64, 24)):
        w = read_safetensors(os.path.join(infer_models.OUT, key + "_hf", "model.safetensors"))
        out = []
        for p in PROMPTS:
            ids = list(p)
            while len(ids) < min(ctx, len(p) + new):
                logits = forward(w, ids)[-1]
                top2 = torch.topk(logits, 2).values
                assert (top2[0] - top2[1]).item() > 1e-4, "near tie: pick another prompt"
                ids.append(int(torch.argmax(logits)))
            out.append({"prompt": p, "continuation": ids[len(p):]})
        res[key] = {"model": "models/infer_models/" + key + "_hf", "cases": out}
    write_json(os.path.join(HERE, "generate_gpt2_greedy.json"), res, indent=1)
    print(res)


if __name__ == "__main__":
    main()
