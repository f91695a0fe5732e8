#!/usr/bin/env python3
"""Golden for tests/models/hf_export_test.cpp: stories260K as a Hugging Face LlamaForCausalLM.

Reads ../shared/data/models/stories260K/stories260K.bin (llama2.c float32 format), turns the q/k
rows from llama2.c's interleaved-pair RoPE order into HF's half-split order (the inverse of
llama.cpp's convert permute), and runs common/ref_models.py's LlamaForCausalLM forward
(transformers is not installed): rotate_half RoPE, GQA, SwiGLU, RMSNorm, tied head. Writes tests/reference/models/hf_export/stories260K_logits.json (float64 logits for one prompt).

  /usr/bin/python3 tests/reference/models/hf_export_golden.py            # writes the golden
  /usr/bin/python3 tests/reference/models/hf_export_golden.py --check DIR
      loads DIR/model.safetensors + DIR/config.json (a directory `loom` exported) with HF names,
      runs the same HF forward on the prompt and compares with the golden (prints max rel error).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import read_hf_dir, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("LOOM_DATA", os.path.join(HERE, "..", "..", "..", "..", "shared", "data"))
OUT = os.path.join(HERE, "hf_export", "stories260K_logits.json")
PROMPT = [1, 100, 200, 300, 400, 50, 7, 499, 3]


def read_llama2c_as_hf(path):
    """llama2.c's .bin with HF's half-split q/k rows -> (HF config dict, weights)."""
    c, w = rm.read_llama2c(path)
    for l in range(c.layers):
        p = f"model.layers.{l}.self_attn."
        w[p + "q_proj.weight"] = rm.interleaved_to_half_split(w[p + "q_proj.weight"], c.heads)
        w[p + "k_proj.weight"] = rm.interleaved_to_half_split(w[p + "k_proj.weight"], c.n_kv)
    cfg = dict(hidden_size=c.dim, intermediate_size=c.hidden, num_hidden_layers=c.layers,
               num_attention_heads=c.heads, num_key_value_heads=c.n_kv, rms_norm_eps=1e-5,
               rope_theta=10000.0, vocab_size=c.vocab)
    return cfg, w


def hf_llama_forward(cfg, w, ids):
    return rm.llama_logits(w, rm.llama_config_from_hf(cfg), ids)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        cfg, w = read_hf_dir(sys.argv[2])
        gold = json.load(open(OUT))
        got = hf_llama_forward(cfg, w, gold["prompt"]).flatten()
        ref = torch.tensor(gold["logits"], dtype=torch.float64)
        rel = ((got - ref).abs().max() / ref.abs().max()).item()
        print(f"{sys.argv[2]}: {len(w)} tensors, max |diff| / max |ref| = {rel:.3e}")
        sys.exit(0 if rel < 1e-5 else 1)
    cfg, w = read_llama2c_as_hf(os.path.join(DATA, "models", "stories260K", "stories260K.bin"))
    logits = hf_llama_forward(cfg, w, PROMPT)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write_json(OUT, {"prompt": PROMPT, "vocab": cfg["vocab_size"],
                     "logits": [float("%.9g" % v) for v in logits.flatten().tolist()]})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
