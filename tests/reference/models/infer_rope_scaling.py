#!/usr/bin/env python3
"""Goldens for rope scaling (tests/models/transformer_test.cpp, RopeScaling*): the random Llama of
infer_models.py with theta 500 and
  llama3_hf/  config.json rope_scaling {rope_type llama3, factor 8, low_freq_factor 1,
              high_freq_factor 4, original_max_position_embeddings 32}: with head size 8 the
              four frequencies fall in every band (kept, blended, slowed twice)
  llama3.gguf the same weights for llama.cpp: q/k rows interleaved, the per-pair divisors in a
              `rope_freqs.weight` tensor as llama.cpp's converter writes them
  linear_hf/  config.json rope_scaling {type linear, factor 4}
  rope_scaling_logits.json  PyTorch float64 logits for the prompts of infer_models.py
The inverse frequencies are common/ref_models.py's (Hugging Face's _compute_llama3_parameters
written out; the transformers package is not installed) and linear scaling's inv_freq / factor.
Run: /usr/bin/python3 tests/reference/models/infer_rope_scaling.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from models import infer_models as im  # noqa: E402
from common import ref_models as rm  # noqa: E402
from common.golden_io import write_gguf, write_json, write_safetensors  # noqa: E402

OUT = im.OUT
CFG = dict(im.LLAMA, theta=500.0)
LLAMA3 = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
              original_max_position_embeddings=32)


def base_inv(c):
    return rm.rope_inv_freq(c["theta"], c["dim"] // c["heads"])


def llama3_inv(c, s):
    return rm.rope_inv_freq_llama3(c["theta"], c["dim"] // c["heads"], s["factor"],
                                   s["low_freq_factor"], s["high_freq_factor"],
                                   s["original_max_position_embeddings"])


def hf_config(c, scaling):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": c["dim"], "intermediate_size": c["hidden"],
            "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
            "num_key_value_heads": c["kv_heads"], "max_position_embeddings": c["ctx"],
            "rms_norm_eps": c["eps"], "rope_theta": c["theta"], "vocab_size": c["vocab"],
            "tie_word_embeddings": False, "hidden_act": "silu", "rope_scaling": scaling}


def main():
    g = torch.Generator().manual_seed(20240601)
    w = {k: v.float().double() for k, v in im.llama_weights(g).items()}
    inv3 = llama3_inv(CFG, LLAMA3)
    bands = [("kept" if a == b else "slowed" if abs(a - b / LLAMA3["factor"]) < 1e-15 else
              "blended") for a, b in zip(inv3.tolist(), base_inv(CFG).tolist())]
    assert set(bands) == {"kept", "blended", "slowed"}, bands
    for name, scaling in (("llama3_hf", LLAMA3), ("linear_hf", {"type": "linear", "factor": 4.0})):
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        write_safetensors(os.path.join(OUT, name, "model.safetensors"), w)
        with open(os.path.join(OUT, name, "config.json"), "w") as f:
            json.dump(hf_config(CFG, scaling), f, indent=1)
    meta, t = im.llama_to_gguf(w, CFG)
    t["rope_freqs.weight"] = (base_inv(CFG) / inv3).float().double()  # divisors, as llama.cpp
    write_gguf(os.path.join(OUT, "llama3.gguf"), meta, t)
    logits = {"prompts": im.PROMPTS,
              "llama3": [im.llama_forward(w, p, CFG, inv3).flatten().tolist() for p in im.PROMPTS],
              "linear": [im.llama_forward(w, p, CFG, base_inv(CFG) / 4.0).flatten().tolist()
                         for p in im.PROMPTS]}
    write_json(os.path.join(OUT, "rope_scaling_logits.json"), logits)
    print("wrote", OUT, "bands", bands)


if __name__ == "__main__":
    main()
