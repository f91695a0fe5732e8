#!/usr/bin/env python3
"""Golden for models_tests `PeftAdapter.*`: a PEFT adapter directory written by PEFT's layout
rules (no peft package installed), on the random-weight Llama of models/infer_models/llama_hf
(vocab 61, untied head), and the logits of the model PEFT would give after
resize_token_embeddings(64) + PeftModel.from_pretrained + merge_and_unload.

Writes, under tests/reference/adapt/peft_adapter/:
  adapter_config.json        peft_type LORA, r 4, lora_alpha 8, target_modules q_proj, v_proj,
                             down_proj; trainable_token_indices {"embed_tokens": [61, 62, 63, 5],
                             "lm_head": [61, 62, 63]} (row 5 of the embedding is re-trained too;
                             PEFT allows indices of existing tokens). No Loom fields: a file PEFT
                             itself could have written.
  adapter_model.safetensors  base_model.model.<module>.lora_A.weight (r, in), .lora_B.weight
                             (out, r), base_model.model.<module>.token_adapter.trainable_tokens_delta
                             (n, dim): the rows' values, which PEFT's TrainableTokensLayer
                             index_copy()s into the weight (src/peft/tuners/trainable_tokens/
                             layer.py); the adapter name "default" is stripped from every key as
                             PEFT's get_peft_model_state_dict does.
  logits.json                float64 logits (n, 64) of the merged model for a few prompts that use
                             the new ids.
Run: /usr/bin/python3 tests/reference/adapt/peft_adapter_golden.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import read_hf_dir, write_json, write_safetensors  # noqa: E402

BASE = os.path.join(os.path.dirname(HERE), "models", "infer_models", "llama_hf")
OUT = os.path.join(HERE, "peft_adapter")
NEW_VOCAB = 64
EMBED_IDX = [61, 62, 63, 5]
HEAD_IDX = [61, 62, 63]
RANK, ALPHA = 4, 8
TARGETS = ["q_proj", "v_proj", "down_proj"]
PROMPTS = [[1, 61, 9, 62, 5, 40, 63], [63, 63, 2], [60, 5, 17, 61, 8, 21, 11, 59, 30, 62, 12]]


def main():
    torch.manual_seed(19)
    cfg, w = read_hf_dir(BASE)  # float64 copies of the stored float32 values
    c = rm.Config(vocab=NEW_VOCAB, dim=cfg["hidden_size"], layers=cfg["num_hidden_layers"],
                  heads=cfg["num_attention_heads"], kv_heads=cfg["num_key_value_heads"],
                  hidden=cfg["intermediate_size"], eps=cfg["rms_norm_eps"],
                  theta=cfg["rope_theta"], ctx=cfg["max_position_embeddings"])
    f32 = lambda t: t.float().double()  # noqa: E731  the values as the file stores them
    tensors = {}
    merged = dict(w)
    for l in range(c.layers):
        for m in TARGETS:
            mod = f"model.layers.{l}." + ("mlp." if m == "down_proj" else "self_attn.") + m
            out_f, in_f = w[mod + ".weight"].shape
            a = f32((torch.rand(RANK, in_f, dtype=torch.float64) * 2 - 1) / in_f ** 0.5)
            b = f32(torch.randn(out_f, RANK, dtype=torch.float64) * 0.1)
            tensors[f"base_model.model.{mod}.lora_A.weight"] = a
            tensors[f"base_model.model.{mod}.lora_B.weight"] = b
            merged[mod + ".weight"] = w[mod + ".weight"] + (ALPHA / RANK) * (b @ a)
    for name, mod, idx in (("model.embed_tokens.weight", "model.embed_tokens", EMBED_IDX),
                           ("lm_head.weight", "lm_head", HEAD_IDX)):
        rows = f32(torch.randn(len(idx), c.dim, dtype=torch.float64) * 0.5)
        tensors[f"base_model.model.{mod}.token_adapter.trainable_tokens_delta"] = rows
        # resize_token_embeddings: new rows (whatever their init) are all overwritten below.
        grown = torch.zeros(NEW_VOCAB, c.dim, dtype=torch.float64)
        grown[:cfg["vocab_size"]] = w[name]
        merged[name] = grown.index_copy(0, torch.tensor(idx), rows)
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "adapter_model.safetensors"), tensors)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "llama_hf",
        "r": RANK, "lora_alpha": ALPHA, "lora_dropout": 0.0, "bias": "none",
        "fan_in_fan_out": False, "target_modules": TARGETS, "modules_to_save": None,
        "use_rslora": False, "use_dora": False, "inference_mode": True, "rank_pattern": {},
        "alpha_pattern": {}, "layers_to_transform": None,
        "trainable_token_indices": {"embed_tokens": EMBED_IDX, "lm_head": HEAD_IDX},
    }
    with open(os.path.join(OUT, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)  # as PeftConfig.save_pretrained
    logits = [rm.llama_logits(merged, c, p).reshape(-1).tolist() for p in PROMPTS]
    write_json(os.path.join(OUT, "logits.json"), {"prompts": PROMPTS, "llama": logits})


if __name__ == "__main__":
    main()
