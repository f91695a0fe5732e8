"""The one PyTorch reference for Loom's transformer goldens: Llama and GPT-2 written out from the
papers and Hugging Face's configs (the transformers package is not installed; Debian python3-torch).

Weights are dicts of tensors under Hugging Face names (LlamaForCausalLM, GPT2LMHeadModel); the
forward runs in the weights' dtype (float32 for the training goldens, float64 for the inference
goldens). Shapes: ids (..., T) -> hidden (..., T, C) -> logits (..., T, V).

  Llama: RMSNorm (HF LlamaRMSNorm: w * (x * rsqrt(mean(x^2) + eps))), RoPE in HF's half-split
         layout (rotate_half) or llama2.c's interleaved pairs, rope scaling linear or llama3,
         GQA (kv heads repeated, HF repeat_kv), SwiGLU, tied or untied head (lm_head.weight).
  GPT-2: learned positions, LayerNorm, Conv1D weights stored (in, out), GELU-tanh (HF gelu_new),
         head tied to wte.

An adapter (LoRA) is a function (x, module) -> update added to that projection's output, module
being the HF name without ".weight" (e.g. "model.layers.0.self_attn.q_proj").
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Config:
    vocab: int
    dim: int
    layers: int
    heads: int
    hidden: int  # FFN inner size
    kv_heads: int = 0  # 0: as many as heads
    eps: float = 1e-5
    theta: float = 10000.0  # RoPE base (Llama)
    ctx: int = 0  # context length (GPT-2: rows of wpe)

    @property
    def n_kv(self):
        return self.kv_heads or self.heads

    @property
    def head_dim(self):
        return self.dim // self.heads


# ---------------------------------------------------------------- blocks
def rms_norm(x, w, eps):
    """HF LlamaRMSNorm. x (..., C), w (C)."""
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_tanh(x):
    """GPT-2's GELU, the tanh approximation (HF gelu_new)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def rope_inv_freq(theta, head_dim, dtype=torch.float64):
    """(head_dim / 2) inverse frequencies theta^(-2i / head_dim)."""
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=dtype) / head_dim))


def rope_inv_freq_linear(theta, head_dim, factor, dtype=torch.float64):
    """Linear rope scaling: every frequency divided by the factor."""
    return rope_inv_freq(theta, head_dim, dtype) / factor


