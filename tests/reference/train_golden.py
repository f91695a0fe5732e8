#!/usr/bin/python3
"""Golden gradients and optimiser trajectories for Loom's training engine (tests/nn/golden_test.cpp).

Builds tiny random-weight GPT-2 (learned positions, LayerNorm, GELU-tanh, tied head) and Llama
(RMSNorm, HF half-split RoPE, SwiGLU, GQA, untied head) models in plain PyTorch, written to match
Hugging Face's GPT2LMHeadModel / LlamaForCausalLM math and parameter names, and writes for each:
  - every parameter (float32), the input ids and targets (-100 = ignored),
  - the loss and every parameter gradient,
  - ten AdamW steps (torch.optim.AdamW, decay only on matrices, grad clipping at 1.0): the loss
    before each step and every parameter after the tenth,
  - ten SGD steps (momentum 0.9, coupled weight decay): the same.
Files: train_<arch>.bin (raw little-endian float32) and train_<arch>.txt (one line per tensor:
"name offset numel dim..."; offsets in floats; "config key value" lines first).
Run: /usr/bin/python3 tests/reference/train_golden.py   (Debian python3-torch 1.13)
"""
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
HERE = os.path.dirname(os.path.abspath(__file__))
B, T = 2, 12


def gpt2_params(cfg):
    V, C, L, Fd, P = cfg["vocab"], cfg["d"], cfg["layers"], cfg["ff"], cfg["max_seq"]
    p = {"transformer.wte.weight": torch.randn(V, C) * 0.08,
         "transformer.wpe.weight": torch.randn(P, C) * 0.08}
    for i in range(L):
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
    p["transformer.ln_f.weight"] = 1 + 0.1 * torch.randn(C)
    p["transformer.ln_f.bias"] = 0.05 * torch.randn(C)
    return p


def gelu_new(x):  # HF "gelu_new", GPT-2's tanh approximation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def causal_attn(q, k, v, H, KV):
    # q (B,T,H,D), k/v (B,T,KV,D) -> (B,T,H*D); GQA by repeating kv heads (HF repeat_kv)
    Bq, Tq, _, D = q.shape
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    if KV != H:
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
    w = q @ k.transpose(-1, -2) / math.sqrt(D)
    mask = torch.tril(torch.ones(Tq, Tq, dtype=torch.bool))
    w = w.masked_fill(~mask, torch.finfo(w.dtype).min)
    w = torch.softmax(w, dim=-1)
    return (w @ v).transpose(1, 2).reshape(Bq, Tq, H * D)


def gpt2_loss(p, cfg, ids, targets):
    C, H, L = cfg["d"], cfg["heads"], cfg["layers"]
    D = C // H
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][torch.arange(T)]
    for i in range(L):
        h = f"transformer.h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], cfg["eps"])
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        a = causal_attn(q.view(B, T, H, D), k.view(B, T, H, D), v.view(B, T, H, D), H, H)
        x = x + a @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], cfg["eps"])
        m = gelu_new(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
        x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], cfg["eps"])
    logits = x @ p["transformer.wte.weight"].t()
    return F.cross_entropy(logits.view(-1, cfg["vocab"]), targets.view(-1), ignore_index=-100)


