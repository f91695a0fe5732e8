#!/usr/bin/env python3
"""Goldens for tests/models/bart_test.cpp: BART (Lewis et al. 2020) written from the paper and
facebook/bart-base's published config, in Hugging Face BartForConditionalGeneration names.

The model, as the reference computes it (float64 on weights rounded to float32):
  embed(ids) = shared[ids] * (sqrt(d_model) if scale_embedding else 1) + embed_positions[2 + t]
               (learned positions offset by 2), then layernorm_embedding
  encoder layer (post-LN): x = LN(x + SelfAttn(x)); x = LN(x + fc2(gelu_erf(fc1(x))))
  decoder layer: x = LN(x + CausalSelfAttn(x)); x = LN(x + CrossAttn(x, enc)); x = LN(x + FFN(x))
  attention: softmax(q k^T / sqrt(head_dim) + mask) v with biased q, k, v, out projections
  logits = h shared^T + final_logits_bias (the head is tied to shared)

Writes, under tests/reference/models/bart/:
  bart_hf/{model.safetensors,config.json}  random weights, 2 encoder + 3 decoder layers
  bart.{bin,txt}  enc_ids, enc_mask, dec_ids, dec_mask, labels (right padded, pad 1, labels -100
                  on padding), enc_hidden, logits, r_enc, r_logits, ce,
                  loss = ce + sum(enc_hidden*r_enc) + sum(logits*r_logits), grad.<name>.
Run: /usr/bin/python3 tests/reference/models/bart_golden.py
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common.golden_io import write_safetensors  # noqa: E402
from models.t5_golden import seq2seq_golden  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bart")
V, C, H, FF, L, LD, P = 41, 16, 4, 32, 2, 3, 16
ENC = [[0, 17, 30, 9, 33, 12, 2], [0, 21, 11, 2], [0, 4, 29, 5, 2]]  # bos 0, eos 2, pad 1
LABELS = [[0, 7, 3, 22, 2], [0, 19, 2], [0, 27, 3, 2]]


def layer_norm(x, w, b):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def attend(w, p, x, kv, mask):
    B, Tq, _ = x.shape
    Tk, D = kv.shape[1], C // H
    lin = lambda t, n: t @ w[p + n + ".weight"].T + w[p + n + ".bias"]
    q = lin(x, "q_proj").view(B, Tq, H, D).transpose(1, 2)
    k = lin(kv, "k_proj").view(B, Tk, H, D).transpose(1, 2)
    v = lin(kv, "v_proj").view(B, Tk, H, D).transpose(1, 2)
    s = (q @ k.transpose(2, 3)) / math.sqrt(D)
    s = s.masked_fill(~mask[:, None], float("-inf"))
    a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, Tq, C)
    return lin(a, "out_proj")


def ffn(w, p, x):
    h = gelu(x @ w[p + "fc1.weight"].T + w[p + "fc1.bias"])
    return h @ w[p + "fc2.weight"].T + w[p + "fc2.bias"]


def embed(w, stack, ids):
    x = w["model.shared.weight"][ids] + w[f"model.{stack}.embed_positions.weight"][
        2 + torch.arange(ids.shape[1])][None]
    p = f"model.{stack}.layernorm_embedding."
    return layer_norm(x, w[p + "weight"], w[p + "bias"])


def encode(w, ids, mask):
    x = embed(w, "encoder", ids)
    keys = mask.bool()[:, None, :]
    for i in range(L):
        p = f"model.encoder.layers.{i}."
        ln = lambda t, n: layer_norm(t, w[p + n + ".weight"], w[p + n + ".bias"])
        x = ln(x + attend(w, p + "self_attn.", x, x, keys), "self_attn_layer_norm")
        x = ln(x + ffn(w, p, x), "final_layer_norm")
    return x


def decode(w, enc, enc_mask, ids, mask):
    x = embed(w, "decoder", ids)
    causal = torch.tril(torch.ones(ids.shape[1], ids.shape[1], dtype=torch.bool))
    self_keys = causal[None] & mask.bool()[:, None, :]
    cross_keys = enc_mask.bool()[:, None, :]
    for i in range(LD):
        p = f"model.decoder.layers.{i}."
        ln = lambda t, n: layer_norm(t, w[p + n + ".weight"], w[p + n + ".bias"])
        x = ln(x + attend(w, p + "self_attn.", x, x, self_keys), "self_attn_layer_norm")
        x = ln(x + attend(w, p + "encoder_attn.", x, enc, cross_keys), "encoder_attn_layer_norm")
        x = ln(x + ffn(w, p, x), "final_layer_norm")
    return x @ w["model.shared.weight"].T + w["final_logits_bias"]


def params(g):
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.3
    w = {"final_logits_bias": r(1, V), "model.shared.weight": r(V, C) * 3}
    for stack, n in (("encoder", L), ("decoder", LD)):
        m = f"model.{stack}."
        w[m + "embed_positions.weight"] = r(P + 2, C)
        for i in range(n):
            p = f"{m}layers.{i}."
            for a in ("self_attn.",) + (("encoder_attn.",) if stack == "decoder" else ()):
                for n_ in ("k_proj", "v_proj", "q_proj", "out_proj"):
                    w[p + a + n_ + ".weight"], w[p + a + n_ + ".bias"] = r(C, C), r(C)
                ln = "self_attn_layer_norm." if a == "self_attn." else "encoder_attn_layer_norm."
                w[p + ln + "weight"], w[p + ln + "bias"] = 1 + r(C), r(C)
            w[p + "fc1.weight"], w[p + "fc1.bias"] = r(FF, C), r(FF)
            w[p + "fc2.weight"], w[p + "fc2.bias"] = r(C, FF), r(C)
            w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"] = 1 + r(C), r(C)
        w[m + "layernorm_embedding.weight"] = 1 + r(C)
        w[m + "layernorm_embedding.bias"] = r(C)
    return {k: v.float().double() for k, v in w.items()}


def config_json():
    return {"activation_dropout": 0.1, "activation_function": "gelu", "add_bias_logits": False,
            "add_final_layer_norm": False, "architectures": ["BartForConditionalGeneration"],
            "attention_dropout": 0.1, "bos_token_id": 0, "d_model": C,
            "decoder_attention_heads": H, "decoder_ffn_dim": FF, "decoder_layers": LD,
            "decoder_start_token_id": 2, "dropout": 0.1, "encoder_attention_heads": H,
            "encoder_ffn_dim": FF, "encoder_layers": L, "eos_token_id": 2,
            "is_encoder_decoder": True, "max_position_embeddings": P, "model_type": "bart",
            "normalize_before": False, "pad_token_id": 1, "scale_embedding": False,
            "torch_dtype": "float32", "transformers_version": "4.40.0", "use_cache": True,
            "vocab_size": V}


def main():
    os.makedirs(os.path.join(OUT, "bart_hf"), exist_ok=True)
    g = torch.Generator().manual_seed(20261204)
    w = params(g)
    write_safetensors(os.path.join(OUT, "bart_hf", "model.safetensors"), w)
    with open(os.path.join(OUT, "bart_hf", "config.json"), "w") as f:
        json.dump(config_json(), f, indent=2)
    seq2seq_golden(w, g, encode, decode, 1, 2, OUT, "bart", (ENC, LABELS))  # pad 1, start 2
    print("wrote", OUT)


if __name__ == "__main__":
    main()