def rope_inv_freq_llama3(theta, head_dim, factor, low_freq_factor, high_freq_factor,
                         original_max_position_embeddings):
    """Llama 3 rope scaling (HF _compute_llama3_parameters): wavelengths shorter than
    original / high_freq_factor are kept, longer than original / low_freq_factor are divided by
    the factor, the ones between are blended. float64."""
    inv = rope_inv_freq(theta, head_dim)
    low_wavelen = original_max_position_embeddings / low_freq_factor
    high_wavelen = original_max_position_embeddings / high_freq_factor
    out = []
    for f in inv.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(f)
        elif wavelen > low_wavelen:
            out.append(f / factor)
        else:
            smooth = (original_max_position_embeddings / wavelen - low_freq_factor) / (
                high_freq_factor - low_freq_factor)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=torch.float64)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(x, ang, interleaved):
    """x (..., T, H, D), ang (T, D/2) angles pos * inv_freq. Half-split (HF): element i pairs
    with i + D/2; interleaved (llama2.c, GGUF): element 2i pairs with 2i + 1."""
    if not interleaved:
        emb = torch.cat((ang, ang), dim=-1)[:, None, :]
        return x * emb.cos() + rotate_half(x) * emb.sin()
    c, s = ang.cos()[:, None, :], ang.sin()[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def causal_attention(q, k, v):
    """q (..., T, H, D), k and v (..., T, KV, D) -> (..., T, H*D). Scaled dot product, causal mask,
    KV heads repeated H / KV times (MHA, GQA, MQA)."""
    H, KV, D, T = q.shape[-2], k.shape[-2], q.shape[-1], q.shape[-3]
    q, k, v = q.transpose(-2, -3), k.transpose(-2, -3), v.transpose(-2, -3)
    if KV != H:
        k = k.repeat_interleave(H // KV, dim=-3)
        v = v.repeat_interleave(H // KV, dim=-3)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
    a = torch.softmax(s, dim=-1) @ v
    return a.transpose(-2, -3).reshape(*a.shape[:-3], T, H * D)


def _ids(ids):
    return ids if torch.is_tensor(ids) else torch.tensor(ids, dtype=torch.long)


# ---------------------------------------------------------------- Llama
def llama_hidden(w, c, ids, interleaved=False, inv_freq=None, adapter=None):
    """ids (..., T) -> output of the final RMSNorm (..., T, C). inv_freq: RoPE inverse
    frequencies (default from c.theta, in the weights' dtype); interleaved: llama2.c pairs."""
    x = w["model.embed_tokens.weight"][_ids(ids)]
    T, H, KV, D = x.shape[-2], c.heads, c.n_kv, c.head_dim
    lead = x.shape[:-2]
    if inv_freq is None:
        inv_freq = rope_inv_freq(c.theta, D, x.dtype)
    ang = torch.arange(T, dtype=inv_freq.dtype)[:, None] * inv_freq[None, :]

    def proj(a, m):
        y = a @ w[m + ".weight"].t()
        return y if adapter is None else y + adapter(a, m)

    for i in range(c.layers):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], c.eps)
        q = proj(a, p + "self_attn.q_proj").view(*lead, T, H, D)
        k = proj(a, p + "self_attn.k_proj").view(*lead, T, KV, D)
        v = proj(a, p + "self_attn.v_proj").view(*lead, T, KV, D)
        q, k = rope(q, ang, interleaved), rope(k, ang, interleaved)
        x = x + proj(causal_attention(q, k, v), p + "self_attn.o_proj")
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], c.eps)
        m = F.silu(proj(m, p + "mlp.gate_proj")) * proj(m, p + "mlp.up_proj")
        x = x + proj(m, p + "mlp.down_proj")
    return rms_norm(x, w["model.norm.weight"], c.eps)


def llama_logits(w, c, ids, **kw):
    """ids (..., T) -> logits (..., T, V); the head is lm_head.weight (tied: the same tensor as
    model.embed_tokens.weight)."""
    return llama_hidden(w, c, ids, **kw) @ w["lm_head.weight"].t()


def interleaved_to_half_split(t, heads):
    """q/k rows of one projection (heads * D, C) from interleaved pairs (llama2.c, GGUF) to HF's
    half-split order: the inverse of llama.cpp's convert permute."""
    return t.reshape(heads, t.shape[0] // heads // 2, 2, t.shape[1]).transpose(1, 2).reshape(t.shape)


def half_split_to_interleaved(t, heads):
    """HF half-split q/k rows -> interleaved pairs, as llama.cpp's converter permutes them."""
    return t.reshape(heads, 2, t.shape[0] // heads // 2, t.shape[1]).swapaxes(1, 2).reshape(t.shape)


def llama_random_params(c, lora_rank=0):
    """Small random Llama parameters (float32) drawn from torch's global generator in a fixed
    order; with lora_rank, LoRA A (rank, in) and B (out, rank) for every projection after them.
    Returns (params, lora module names)."""
    V, C, Fd, KVD = c.vocab, c.dim, c.hidden, c.n_kv * c.head_dim
    p = {"model.embed_tokens.weight": torch.randn(V, C) * 0.08}
    mods = []
    for i in range(c.layers):
        h = f"model.layers.{i}."
        p[h + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(C)
        p[h + "self_attn.q_proj.weight"] = torch.randn(C, C) * 0.08
        p[h + "self_attn.k_proj.weight"] = torch.randn(KVD, C) * 0.08
        p[h + "self_attn.v_proj.weight"] = torch.randn(KVD, C) * 0.08
        p[h + "self_attn.o_proj.weight"] = torch.randn(C, C) * 0.08
        p[h + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(C)
        p[h + "mlp.gate_proj.weight"] = torch.randn(Fd, C) * 0.08
        p[h + "mlp.up_proj.weight"] = torch.randn(Fd, C) * 0.08
        p[h + "mlp.down_proj.weight"] = torch.randn(C, Fd) * 0.08
        mods += [h + m for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                 "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")]
    p["model.norm.weight"] = 1 + 0.1 * torch.randn(C)
    p["lm_head.weight"] = torch.randn(V, C) * 0.08
    if lora_rank:
        add_lora(p, mods, lora_rank, lambda m: tuple(reversed(p[m + ".weight"].shape)))  # (out, in)
    return p, mods


# ---------------------------------------------------------------- GPT-2
def gpt2_hidden(w, c, ids, adapter=None):
    """ids (..., T) -> output of ln_f (..., T, C)."""
    ids = _ids(ids)
    T, C, H = ids.shape[-1], c.dim, c.heads
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(T)]
    lead = x.shape[:-2]

    def conv1d(a, m):  # Conv1D: weight (in, out)
        y = a @ w[m + ".weight"] + w[m + ".bias"]
        return y if adapter is None else y + adapter(a, m)

    for i in range(c.layers):
        p = f"transformer.h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], c.eps)
        q, k, v = (t.view(*lead, T, H, C // H) for t in conv1d(a, p + "attn.c_attn").split(C, dim=-1))
        x = x + conv1d(causal_attention(q, k, v), p + "attn.c_proj")
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], c.eps)
        x = x + conv1d(gelu_tanh(conv1d(m, p + "mlp.c_fc")), p + "mlp.c_proj")
    return layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], c.eps)


