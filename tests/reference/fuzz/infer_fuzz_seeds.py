#!/usr/bin/env python3
"""Small seed files for tests/fuzz/fuzz_{gguf,safetensors,llama2c}.cpp (a few KB each):
a 1-layer Llama (dim 8, 2 heads, 1 kv head, vocab 4) in GGUF and safetensors, a GGUF with every
metadata value type including nested arrays, and a llama2.c .bin (tied and untied).
Run: /usr/bin/python3 tests/reference/fuzz/infer_fuzz_seeds.py"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus")
rng = np.random.default_rng(5)
D, HID, H, KV, V, CTX = 8, 16, 2, 1, 4, 8
HD = D // H


def r(*s):
    return rng.standard_normal(s).astype(np.float32) * 0.3


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(meta_bytes, n_kv, tensors, align=32):
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), n_kv) + meta_bytes
    data, off = b"", 0
    for name, a in tensors:
        head += gstr(name) + struct.pack("<I", a.ndim) + b"".join(struct.pack("<Q", d) for d in reversed(a.shape))
        head += struct.pack("<IQ", 0, off)
        pad = (-a.nbytes) % align
        data += a.tobytes() + b"\0" * pad
        off += a.nbytes + pad
    return head + b"\0" * ((-len(head)) % align) + data


def kv_u32(k, v):
    return gstr(k) + struct.pack("<II", 4, v)


llama = [("token_embd.weight", r(V, D)), ("blk.0.attn_norm.weight", r(D)),
         ("blk.0.attn_q.weight", r(D, D)), ("blk.0.attn_k.weight", r(KV * HD, D)),
         ("blk.0.attn_v.weight", r(KV * HD, D)), ("blk.0.attn_output.weight", r(D, D)),
         ("blk.0.ffn_norm.weight", r(D)), ("blk.0.ffn_gate.weight", r(HID, D)),
         ("blk.0.ffn_up.weight", r(HID, D)), ("blk.0.ffn_down.weight", r(D, HID)),
         ("output_norm.weight", r(D))]
meta = gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama")
meta += kv_u32("llama.embedding_length", D) + kv_u32("llama.feed_forward_length", HID)
meta += kv_u32("llama.block_count", 1) + kv_u32("llama.attention.head_count", H)
meta += kv_u32("llama.attention.head_count_kv", KV) + kv_u32("llama.context_length", CTX)
with open(os.path.join(CORPUS, "gguf", "llama_tiny.gguf"), "wb") as f:
    f.write(gguf(meta, 7, llama))

# Every value type: u8 i8 u16 i16 u32 i32 f32 bool string array(u64 i64 f64), nested array.
vals = gstr("a.u8") + struct.pack("<IB", 0, 1) + gstr("a.i8") + struct.pack("<Ib", 1, -1)
vals += gstr("a.u16") + struct.pack("<IH", 2, 2) + gstr("a.i16") + struct.pack("<Ih", 3, -2)
vals += gstr("a.u32") + struct.pack("<II", 4, 3) + gstr("a.i32") + struct.pack("<Ii", 5, -3)
vals += gstr("a.f32") + struct.pack("<If", 6, 0.5) + gstr("a.bool") + struct.pack("<IB", 7, 1)
vals += gstr("a.str") + struct.pack("<I", 8) + gstr("hi")
vals += gstr("a.u64s") + struct.pack("<IIQ", 9, 10, 2) + struct.pack("<QQ", 1, 2)
vals += gstr("a.i64s") + struct.pack("<IIQ", 9, 11, 1) + struct.pack("<q", -9)
vals += gstr("a.f64s") + struct.pack("<IIQ", 9, 12, 1) + struct.pack("<d", 0.25)
vals += gstr("a.strs") + struct.pack("<IIQ", 9, 8, 2) + gstr("x") + gstr("yz")
vals += gstr("a.nested") + struct.pack("<IIQ", 9, 9, 1) + struct.pack("<IQ", 5, 2) + struct.pack("<ii", 1, 2)
vals += gstr("general.alignment") + struct.pack("<II", 4, 64)
with open(os.path.join(CORPUS, "gguf", "all_types.gguf"), "wb") as f:
    f.write(gguf(vals, 15, [("t", r(2, 32))], align=64))

hf = {"model.embed_tokens.weight": llama[0][1], "model.norm.weight": llama[10][1],
      "model.layers.0.input_layernorm.weight": llama[1][1],
      "model.layers.0.self_attn.q_proj.weight": llama[2][1]}
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k, a in hf.items():
    header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
    blobs.append(a.tobytes())
    off += a.nbytes
h = json.dumps(header).encode()
with open(os.path.join(CORPUS, "safetensors", "llama_part.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
h = json.dumps({"x": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
                "y": {"dtype": "F16", "shape": [], "data_offsets": [8, 10]}}).encode()
with open(os.path.join(CORPUS, "safetensors", "small_types.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + bytes(10))


def llama2c(tied):
    out = struct.pack("<7i", D, HID, 1, H, KV, V if tied else -V, CTX)
    for _, a in llama[:1]:
        out += a.tobytes()
    for name in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                 "ffn_gate", "ffn_down", "ffn_up"):
        out += dict(llama)["blk.0." + name + ".weight"].tobytes()
    out += llama[10][1].tobytes() + np.zeros(CTX * HD, np.float32).tobytes()
    if not tied:
        out += r(V, D).tobytes()
    return out


for tied in (True, False):
    with open(os.path.join(CORPUS, "llama2c", "tiny_%s.bin" % ("tied" if tied else "untied")), "wb") as f:
        f.write(llama2c(tied))
print("seeds written")
