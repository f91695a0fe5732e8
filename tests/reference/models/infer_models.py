#!/usr/bin/env python3
"""Goldens for tests/models/transformer_test.cpp: random-weight Llama (GQA, untied head) and GPT-2.

Writes, under tests/reference/models/infer_models/:
  llama_hf/{model.safetensors,config.json}   LlamaForCausalLM names, HF (half-split RoPE) q/k rows
  llama.gguf                                  same weights, GGUF llama names; q/k rows permuted to
                                              the interleaved RoPE order as llama.cpp's converter does
  gpt2_hf/{model.safetensors,config.json}    GPT2LMHeadModel names, Conv1D weights stored (in, out)
  gpt2.gguf                                   GGUF gpt2 names, weights (out, in)
  logits.json                                 PyTorch float64 logits (n, vocab) for a few prompts
The forward passes are common/ref_models.py's (no transformers package); HF conventions
throughout. The GGUF and safetensors files are written by common/golden_io.py (no gguf package).
Run: /usr/bin/python3 tests/reference/models/infer_models.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import write_gguf, write_json, write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "infer_models")
PROMPTS = [[1, 5, 9, 13, 2, 40, 33, 7], [3, 3, 3], [60, 0, 17, 42, 8, 21, 11, 59, 30, 4, 12]]

LLAMA = dict(vocab=61, dim=32, heads=4, kv_heads=2, hidden=64, layers=2, ctx=64, eps=1e-5,
             theta=10000.0)
GPT2 = dict(vocab=61, dim=32, heads=4, hidden=128, layers=2, ctx=16, eps=1e-5)


# ---------------------------------------------------------------- Llama
def llama_weights(g):
    c = LLAMA
    hd = c["dim"] // c["heads"]
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.2
    w = {"model.embed_tokens.weight": r(c["vocab"], c["dim"]) * 5}
    for l in range(c["layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + r(c["dim"])
        w[p + "self_attn.q_proj.weight"] = r(c["heads"] * hd, c["dim"])
        w[p + "self_attn.k_proj.weight"] = r(c["kv_heads"] * hd, c["dim"])
        w[p + "self_attn.v_proj.weight"] = r(c["kv_heads"] * hd, c["dim"])
        w[p + "self_attn.o_proj.weight"] = r(c["dim"], c["heads"] * hd)
        w[p + "post_attention_layernorm.weight"] = 1 + r(c["dim"])
        w[p + "mlp.gate_proj.weight"] = r(c["hidden"], c["dim"])
        w[p + "mlp.up_proj.weight"] = r(c["hidden"], c["dim"])
        w[p + "mlp.down_proj.weight"] = r(c["dim"], c["hidden"])
    w["model.norm.weight"] = 1 + r(c["dim"])
    w["lm_head.weight"] = r(c["vocab"], c["dim"])
    return w


def llama_forward(w, ids, c=None, inv_freq=None):
    """c: the config (default LLAMA); inv_freq: RoPE inverse frequencies (default from theta)."""
    return rm.llama_logits(w, llama_config(c or LLAMA), ids, inv_freq=inv_freq)


def llama_config(c):
    return rm.Config(vocab=c["vocab"], dim=c["dim"], layers=c["layers"], heads=c["heads"],
                     kv_heads=c["kv_heads"], hidden=c["hidden"], eps=c["eps"], theta=c["theta"],
                     ctx=c["ctx"])


def llama_to_gguf(w, c=None):
    c = c or LLAMA

    permute = rm.half_split_to_interleaved  # as llama.cpp's converter does
    g = {"token_embd.weight": w["model.embed_tokens.weight"]}
    for l in range(c["layers"]):
        p, b = f"model.layers.{l}.", f"blk.{l}."
        g[b + "attn_norm.weight"] = w[p + "input_layernorm.weight"]
        g[b + "attn_q.weight"] = permute(w[p + "self_attn.q_proj.weight"], c["heads"])
        g[b + "attn_k.weight"] = permute(w[p + "self_attn.k_proj.weight"], c["kv_heads"])
        g[b + "attn_v.weight"] = w[p + "self_attn.v_proj.weight"]
        g[b + "attn_output.weight"] = w[p + "self_attn.o_proj.weight"]
        g[b + "ffn_norm.weight"] = w[p + "post_attention_layernorm.weight"]
        g[b + "ffn_gate.weight"] = w[p + "mlp.gate_proj.weight"]
        g[b + "ffn_up.weight"] = w[p + "mlp.up_proj.weight"]
        g[b + "ffn_down.weight"] = w[p + "mlp.down_proj.weight"]
    g["output_norm.weight"] = w["model.norm.weight"]
    g["output.weight"] = w["lm_head.weight"]
    meta = {"general.architecture": "llama", "general.name": "loom random llama",
            "llama.embedding_length": c["dim"], "llama.feed_forward_length": c["hidden"],
            "llama.block_count": c["layers"], "llama.attention.head_count": c["heads"],
            "llama.attention.head_count_kv": c["kv_heads"], "llama.context_length": c["ctx"],
            "llama.rope.dimension_count": c["dim"] // c["heads"],
            "llama.rope.freq_base": float(c["theta"]),
            "llama.attention.layer_norm_rms_epsilon": float(c["eps"])}
    return meta, g


# ---------------------------------------------------------------- GPT-2
def gpt2_weights(g):
    c = GPT2
    d, hd = c["dim"], c["hidden"]
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.2
    w = {"transformer.wte.weight": r(c["vocab"], d) * 5, "transformer.wpe.weight": r(c["ctx"], d)}
    for l in range(c["layers"]):
        p = f"transformer.h.{l}."
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = 1 + r(d), r(d)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = r(d, 3 * d), r(3 * d)  # (in, out)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = r(d, d), r(d)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = 1 + r(d), r(d)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = r(d, hd), r(hd)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = r(hd, d), r(d)
    w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = 1 + r(d), r(d)
    return w


def gpt2_forward(w, ids):
    c = GPT2
    return rm.gpt2_logits(w, rm.Config(vocab=c["vocab"], dim=c["dim"], layers=c["layers"],
                                       heads=c["heads"], hidden=c["hidden"], eps=c["eps"],
                                       ctx=c["ctx"]), ids)


def gpt2_to_gguf(w):
    c = GPT2
    g = {"token_embd.weight": w["transformer.wte.weight"], "position_embd.weight": w["transformer.wpe.weight"]}
    for l in range(c["layers"]):
        p, b = f"transformer.h.{l}.", f"blk.{l}."
        g[b + "attn_norm.weight"], g[b + "attn_norm.bias"] = w[p + "ln_1.weight"], w[p + "ln_1.bias"]
        g[b + "attn_qkv.weight"], g[b + "attn_qkv.bias"] = w[p + "attn.c_attn.weight"].T, w[p + "attn.c_attn.bias"]
        g[b + "attn_output.weight"], g[b + "attn_output.bias"] = w[p + "attn.c_proj.weight"].T, w[p + "attn.c_proj.bias"]
        g[b + "ffn_norm.weight"], g[b + "ffn_norm.bias"] = w[p + "ln_2.weight"], w[p + "ln_2.bias"]
        g[b + "ffn_up.weight"], g[b + "ffn_up.bias"] = w[p + "mlp.c_fc.weight"].T, w[p + "mlp.c_fc.bias"]
        g[b + "ffn_down.weight"], g[b + "ffn_down.bias"] = w[p + "mlp.c_proj.weight"].T, w[p + "mlp.c_proj.bias"]
    g["output_norm.weight"], g["output_norm.bias"] = w["transformer.ln_f.weight"], w["transformer.ln_f.bias"]
    meta = {"general.architecture": "gpt2", "gpt2.embedding_length": c["dim"],
            "gpt2.feed_forward_length": c["hidden"], "gpt2.block_count": c["layers"],
            "gpt2.attention.head_count": c["heads"], "gpt2.context_length": c["ctx"],
            "gpt2.attention.layer_norm_epsilon": float(c["eps"])}
    return meta, g


def main():
    os.makedirs(os.path.join(OUT, "llama_hf"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "gpt2_hf"), exist_ok=True)
    g = torch.Generator().manual_seed(20240601)
    # Weights are rounded to float32 first so that PyTorch sees exactly what the files hold.
    lw = {k: v.float().double() for k, v in llama_weights(g).items()}
    gw = {k: v.float().double() for k, v in gpt2_weights(g).items()}
    c = LLAMA
    write_safetensors(os.path.join(OUT, "llama_hf", "model.safetensors"), lw)
    with open(os.path.join(OUT, "llama_hf", "config.json"), "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                   "hidden_size": c["dim"], "intermediate_size": c["hidden"],
                   "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
                   "num_key_value_heads": c["kv_heads"], "max_position_embeddings": c["ctx"],
                   "rms_norm_eps": c["eps"], "rope_theta": c["theta"], "vocab_size": c["vocab"],
                   "tie_word_embeddings": False, "hidden_act": "silu"}, f, indent=1)
    meta, t = llama_to_gguf(lw)
    write_gguf(os.path.join(OUT, "llama.gguf"), meta, t)
    c = GPT2
    write_safetensors(os.path.join(OUT, "gpt2_hf", "model.safetensors"), gw)
    with open(os.path.join(OUT, "gpt2_hf", "config.json"), "w") as f:
        json.dump({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": c["dim"],
                   "n_head": c["heads"], "n_layer": c["layers"], "n_positions": c["ctx"],
                   "n_inner": c["hidden"], "vocab_size": c["vocab"],
                   "layer_norm_epsilon": c["eps"], "activation_function": "gelu_new"}, f, indent=1)
    meta, t = gpt2_to_gguf(gw)
    write_gguf(os.path.join(OUT, "gpt2.gguf"), meta, t)
    logits = {"prompts": PROMPTS,
              "llama": [llama_forward(lw, p).flatten().tolist() for p in PROMPTS],
              "gpt2": [gpt2_forward(gw, p).flatten().tolist() for p in PROMPTS]}
    write_json(os.path.join(OUT, "logits.json"), logits)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
