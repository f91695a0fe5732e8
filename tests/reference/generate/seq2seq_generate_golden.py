#!/usr/bin/env python3
"""Golden for tests/generate/seq2seq_generate_test.cpp: inference of the random-weight T5,
T5 v1.1 and BART of tests/reference/models/{t5,bart} (t5_golden.py's and bart_golden.py's
PyTorch modules, float64), for Loom's encoder-once, cached decoder:
  - teacher-forced logits: the decoder run on [start] + a target, every position's logits
    (Loom computes them token by token through its self- and cross-attention caches, and in
    one pass);
  - beam search with Hugging Face's semantics (beam_search_golden.py's re-implementation) from
    the decoder start token, the full decoder recomputed at every step here.
A case whose float64 and float32 runs pick different tokens is too close to a tie: the script
stops.

  /usr/bin/python3 tests/reference/generate/seq2seq_generate_golden.py   # after t5/bart goldens
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
sys.path.insert(0, HERE)
from beam_search_golden import beam_search  # noqa: E402
from common.golden_io import read_safetensors, write_json  # noqa: E402
from models import bart_golden, t5_golden  # noqa: E402

MODELS = {  # name: (dir under tests/reference, source, target, eos)
    "t5": ("models/t5/t5_hf", [5, 17, 30, 9, 33, 12, 1], [7, 3, 22, 14, 1], 1),
    "t5v11": ("models/t5/t5v11_hf", [8, 21, 11, 4, 1], [19, 6, 30, 1], 1),
    "bart": ("models/bart/bart_hf", [0, 17, 30, 9, 33, 12, 2], [0, 7, 3, 22, 2], 2),
}
BEAMS = [dict(num_beams=3, max_new_tokens=8),
         dict(num_beams=4, max_new_tokens=10, length_penalty=2.0, no_repeat_ngram_size=2,
              num_return_sequences=2)]


def model_fns(name, rel, dtype):
    d = os.path.join(os.path.dirname(HERE), rel)
    w = read_safetensors(os.path.join(d, "model.safetensors"), dtype=dtype)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    if name == "bart":
        enc = lambda ids, m: bart_golden.encode(w, ids, m)  # noqa: E731
        dec = lambda e, em, ids, m: bart_golden.decode(w, e, em, ids, m)  # noqa: E731
    else:
        enc = lambda ids, m: t5_golden.encode(w, cfg, ids, m)  # noqa: E731
        dec = lambda e, em, ids, m: t5_golden.decode(w, cfg, e, em, ids, m)  # noqa: E731
    return cfg, enc, dec


def logits_fn(enc, dec, source):
    ids = torch.tensor([source])
    mask = torch.ones_like(ids)
    e = enc(ids, mask)
    return lambda dec_ids: dec(e, mask, torch.tensor([dec_ids]), torch.ones(1, len(dec_ids)))[0]


def main():
    out = {}
    for name, (rel, source, target, eos) in MODELS.items():
        cfg, enc, dec = model_fns(name, rel, torch.float64)
        _, enc32, dec32 = model_fns(name, rel, torch.float32)
        start = cfg["decoder_start_token_id"]
        fn64, fn32 = logits_fn(enc, dec, source), logits_fn(enc32, dec32, source)
        dec_ids = [start] + target[:-1]
        case = {"model": rel, "source": source, "decoder_ids": dec_ids, "eos": eos,
                "logits": fn64(dec_ids).reshape(-1).tolist(), "beams": []}
        for b in BEAMS:
            res = beam_search(lambda ids: fn64(ids)[-1], [start], eos, **b)
            res32 = beam_search(lambda ids: fn32(ids)[-1], [start], eos, dtype=torch.float32, **b)
            assert [r["tokens"] for r in res] == [r["tokens"] for r in res32], ("near tie", name, b)
            case["beams"].append(dict(b, early_stopping="false", results=res))
        out[name] = case
        print(name, [[(r["tokens"], round(r["score"], 4)) for r in c["results"]]
                     for c in case["beams"]])
    write_json(os.path.join(HERE, "seq2seq_generate.json"), out, indent=1)


if __name__ == "__main__":
    main()
