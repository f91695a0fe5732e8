#!/usr/bin/env python3
"""Goldens for the quantised GGUF test (tests/models/transformer_test.cpp, Golden.QuantisedGguf*): the random
Llama of infer_models.py (llama_hf) with every matrix stored as F16, Q8_0 or Q4_0, and the logits
PyTorch (float64) gives on exactly the weights those files hold.

The block formats are written here from GGUF's definition (ggml type ids 1, 8, 2):
  F16   IEEE half per element.
  Q8_0  blocks of 32 elements: f16 scale d, then 32 int8 q; element j = q[j] * d.
  Q4_0  blocks of 32 elements: f16 scale d, then 16 bytes; byte j holds element j in its low
        nibble and element j + 16 in its high nibble; element = (nibble - 8) * d.
Quantisation follows ggml's reference rounding: Q8_0 d = amax / 127, q = round(x / d);
Q4_0 d = m / -8 with m the element of largest magnitude (sign kept), q = min(15, trunc(x / d + 8.5)).
The reference dequantises the stored blocks (f16 d as stored), so any rounding choice here is
part of the weights, not an error of the comparison.

Also written, to show the test's bound can fail: the logits of the same files read with a wrong
layout (Q4_0 with the two nibbles of each byte swapped; Q8_0 with each block's elements reversed).

Writes under infer_models/: llama_f16.gguf, llama_q8_0.gguf, llama_q4_0.gguf,
quantised_logits.json.
Run: /usr/bin/python3 tests/reference/models/infer_quantised.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import infer_models as im  # noqa: E402
from common import golden_io as gio  # noqa: E402

OUT = im.OUT
QK = 32


def quantize_q8_0(x):
    """x (rows, cols) float32, cols % 32 == 0 -> bytes of rows * cols / 32 blocks."""
    b = x.reshape(-1, QK).astype(np.float32)
    amax = np.abs(b).max(axis=1)
    d = amax / 127.0
    inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = (b * inv[:, None]).astype(np.float64)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5)  # roundf: halves away from zero
    blocks = np.zeros(len(b), dtype=[("d", "<f2"), ("q", "i1", QK)])
    blocks["d"] = d.astype(np.float16)
    blocks["q"] = q.astype(np.int8)
    return blocks.tobytes()


def dequantize_q8_0(raw, shape, reverse=False):
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("q", "i1", QK)])
    q = blocks["q"].astype(np.float64)
    if reverse:
        q = q[:, ::-1]
    return (q * blocks["d"].astype(np.float64)[:, None]).reshape(shape)


def quantize_q4_0(x):
    b = x.reshape(-1, QK).astype(np.float32)
    idx = np.abs(b).argmax(axis=1)
    m = b[np.arange(len(b)), idx]  # the element of largest magnitude, sign kept
    d = (m / -8.0).astype(np.float32)
    inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.minimum(15, np.trunc(b * inv[:, None] + np.float32(8.5))).astype(np.uint8)
    blocks = np.zeros(len(b), dtype=[("d", "<f2"), ("qs", "u1", QK // 2)])
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q[:, :QK // 2] | (q[:, QK // 2:] << 4)
    return blocks.tobytes()


def dequantize_q4_0(raw, shape, swap_nibbles=False):
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "u1", QK // 2)])
    lo, hi = blocks["qs"] & 0x0F, blocks["qs"] >> 4
    if swap_nibbles:
        lo, hi = hi, lo
    q = np.concatenate([lo, hi], axis=1).astype(np.float64) - 8.0
    return (q * blocks["d"].astype(np.float64)[:, None]).reshape(shape)


def encode(kind, a):
    """-> (ggml type, raw bytes, dequantised float64, wrong-layout dequantised float64)."""
    if kind == "f16":
        h = a.astype(np.float16)
        return gio.GGUF_F16, h.tobytes(), h.astype(np.float64), None
    if kind == "q8_0":
        raw = quantize_q8_0(a)
        return gio.GGUF_Q8_0, raw, dequantize_q8_0(raw, a.shape), dequantize_q8_0(raw, a.shape, True)
    raw = quantize_q4_0(a)
    return gio.GGUF_Q4_0, raw, dequantize_q4_0(raw, a.shape), dequantize_q4_0(raw, a.shape, True)


def gguf_to_hf(name):
    """GGUF llama tensor name -> HF name (the inverse of infer_models.llama_to_gguf's naming)."""
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    if name in fixed:
        return fixed[name]
    _, l, role, _ = name.split(".")
    return f"model.layers.{l}." + {
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
        "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj"}[role] + ".weight"


def main():
    hf = gio.read_safetensors(os.path.join(OUT, "llama_hf", "model.safetensors"))
    meta, tensors = im.llama_to_gguf(hf)  # GGUF names, q/k rows interleaved as llama.cpp's
    c = im.llama_config(im.LLAMA)
    out = {"prompts": im.PROMPTS}
    for kind in ("f16", "q8_0", "q4_0"):
        file_tensors, right, wrong = {}, {}, {}
        for name, t in tensors.items():
            a = t.numpy().astype(np.float32)
            if a.ndim == 2:
                gtype, raw, deq, bad = encode(kind, a)
                file_tensors[name] = (gtype, a.shape, raw)
            else:
                file_tensors[name], deq, bad = t, a.astype(np.float64), None
            # back to HF's half-split q/k rows for the reference forward
            hname = gguf_to_hf(name)
            heads = c.heads if "q_proj" in hname else c.n_kv if "k_proj" in hname else 0
            for dst, v in ((right, deq), (wrong, bad if bad is not None else deq)):
                v = torch.from_numpy(np.ascontiguousarray(v))
                dst[hname] = rm_perm(v, heads) if heads else v
        gio.write_gguf(os.path.join(OUT, f"llama_{kind}.gguf"), meta, file_tensors)
        out[kind] = [im.rm.llama_logits(right, c, p).flatten().tolist() for p in im.PROMPTS]
        if kind != "f16":
            out[kind + "_wrong_layout"] = [im.rm.llama_logits(wrong, c, p).flatten().tolist()
                                           for p in im.PROMPTS]
    gio.write_json(os.path.join(OUT, "quantised_logits.json"), out)
    ref = [im.llama_forward(hf, p).flatten() for p in im.PROMPTS]
    for kind in ("f16", "q8_0", "q4_0"):
        e = max(float((torch.tensor(out[kind][i]) - ref[i]).abs().max() / ref[i].abs().max())
                for i in range(len(ref)))
        print(kind, "vs the f32 weights: max |diff| / max |logit|", f"{e:.3e}")


def rm_perm(t, heads):
    return im.rm.interleaved_to_half_split(t, heads)


if __name__ == "__main__":
    main()
