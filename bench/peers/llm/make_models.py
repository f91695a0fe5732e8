#!/usr/bin/env python3
"""Random-weight Llama GGUF files for bench/peers/llm/run.sh (written by hand with struct; no gguf
package): stories15M-shaped (dim 288, 6 layers, 6 heads, hidden 768) and stories110M-shaped
(dim 768, 12 layers, 12 heads, hidden 2048), vocab 32000 with the Llama 2 SentencePiece
vocabulary embedded (../shared/data/tokenizers/llama2/tokenizer.model), tied head, context 1024,
each in F32 and Q8_0 (2-D weights; norms stay F32).
Usage: /usr/bin/python3 make_models.py OUT_DIR DATA_DIR"""
import os
import struct
import sys

import numpy as np
import sentencepiece as spm

CONFIGS = {"15M": dict(dim=288, hidden=768, layers=6, heads=6),
           "110M": dict(dim=768, hidden=2048, layers=12, heads=12)}
VOCAB, CTX = 32000, 1024


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv(key, kind, value):
    out = gstr(key)
    if kind == "u32":
        return out + struct.pack("<II", 4, value)
    if kind == "f32":
        return out + struct.pack("<If", 6, value)
    if kind == "str":
        return out + struct.pack("<I", 8) + gstr(value)
    if kind == "bool":
        return out + struct.pack("<IB", 7, int(value))
    if kind == "strs":
        return out + struct.pack("<IIQ", 9, 8, len(value)) + b"".join(gstr(v) for v in value)
    if kind == "f32s":
        return out + struct.pack("<IIQ", 9, 6, len(value)) + np.asarray(value, "<f4").tobytes()
    if kind == "i32s":
        return out + struct.pack("<IIQ", 9, 5, len(value)) + np.asarray(value, "<i4").tobytes()
    raise ValueError(kind)


def q8_0(a):
    blocks = a.reshape(-1, 32).astype(np.float32)
    d = np.abs(blocks).max(axis=1) / 127.0
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0)
    q = np.round(blocks * inv[:, None]).astype(np.int8)
    out = np.empty(len(blocks), dtype=[("d", "<f2"), ("q", "i1", (32,))])
    out["d"], out["q"] = d.astype(np.float16), q
    return out.tobytes()


def write(path, cfg, tok, quant, seed):
    rng = np.random.default_rng(seed)
    d, hd, L, H = cfg["dim"], cfg["hidden"], cfg["layers"], cfg["heads"]
    tensors = [("token_embd.weight", rng.standard_normal((VOCAB, d), np.float32) * 0.02)]
    for l in range(L):
        p = f"blk.{l}."
        tensors += [(p + "attn_norm.weight", np.ones(d, np.float32)),
                    (p + "attn_q.weight", rng.standard_normal((d, d), np.float32) * 0.02),
                    (p + "attn_k.weight", rng.standard_normal((d, d), np.float32) * 0.02),
                    (p + "attn_v.weight", rng.standard_normal((d, d), np.float32) * 0.02),
                    (p + "attn_output.weight", rng.standard_normal((d, d), np.float32) * 0.02),
                    (p + "ffn_norm.weight", np.ones(d, np.float32)),
                    (p + "ffn_gate.weight", rng.standard_normal((hd, d), np.float32) * 0.02),
                    (p + "ffn_down.weight", rng.standard_normal((d, hd), np.float32) * 0.02),
                    (p + "ffn_up.weight", rng.standard_normal((hd, d), np.float32) * 0.02)]
    tensors.append(("output_norm.weight", np.ones(d, np.float32)))
    pieces, scores, types = tok
    meta = [kv("general.architecture", "str", "llama"), kv("general.name", "str", "loom-bench-random"),
            kv("general.file_type", "u32", 7 if quant else 0),
            kv("llama.context_length", "u32", CTX), kv("llama.embedding_length", "u32", d),
            kv("llama.feed_forward_length", "u32", hd), kv("llama.block_count", "u32", L),
            kv("llama.attention.head_count", "u32", H), kv("llama.attention.head_count_kv", "u32", H),
            kv("llama.rope.dimension_count", "u32", d // H), kv("llama.rope.freq_base", "f32", 10000.0),
            kv("llama.attention.layer_norm_rms_epsilon", "f32", 1e-5), kv("llama.vocab_size", "u32", VOCAB),
            kv("tokenizer.ggml.model", "str", "llama"), kv("tokenizer.ggml.tokens", "strs", pieces),
            kv("tokenizer.ggml.scores", "f32s", scores), kv("tokenizer.ggml.token_type", "i32s", types),
            kv("tokenizer.ggml.bos_token_id", "u32", 1), kv("tokenizer.ggml.eos_token_id", "u32", 2),
            kv("tokenizer.ggml.unknown_token_id", "u32", 0),
            kv("tokenizer.ggml.add_bos_token", "bool", True), kv("tokenizer.ggml.add_eos_token", "bool", False)]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta)
    blobs, off = [], 0
    for name, a in tensors:
        if quant and a.ndim == 2:
            data, ty = q8_0(a), 8
        else:
            data, ty = a.astype("<f4").tobytes(), 0
        head += gstr(name) + struct.pack("<I", a.ndim) + b"".join(struct.pack("<Q", x) for x in reversed(a.shape))
        head += struct.pack("<IQ", ty, off)
        pad = (-len(data)) % 32
        blobs.append(data + b"\0" * pad)
        off += len(data) + pad
    with open(path + ".tmp", "wb") as f:
        f.write(head + b"\0" * ((-len(head)) % 32))
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def main():
    out, data = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(data, "tokenizers/llama2/tokenizer.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    scores = [sp.get_score(i) for i in range(sp.get_piece_size())]
    types = [2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i)
             else 6 if sp.is_byte(i) else 1 for i in range(sp.get_piece_size())]
    for name, cfg in CONFIGS.items():
        for quant in (False, True):
            path = os.path.join(out, f"random{name}-{'q8_0' if quant else 'f32'}.gguf")
            if not os.path.exists(path):
                write(path, cfg, (pieces, scores, types), quant, seed=len(name))
                print("wrote", path, os.path.getsize(path))


if __name__ == "__main__":
    main()