def llama_params(cfg):
    V, C, L, Fd, H, KV = cfg["vocab"], cfg["d"], cfg["layers"], cfg["ff"], cfg["heads"], cfg["kv_heads"]
    KVD = KV * (C // H)
    p = {"model.embed_tokens.weight": torch.randn(V, C) * 0.08}
    for i in range(L):
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
    p["model.norm.weight"] = 1 + 0.1 * torch.randn(C)
    p["lm_head.weight"] = torch.randn(V, C) * 0.08
    return p


def rms_norm(x, w, eps):  # HF LlamaRMSNorm
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama_loss(p, cfg, ids, targets):
    C, H, KV, L = cfg["d"], cfg["heads"], cfg["kv_heads"], cfg["layers"]
    D = C // H
    inv_freq = 1.0 / (cfg["theta"] ** (torch.arange(0, D, 2).float() / D))
    freqs = torch.einsum("i,j->ij", torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    x = p["model.embed_tokens.weight"][ids]
    for i in range(L):
        h = f"model.layers.{i}."
        a = rms_norm(x, p[h + "input_layernorm.weight"], cfg["eps"])
        q = (a @ p[h + "self_attn.q_proj.weight"].t()).view(B, T, H, D)
        k = (a @ p[h + "self_attn.k_proj.weight"].t()).view(B, T, KV, D)
        v = (a @ p[h + "self_attn.v_proj.weight"].t()).view(B, T, KV, D)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = causal_attn(q, k, v, H, KV)
        x = x + a @ p[h + "self_attn.o_proj.weight"].t()
        m = rms_norm(x, p[h + "post_attention_layernorm.weight"], cfg["eps"])
        m = F.silu(m @ p[h + "mlp.gate_proj.weight"].t()) * (m @ p[h + "mlp.up_proj.weight"].t())
        x = x + m @ p[h + "mlp.down_proj.weight"].t()
    x = rms_norm(x, p["model.norm.weight"], cfg["eps"])
    logits = x @ p["lm_head.weight"].t()
    return F.cross_entropy(logits.view(-1, cfg["vocab"]), targets.view(-1), ignore_index=-100)


class Writer:
    def __init__(self):
        self.lines, self.data, self.off = [], [], 0

    def config(self, cfg):
        for k, v in cfg.items():
            self.lines.append(f"config {k} {v}")

    def add(self, name, t):
        t = t.detach().to(torch.float32).contiguous()
        dims = " ".join(str(d) for d in t.shape) if t.dim() > 0 else "1"
        self.lines.append(f"{name} {self.off} {t.numel()} {dims}")
        self.data.append(struct.pack(f"<{t.numel()}f", *t.reshape(-1).tolist()))
        self.off += t.numel()

    def save(self, stem):
        with open(os.path.join(HERE, stem + ".bin"), "wb") as f:
            f.write(b"".join(self.data))
        with open(os.path.join(HERE, stem + ".txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def run(arch, cfg, make_params, loss_fn):
    p = make_params(cfg)
    ids = torch.randint(0, cfg["vocab"], (B, T))
    targets = torch.randint(0, cfg["vocab"], (B, T))
    targets[0, 3] = -100
    targets[1, 7] = -100
    targets[1, 11] = -100
    w = Writer()
    w.config(cfg)
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    w.add("ids", ids.float())
    w.add("targets", targets.float())

    leaves = {n: p[n].clone().requires_grad_(True) for n in names}
    loss = loss_fn(leaves, cfg, ids, targets)
    loss.backward()
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        w.add("grad." + n, leaves[n].grad)

    # Ten AdamW steps: matrices decay, vectors (norms, biases) and wpe do not; clip at 1.0.
    leaves = {n: p[n].clone().requires_grad_(True) for n in names}
    decay = [leaves[n] for n in names if leaves[n].dim() == 2 and n != "transformer.wpe.weight"]
    no_decay = [leaves[n] for n in names if not (leaves[n].dim() == 2 and n != "transformer.wpe.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = loss_fn(leaves, cfg, ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(leaves.values()), 1.0)
        opt.step()
        losses.append(loss.item())
    w.add("adamw.losses", torch.tensor(losses))
    for n in names:
        w.add("adamw." + n, leaves[n])

    # Ten SGD steps: momentum 0.9, coupled weight decay 0.01 on every parameter.
    leaves = {n: p[n].clone().requires_grad_(True) for n in names}
    opt = torch.optim.SGD(list(leaves.values()), lr=0.05, momentum=0.9, weight_decay=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = loss_fn(leaves, cfg, ids, targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    w.add("sgd.losses", torch.tensor(losses))
    for n in names:
        w.add("sgd." + n, leaves[n])
    w.save("train_" + arch)
    print(arch, "loss", losses[0], "->", losses[-1], "floats", w.off)


if __name__ == "__main__":  # contrastive_model_golden.py imports the model pieces
  torch.set_num_threads(1)
  run("gpt2", {"vocab": 96, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
      gpt2_params, gpt2_loss)
  run("llama", {"vocab": 96, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 80,
                "eps": 1e-6, "theta": 10000.0}, llama_params, llama_loss)
