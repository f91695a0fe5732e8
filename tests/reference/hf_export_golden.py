#!/usr/bin/env python3
"""Golden for tests/models/hf_export_test.cpp: stories260K as a Hugging Face LlamaForCausalLM.

Reads ../shared/data/models/stories260K/stories260K.bin (llama2.c float32 format) with its own
parser, turns the q/k rows from llama2.c's interleaved-pair RoPE order into HF's half-split order
(the inverse of llama.cpp's convert permute), and runs LlamaForCausalLM's forward pass written out
by hand in PyTorch (transformers is not installed): rotate_half RoPE, GQA, SwiGLU, RMSNorm, tied
head. Writes tests/reference/hf_export/stories260K_logits.json (float64 logits for one prompt).

  /usr/bin/python3 tests/reference/hf_export_golden.py            # writes the golden
  /usr/bin/python3 tests/reference/hf_export_golden.py --check DIR
      loads DIR/model.safetensors + DIR/config.json (a directory `loom` exported) with HF names,
      runs the same HF forward on the prompt and compares with the golden (prints max rel error).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("LOOM_DATA", os.path.join(HERE, "..", "..", "..", "shared", "data"))
OUT = os.path.join(HERE, "hf_export", "stories260K_logits.json")
PROMPT = [1, 100, 200, 300, 400, 50, 7, 499, 3]


def read_llama2c(path):
    raw = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("<7i", raw[:28])
    tied = vocab > 0
    vocab = abs(vocab)
    arr = np.frombuffer(raw[28:], dtype=np.float32)
    off = 0
    hd = dim // heads

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = torch.from_numpy(arr[off:off + n].copy()).reshape(*shape).double()
        off += n
        return t

    emb = take(vocab, dim)
    att = take(layers, dim)
    wq = take(layers, dim, dim)
    wk = take(layers, kv_heads * hd, dim)
    wv = take(layers, kv_heads * hd, dim)
    wo = take(layers, dim, dim)
    ffn = take(layers, dim)
    w1 = take(layers, hidden, dim)
    w2 = take(layers, dim, hidden)
    w3 = take(layers, hidden, dim)
    fin = take(dim)
    take(seq, hd // 2)
    take(seq, hd // 2)
    head = emb if tied else take(vocab, dim)

    def to_half_split(t, h):  # interleaved pairs -> half-split rows, per head
        return t.reshape(h, t.shape[0] // h // 2, 2, t.shape[1]).transpose(1, 2).reshape(t.shape)

    w = {"model.embed_tokens.weight": emb}
    for l in range(layers):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = att[l]
        w[p + "self_attn.q_proj.weight"] = to_half_split(wq[l], heads)
        w[p + "self_attn.k_proj.weight"] = to_half_split(wk[l], kv_heads)
        w[p + "self_attn.v_proj.weight"] = wv[l]
        w[p + "self_attn.o_proj.weight"] = wo[l]
        w[p + "post_attention_layernorm.weight"] = ffn[l]
        w[p + "mlp.gate_proj.weight"] = w1[l]
        w[p + "mlp.down_proj.weight"] = w2[l]
        w[p + "mlp.up_proj.weight"] = w3[l]
    w["model.norm.weight"] = fin
    w["lm_head.weight"] = head
    cfg = dict(hidden_size=dim, intermediate_size=hidden, num_hidden_layers=layers,
               num_attention_heads=heads, num_key_value_heads=kv_heads, rms_norm_eps=1e-5,
               rope_theta=10000.0, vocab_size=vocab)
    return cfg, w


def read_hf_dir(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    raw = open(os.path.join(d, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    w = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        b, en = e["data_offsets"]
        a = np.frombuffer(raw[8 + n + b:8 + n + en], dtype=np.float32).reshape(e["shape"])
        w[name] = torch.from_numpy(a.copy()).double()
    if cfg.get("tie_word_embeddings", False):
        assert "lm_head.weight" not in w
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    return cfg, w


def rms(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def hf_llama_forward(c, w, ids):
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    dim = c["hidden_size"]
    hd, n = dim // heads, len(ids)
    x = w["model.embed_tokens.weight"][ids]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    mask = torch.triu(torch.full((n, n), float("-inf"), dtype=torch.float64), 1)
    eps = c["rms_norm_eps"]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(n, heads, hd).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(n, kv, hd).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(n, kv, hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = heads // kv
        k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1) @ v
        x = x + a.transpose(0, 1).reshape(n, -1) @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (g * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return rms(x, w["model.norm.weight"], eps) @ w["lm_head.weight"].T


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        cfg, w = read_hf_dir(sys.argv[2])
        gold = json.load(open(OUT))
        got = hf_llama_forward(cfg, w, gold["prompt"]).flatten()
        ref = torch.tensor(gold["logits"], dtype=torch.float64)
        rel = ((got - ref).abs().max() / ref.abs().max()).item()
        print(f"{sys.argv[2]}: {len(w)} tensors, max |diff| / max |ref| = {rel:.3e}")
        sys.exit(0 if rel < 1e-5 else 1)
    cfg, w = read_llama2c(os.path.join(DATA, "models", "stories260K", "stories260K.bin"))
    logits = hf_llama_forward(cfg, w, PROMPT)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"prompt": PROMPT, "vocab": cfg["vocab_size"],
                   "logits": [float("%.9g" % v) for v in logits.flatten().tolist()]}, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
