#!/usr/bin/env python3
"""Goldens for tests/models/t5_test.cpp: T5 (Raffel et al. 2020) written from the paper and the
published configs (t5-small: relu FFN, tied head; t5 v1.1: gated-gelu "gelu_new", untied
lm_head), in Hugging Face T5ForConditionalGeneration names and layouts.

The model, as the reference computes it (float64 on weights rounded to float32):
  T5LayerNorm(x) = w * x / sqrt(mean(x^2) + eps)            (no mean, no bias)
  attention: scores = q k^T (no 1/sqrt(d) scaling) + position bias + mask, softmax, @ v, o
  position bias: relative_attention_bias (num_buckets, heads) of block 0 gathered at
    bucket(key_pos - query_pos); bidirectional buckets in the encoder, causal in the decoder;
    block 0's table is shared by every block of its stack; cross-attention has none.
  encoder block: x += SelfAttn(LN(x)); x += FF(LN(x));  final LN
  decoder block: x += CausalSelfAttn(LN(x)); x += CrossAttn(LN(x), enc); x += FF(LN(x)); final LN
  FF: wo(relu(wi x)) or wo(gelu_tanh(wi_0 x) * wi_1 x)
  logits = lm_head(h), h scaled by d_model^-0.5 first when the head is tied to `shared`.

Writes, under tests/reference/models/t5/:
  buckets.{bin,txt}   bucket(d) for d in -1000..1000, bidirectional and causal, for
                      (num_buckets, max_distance) = (32, 128) and (8, 20)
  {t5,t5v11}_hf/{model.safetensors,config.json}   random weights; t5: relu, tied, 2+2 layers;
                      t5v11: gated-gelu, untied lm_head, 2 encoder + 3 decoder layers, d_kv*heads
                      != d_model
  {t5,t5v11}.{bin,txt}  enc_ids, enc_mask (B*S), dec_ids, dec_mask, labels (B*T; right padded,
                      labels -100 on padding), enc_hidden (B*S*C), logits (B*T*V), r_enc, r_logits,
                      loss = CE(logits, labels) + sum(enc_hidden*r_enc) + sum(logits*r_logits),
                      ce, grad.<name> for every parameter.
Run: /usr/bin/python3 tests/reference/models/t5_golden.py
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common.golden_io import TensorGolden, write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "t5")
V = 37
ENC = [[5, 17, 30, 9, 33, 12, 1], [8, 21, 11, 1], [4, 4, 29, 2, 1]]  # eos 1, pad 0
LABELS = [[7, 3, 22, 14, 1], [19, 6, 1], [9, 27, 3, 1]]
S, T = 7, 5


def bucket(rel, bidirectional, num_buckets, max_distance):
    """rel = key position - query position (a long tensor) -> bucket ids, in float32 as the
    T5 implementations compute the logarithmic part."""
    out = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        out += (rel > 0).long() * num_buckets
        n = rel.abs()
    else:
        n = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return out + torch.where(n < max_exact, n, large)


def rms(x, w, eps):
    return w * x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attend(w, p, x, kv, heads, dkv, bias, mask):
    """x (B,Tq,C), kv (B,Tk,C); bias (H,Tq,Tk) or None; mask (B,Tq or 1,Tk) bool (True: seen)."""
    B, Tq, _ = x.shape
    Tk = kv.shape[1]
    q = (x @ w[p + "q.weight"].T).view(B, Tq, heads, dkv).transpose(1, 2)
    k = (kv @ w[p + "k.weight"].T).view(B, Tk, heads, dkv).transpose(1, 2)
    v = (kv @ w[p + "v.weight"].T).view(B, Tk, heads, dkv).transpose(1, 2)
    s = q @ k.transpose(2, 3)
    if bias is not None:
        s = s + bias[None]
    s = s.masked_fill(~mask[:, None], float("-inf"))
    a = torch.softmax(s, -1) @ v
    return a.transpose(1, 2).reshape(B, Tq, heads * dkv) @ w[p + "o.weight"].T


def position_bias(table, tq, tk, bidirectional, cfg):
    rel = torch.arange(tk)[None, :] - torch.arange(tq)[:, None]
    b = bucket(rel, bidirectional, cfg["relative_attention_num_buckets"],
               cfg["relative_attention_max_distance"])
    return table[b].permute(2, 0, 1)  # (H, Tq, Tk)


def ff(w, p, x, gated):
    if gated:
        h = gelu_tanh(x @ w[p + "wi_0.weight"].T) * (x @ w[p + "wi_1.weight"].T)
    else:
        h = torch.relu(x @ w[p + "wi.weight"].T)
    return h @ w[p + "wo.weight"].T


def encode(w, cfg, ids, mask):
    H, D, eps = cfg["num_heads"], cfg["d_kv"], cfg["layer_norm_epsilon"]
    x = w["shared.weight"][ids]
    bias = position_bias(w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                         ids.shape[1], ids.shape[1], True, cfg)
    keys = mask.bool()[:, None, :]
    for i in range(cfg["num_layers"]):
        p = f"encoder.block.{i}."
        h = rms(x, w[p + "layer.0.layer_norm.weight"], eps)
        x = x + attend(w, p + "layer.0.SelfAttention.", h, h, H, D, bias, keys)
        x = x + ff(w, p + "layer.1.DenseReluDense.", rms(x, w[p + "layer.1.layer_norm.weight"], eps),
                   cfg["feed_forward_proj"] == "gated-gelu")
    return rms(x, w["encoder.final_layer_norm.weight"], eps)


def decode(w, cfg, enc, enc_mask, ids, mask):
    H, D, eps = cfg["num_heads"], cfg["d_kv"], cfg["layer_norm_epsilon"]
    Tt = ids.shape[1]
    x = w["shared.weight"][ids]
    bias = position_bias(w["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                         Tt, Tt, False, cfg)
    causal = torch.tril(torch.ones(Tt, Tt, dtype=torch.bool))
    self_keys = causal[None] & mask.bool()[:, None, :]
    cross_keys = enc_mask.bool()[:, None, :]
    for i in range(cfg["num_decoder_layers"]):
        p = f"decoder.block.{i}."
        h = rms(x, w[p + "layer.0.layer_norm.weight"], eps)
        x = x + attend(w, p + "layer.0.SelfAttention.", h, h, H, D, bias, self_keys)
        h = rms(x, w[p + "layer.1.layer_norm.weight"], eps)
        x = x + attend(w, p + "layer.1.EncDecAttention.", h, enc, H, D, None, cross_keys)
        x = x + ff(w, p + "layer.2.DenseReluDense.", rms(x, w[p + "layer.2.layer_norm.weight"], eps),
                   cfg["feed_forward_proj"] == "gated-gelu")
    h = rms(x, w["decoder.final_layer_norm.weight"], eps)
    if cfg["tie_word_embeddings"]:
        return (h * cfg["d_model"] ** -0.5) @ w["shared.weight"].T
    return h @ w["lm_head.weight"].T


def config_json(gated, tied, C, H, D, FF, L, LD, nb, md):
    c = {"architectures": ["T5ForConditionalGeneration"], "d_ff": FF, "d_kv": D, "d_model": C,
         "decoder_start_token_id": 0, "dense_act_fn": "gelu_new" if gated else "relu",
         "dropout_rate": 0.1, "eos_token_id": 1,
         "feed_forward_proj": "gated-gelu" if gated else "relu", "initializer_factor": 1.0,
         "is_encoder_decoder": True, "is_gated_act": gated, "layer_norm_epsilon": 1e-06,
         "model_type": "t5", "n_positions": 16, "num_decoder_layers": LD, "num_heads": H,
         "num_layers": L, "output_past": True, "pad_token_id": 0,
         "relative_attention_max_distance": md, "relative_attention_num_buckets": nb,
         "tie_word_embeddings": tied, "torch_dtype": "float32",
         "transformers_version": "4.40.0", "use_cache": True, "vocab_size": V}
    return c


def params(g, cfg):
    C, D, H, FF = cfg["d_model"], cfg["d_kv"], cfg["num_heads"], cfg["d_ff"]
    gated = cfg["feed_forward_proj"] == "gated-gelu"
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.3
    w = {"shared.weight": r(V, C) * 3}

    def attn(p):
        w[p + "q.weight"], w[p + "k.weight"] = r(H * D, C), r(H * D, C)
        w[p + "v.weight"], w[p + "o.weight"] = r(H * D, C), r(C, H * D)

    def ffn(p):
        if gated:
            w[p + "wi_0.weight"], w[p + "wi_1.weight"] = r(FF, C), r(FF, C)
        else:
            w[p + "wi.weight"] = r(FF, C)
        w[p + "wo.weight"] = r(C, FF)

    nb = cfg["relative_attention_num_buckets"]
    for stack, n in (("encoder", cfg["num_layers"]), ("decoder", cfg["num_decoder_layers"])):
        for i in range(n):
            p = f"{stack}.block.{i}.layer."
            attn(p + "0.SelfAttention.")
            if i == 0:
                w[p + "0.SelfAttention.relative_attention_bias.weight"] = r(nb, H) * 3
            w[p + "0.layer_norm.weight"] = 1 + r(C)
            if stack == "decoder":
                attn(p + "1.EncDecAttention.")
                w[p + "1.layer_norm.weight"] = 1 + r(C)
            f = "2" if stack == "decoder" else "1"
            ffn(p + f + ".DenseReluDense.")
            w[p + f + ".layer_norm.weight"] = 1 + r(C)
        w[stack + ".final_layer_norm.weight"] = 1 + r(C)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = r(V, C)
    return {k: v.float().double() for k, v in w.items()}


def padded(rows, width, fill):
    return torch.tensor([row + [fill] * (width - len(row)) for row in rows])


def seq2seq_golden(w, g, encode, decode, pad, start, out, stem, rows=(ENC, LABELS)):
    """The golden of one encoder-decoder (also bart_golden.py's): the padded batch rows =
    (encoder inputs, labels), by default ENC / LABELS
    (decoder inputs: labels shifted right behind `start`), encode(w, ids, mask) and
    decode(w, enc, enc_mask, ids, mask) -> logits, and every gradient of
    L = CE + sum(enc * r_enc) + sum(logits * r_logits) (r from g) into out/stem.{bin,txt}."""
    src, tgt = rows
    enc_ids, enc_mask = padded(src, S, pad), padded([[1] * len(s) for s in src], S, 0)
    labels = padded(tgt, T, -100)
    dec_ids = padded([[start] + s[:-1] for s in tgt], T, pad)
    dec_mask = padded([[1] * len(s) for s in tgt], T, 0)
    leaf = {k: v.clone().requires_grad_(True) for k, v in w.items()}
    enc = encode(leaf, enc_ids, enc_mask)
    logits = decode(leaf, enc, enc_mask, dec_ids, dec_mask)
    rs = [torch.randn(*t.shape, generator=g, dtype=torch.float64).float().double()
          for t in (enc, logits)]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           labels.reshape(-1), ignore_index=-100)
    loss = ce + (enc * rs[0]).sum() + (logits * rs[1]).sum()
    loss.backward()
    tg = TensorGolden()
    tg.config({"batch": len(src), "enc_seq": S, "dec_seq": T})
    for k, t in (("enc_ids", enc_ids), ("enc_mask", enc_mask), ("dec_ids", dec_ids),
                 ("dec_mask", dec_mask), ("labels", labels), ("enc_hidden", enc),
                 ("logits", logits), ("r_enc", rs[0]), ("r_logits", rs[1]),
                 ("ce", ce.reshape(1)), ("loss", loss.reshape(1))):
        tg.add(k, t.double())
    for k, p in leaf.items():
        tg.add("grad." + k, p.grad)
    tg.save(out, stem)


def write_model(name, cfg, g):
    w = params(g, cfg)
    d = os.path.join(OUT, name + "_hf")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    seq2seq_golden(w, g, lambda w, ids, m: encode(w, cfg, ids, m),
                   lambda w, e, em, ids, m: decode(w, cfg, e, em, ids, m), 0,
                   cfg["decoder_start_token_id"], OUT, name)


def write_buckets():
    tg = TensorGolden()
    rel = torch.arange(-1000, 1001)
    for nb, md in ((32, 128), (8, 20)):
        for bidir in (True, False):
            tg.add(f"{'bidirectional' if bidir else 'causal'}_{nb}_{md}", bucket(rel, bidir, nb, md))
    tg.save(OUT, "buckets")


def main():
    os.makedirs(OUT, exist_ok=True)
    write_buckets()
    g = torch.Generator().manual_seed(20261203)
    write_model("t5", config_json(False, True, 16, 2, 8, 32, 2, 2, 8, 20), g)
    write_model("t5v11", config_json(True, False, 16, 3, 6, 24, 2, 3, 8, 20), g)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
