#!/usr/bin/python3
"""Golden for a whole contrastive training step of a Loom model (tests/train/contrastive_trainer_test.cpp).

Tiny random-weight Llama (GQA) and GPT-2 models in plain PyTorch (the model pieces of
train_golden.py, written to HF's math and names), a batch of (query, positive, hard negative)
token sequences of different lengths, each run through the model ALONE (no padding: the C++ side
pads and must get the same), pooled (mean over the sequence for Llama, last token for GPT-2),
then sentence-transformers' MatryoshkaLoss over MultipleNegativesRankingLoss:
  sum_d  CE(normalize(q[:, :d]) @ normalize([p; n][:, :d]).T / temperature, arange(B))
(Llama: dims {C, C/2}, one hard negative per query; GPT-2: dims {C}, no hard negatives, the
symmetric variant 0.5 * (forward + CE(S[:, :B].T, arange(B)))). Writes every parameter, the ids,
the loss and every parameter gradient as contrastive_<arch>.bin/.txt (train_golden.py's format).
Run: /usr/bin/python3 tests/reference/contrastive_model_golden.py   (Debian python3-torch 1.13)
"""
import math

import torch
import torch.nn.functional as F

import train_golden as tg

torch.manual_seed(4321)
LENS = {"q": [3, 7, 5, 2], "p": [9, 4, 11, 6], "n": [5, 10, 3, 8]}


def llama_hidden(p, cfg, ids):
    # ids (L) -> final-norm output (L, C)
    C, H, KV, L = cfg["d"], cfg["heads"], cfg["kv_heads"], cfg["layers"]
    D, T = C // H, ids.shape[0]
    inv_freq = 1.0 / (cfg["theta"] ** (torch.arange(0, D, 2).float() / D))
    freqs = torch.einsum("i,j->ij", torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    x = p["model.embed_tokens.weight"][ids][None]
    for i in range(L):
        h = f"model.layers.{i}."
        a = tg.rms_norm(x, p[h + "input_layernorm.weight"], cfg["eps"])
        q = (a @ p[h + "self_attn.q_proj.weight"].t()).view(1, T, H, D)
        k = (a @ p[h + "self_attn.k_proj.weight"].t()).view(1, T, KV, D)
        v = (a @ p[h + "self_attn.v_proj.weight"].t()).view(1, T, KV, D)
        q = q * cos + tg.rotate_half(q) * sin
        k = k * cos + tg.rotate_half(k) * sin
        a = tg.causal_attn(q, k, v, H, KV)
        x = x + a @ p[h + "self_attn.o_proj.weight"].t()
        m = tg.rms_norm(x, p[h + "post_attention_layernorm.weight"], cfg["eps"])
        m = F.silu(m @ p[h + "mlp.gate_proj.weight"].t()) * (m @ p[h + "mlp.up_proj.weight"].t())
        x = x + m @ p[h + "mlp.down_proj.weight"].t()
    return tg.rms_norm(x, p["model.norm.weight"], cfg["eps"])[0]


def gpt2_hidden(p, cfg, ids):
    C, H, L = cfg["d"], cfg["heads"], cfg["layers"]
    D, T = C // H, ids.shape[0]
    x = (p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][torch.arange(T)])[None]
    for i in range(L):
        h = f"transformer.h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], cfg["eps"])
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        a = tg.causal_attn(q.view(1, T, H, D), k.view(1, T, H, D), v.view(1, T, H, D), H, H)
        x = x + a @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], cfg["eps"])
        m = tg.gelu_new(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
        x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    return F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"],
                        cfg["eps"])[0]


def info_nce(q, docs, b, temperature, symmetric):
    s = q @ docs.t() / temperature
    labels = torch.arange(b)
    loss = F.cross_entropy(s, labels)
    if symmetric:
        loss = 0.5 * loss + 0.5 * F.cross_entropy(s[:, :b].t(), labels)
    return loss


def run(arch, cfg, make_params, hidden, pooling, dims, use_neg, symmetric, temperature):
    p = make_params(cfg)
    seqs = {k: [torch.randint(0, cfg["vocab"], (n,)) for n in v] for k, v in LENS.items()}
    w = tg.Writer()
    w.config(cfg)
    w.config({"pooling": pooling, "dims": ",".join(str(d) for d in dims), "hard_negatives": int(use_neg),
              "symmetric": int(symmetric), "temperature": temperature})
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    for k in ("q", "p", "n"):
        w.add(k + ".lens", torch.tensor([float(len(s)) for s in seqs[k]]))
        w.add(k + ".ids", torch.cat(seqs[k]).float())
    leaves = {n: p[n].clone().requires_grad_(True) for n in names}

    def pooled(k):
        rows = []
        for s in seqs[k]:
            h = hidden(leaves, cfg, s)
            rows.append(h.mean(0) if pooling == "mean" else h[-1])
        return torch.stack(rows)

    q, pos = pooled("q"), pooled("p")
    docs = torch.cat([pos, pooled("n")]) if use_neg else pos
    b = q.shape[0]
    loss = sum(info_nce(F.normalize(q[:, :d], dim=-1), F.normalize(docs[:, :d], dim=-1), b,
                        temperature, symmetric) for d in dims)
    loss.backward()
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        g = leaves[n].grad  # None for the LM head, which embeddings do not use
        w.add("grad." + n, g if g is not None else torch.zeros_like(p[n]))
    w.save("contrastive_" + arch)
    print(arch, "loss", loss.item(), "floats", w.off)


torch.set_num_threads(1)
run("llama", {"vocab": 64, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 80, "eps": 1e-6,
              "theta": 10000.0}, tg.llama_params, llama_hidden, "mean", [32, 16], True, False, 0.05)
run("gpt2", {"vocab": 64, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
    tg.gpt2_params, gpt2_hidden, "last", [32], False, True, 0.1)