def gpt2_logits(w, c, ids, **kw):
    return gpt2_hidden(w, c, ids, **kw) @ w["transformer.wte.weight"].t()


def gpt2_random_params(c, lora_rank=0):
    """Small random GPT-2 parameters (float32, torch's global generator, fixed order); with
    lora_rank, LoRA A/B on c_attn, attn.c_proj, c_fc, mlp.c_proj after them."""
    V, C, Fd, P = c.vocab, c.dim, c.hidden, c.ctx
    p = {"transformer.wte.weight": torch.randn(V, C) * 0.08,
         "transformer.wpe.weight": torch.randn(P, C) * 0.08}
    mods = []
    for i in range(c.layers):
        h = f"transformer.h.{i}."
        p[h + "ln_1.weight"] = 1 + 0.1 * torch.randn(C)
        p[h + "ln_1.bias"] = 0.05 * torch.randn(C)
        p[h + "attn.c_attn.weight"] = torch.randn(C, 3 * C) * 0.08
        p[h + "attn.c_attn.bias"] = 0.05 * torch.randn(3 * C)
        p[h + "attn.c_proj.weight"] = torch.randn(C, C) * 0.08
        p[h + "attn.c_proj.bias"] = 0.05 * torch.randn(C)
        p[h + "ln_2.weight"] = 1 + 0.1 * torch.randn(C)
        p[h + "ln_2.bias"] = 0.05 * torch.randn(C)
        p[h + "mlp.c_fc.weight"] = torch.randn(C, Fd) * 0.08
        p[h + "mlp.c_fc.bias"] = 0.05 * torch.randn(Fd)
        p[h + "mlp.c_proj.weight"] = torch.randn(Fd, C) * 0.08
        p[h + "mlp.c_proj.bias"] = 0.05 * torch.randn(C)
        mods += [h + m for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
    p["transformer.ln_f.weight"] = 1 + 0.1 * torch.randn(C)
    p["transformer.ln_f.bias"] = 0.05 * torch.randn(C)
    if lora_rank:
        add_lora(p, mods, lora_rank, lambda m: tuple(p[m + ".weight"].shape))  # Conv1D: (in, out)
    return p, mods


# ---------------------------------------------------------------- LoRA, losses
def add_lora(p, modules, rank, dims):
    """PEFT-style A (rank, in) uniform in +-1/sqrt(in), B (out, rank) random (nonzero, so both get
    gradients). dims(module) -> (in, out)."""
    for m in modules:
        fin, fout = dims(m)
        p[m + ".lora_A.weight"] = (torch.rand(rank, fin) * 2 - 1) / math.sqrt(fin)
        p[m + ".lora_B.weight"] = torch.randn(fout, rank) * 0.05


def lora_adapter(p, rank, alpha):
    """PEFT's update lora_B(lora_A(x)) * alpha / rank for the modules that have adapters."""
    def update(x, m):
        if m + ".lora_A.weight" not in p:
            return torch.zeros((), dtype=x.dtype)
        return (x @ p[m + ".lora_A.weight"].t()) @ p[m + ".lora_B.weight"].t() * (alpha / rank)
    return update


def lm_loss(logits, targets):
    """Mean next-token cross-entropy; targets -100 are ignored."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def info_nce(q, docs, b, temperature, symmetric):
    """MultipleNegativesRankingLoss on already normalised rows: q (B, C), docs (B + M, C) whose first
    B rows are the positives; symmetric adds the documents -> queries direction over the positives."""
    s = q @ docs.t() / temperature
    labels = torch.arange(b)
    loss = F.cross_entropy(s, labels)
    if symmetric:
        loss = 0.5 * loss + 0.5 * F.cross_entropy(s[:, :b].t(), labels)
    return loss


# ---------------------------------------------------------------- llama2.c checkpoints
def read_llama2c(path, dtype=torch.float64):
    """A llama2.c .bin (float32) -> (Config, HF-named weights). q/k rows stay in llama2.c's
    interleaved-pair RoPE order (run with interleaved=True, or convert with
    interleaved_to_half_split). Tied head: lm_head.weight is the embedding tensor."""
    raw = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = np.frombuffer(raw[:28], dtype="<i4").tolist()
    tied = vocab > 0
    vocab = abs(vocab)
    a = np.frombuffer(raw[28:], dtype="<f4")
    hd, off = dim // heads, 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = torch.from_numpy(a[off:off + n].astype(np.float64).reshape(shape)).to(dtype)
        off += n
        return t

    emb, att = take(vocab, dim), take(layers, dim)
    wq, wk = take(layers, dim, dim), take(layers, kv_heads * hd, dim)
    wv, wo = take(layers, kv_heads * hd, dim), take(layers, dim, dim)
    ffn, w1 = take(layers, dim), take(layers, hidden, dim)
    w2, w3 = take(layers, dim, hidden), take(layers, hidden, dim)
    fin = take(dim)
    take(seq, hd // 2)  # freq_cis_real, freq_cis_imag (unused)
    take(seq, hd // 2)
    head = emb if tied else take(vocab, dim)
    w = {"model.embed_tokens.weight": emb}
    for l in range(layers):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = att[l]
        w[p + "self_attn.q_proj.weight"] = wq[l]
        w[p + "self_attn.k_proj.weight"] = wk[l]
        w[p + "self_attn.v_proj.weight"] = wv[l]
        w[p + "self_attn.o_proj.weight"] = wo[l]
        w[p + "post_attention_layernorm.weight"] = ffn[l]
        w[p + "mlp.gate_proj.weight"] = w1[l]
        w[p + "mlp.down_proj.weight"] = w2[l]
        w[p + "mlp.up_proj.weight"] = w3[l]
    w["model.norm.weight"] = fin
    w["lm_head.weight"] = head
    c = Config(vocab=vocab, dim=dim, layers=layers, heads=heads, kv_heads=kv_heads, hidden=hidden,
               eps=1e-5, theta=10000.0, ctx=seq)
    return c, w


def llama_config_from_hf(cfg):
    """A Hugging Face LlamaForCausalLM config.json dict -> Config."""
    return Config(vocab=cfg["vocab_size"], dim=cfg["hidden_size"], layers=cfg["num_hidden_layers"],
                  heads=cfg["num_attention_heads"],
                  kv_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
                  hidden=cfg["intermediate_size"], eps=cfg["rms_norm_eps"],
                  theta=cfg.get("rope_theta", 10000.0),
                  ctx=cfg.get("max_position_embeddings", 0))


# ---------------------------------------------------------------- BERT, RoBERTa
# Devlin et al. 2019 (BERT) and Liu et al. 2019 (RoBERTa) as Hugging Face's BertModel /
# BertForMaskedLM and RobertaModel / RobertaForMaskedLM compute them (eval mode: no dropout):
# word + position + token-type embeddings -> LayerNorm; per layer, post-norm:
# x = LN(x + O(attn(x))), x = LN(x + W2 gelu_erf(W1 x)); attention bidirectional with HF's
# extended mask (finfo.min added to the scores of padded keys). Pooler: tanh(dense(h[:, 0])).
# MLM head: LN(gelu_erf(dense(h))) @ word_embeddings^T + bias. RoBERTa differs only in names
# and in its position ids: padding_idx + cumsum(non-pad) on real tokens, padding_idx on pads
# (HF create_position_ids_from_input_ids).
def gelu_erf(x):
    """HF "gelu": x * Phi(x) with the exact erf."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def bert_position_ids(ids, roberta_pad=None):
    """ids (B, T) -> positions (B, T): 0..T-1 (BERT), or RoBERTa's from the pad id."""
    if roberta_pad is None:
        return torch.arange(ids.shape[-1]).expand_as(ids)
    mask = (ids != roberta_pad).long()
    return torch.cumsum(mask, dim=1) * mask + roberta_pad


def bert_attention(q, k, v, mask):
    """q, k, v (B, T, H, D), mask (B, T) 1 real / 0 pad -> (B, T, H*D); every query sees every
    real key (HF: scores + (1 - mask) * finfo.min, then softmax)."""
    B, T, H, D = q.shape
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    s = s + (1.0 - mask[:, None, None, :].to(s.dtype)) * torch.finfo(s.dtype).min
    a = torch.softmax(s, dim=-1) @ v
    return a.transpose(1, 2).reshape(B, T, H * D)


def bert_hidden(w, c, ids, mask=None, token_types=None, prefix="bert.", roberta_pad=None):
    """ids (B, T) -> last hidden states (B, T, C). w: HF-named weights with `prefix`."""
    ids = _ids(ids)
    mask = torch.ones_like(ids) if mask is None else _ids(mask)
    token_types = torch.zeros_like(ids) if token_types is None else _ids(token_types)
    e = prefix + "embeddings."
    x = (w[e + "word_embeddings.weight"][ids] +
         w[e + "position_embeddings.weight"][bert_position_ids(ids, roberta_pad)] +
         w[e + "token_type_embeddings.weight"][token_types])
    x = layer_norm(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"], c.eps)
    B, T, H = ids.shape[0], ids.shape[1], c.heads

    def lin(a, m):
        return a @ w[m + ".weight"].t() + w[m + ".bias"]

    for i in range(c.layers):
        p = f"{prefix}encoder.layer.{i}."
        q, k, v = (lin(x, p + "attention.self." + n).view(B, T, H, c.head_dim)
                   for n in ("query", "key", "value"))
        a = lin(bert_attention(q, k, v, mask), p + "attention.output.dense")
        x = layer_norm(x + a, w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], c.eps)
        f = lin(gelu_erf(lin(x, p + "intermediate.dense")), p + "output.dense")
        x = layer_norm(x + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], c.eps)
    return x


def bert_pooled(w, hidden, prefix="bert."):
    """hidden (B, T, C) -> (B, C) = tanh(dense(hidden[:, 0]))."""
    p = prefix + "pooler.dense."
    return torch.tanh(hidden[:, 0] @ w[p + "weight"].t() + w[p + "bias"])


def bert_mlm_logits(w, c, hidden, head="cls.predictions.", prefix="bert."):
    """hidden (B, T, C) -> (B, T, V). BERT's head names: cls.predictions.transform.{dense,
    LayerNorm}, cls.predictions.bias; RoBERTa's (head="lm_head."): lm_head.{dense, layer_norm},
    lm_head.bias. The decoder is the word embedding (tied)."""
    t = head + ("transform." if head == "cls.predictions." else "")
    ln = t + ("LayerNorm." if head == "cls.predictions." else "layer_norm.")
    h = gelu_erf(hidden @ w[t + "dense.weight"].t() + w[t + "dense.bias"])
    h = layer_norm(h, w[ln + "weight"], w[ln + "bias"], c.eps)
    return h @ w[prefix + "embeddings.word_embeddings.weight"].t() + w[head + "bias"]
