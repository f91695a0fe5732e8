#!/usr/bin/python3
"""PyTorch 1.13 CPU peer for bench/nn_train_step_bench.cpp: one full training step (zero grads,
forward, backward, clip, AdamW) of the same models, same shapes, same thread count.

usage: torch_step.py {llama_small|gpt2_small} {fp32|bf16} THREADS STEPS
prints: "<model> <dtype> tok/s=<x> ms/step=<y>"
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "llama_small": dict(arch="llama", vocab=32000, d=288, layers=6, heads=6, kv=6, ff=768, B=8),
    "gpt2_small": dict(arch="gpt2", vocab=50257, d=768, layers=12, heads=12, kv=12, ff=3072, B=4),
}
T = 256


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def attention(q, k, v):  # (B,H,T,D), causal, as HF does in 1.13 (no fused SDPA there)
    w = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    w = w.masked_fill(~mask, torch.finfo(w.dtype).min).softmax(-1)
    return w @ v


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff = c["d"], c["ff"]
        self.c = c
        self.H, self.D = c["heads"], d // c["heads"]
        if c["arch"] == "gpt2":
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.c_fc, self.mlp_proj = nn.Linear(d, ff), nn.Linear(ff, d)
        else:
            self.input_layernorm, self.post_attention_layernorm = RMSNorm(d), RMSNorm(d)
            self.q_proj = nn.Linear(d, d, bias=False)
            self.k_proj = nn.Linear(d, c["kv"] * self.D, bias=False)
            self.v_proj = nn.Linear(d, c["kv"] * self.D, bias=False)
            self.o_proj = nn.Linear(d, d, bias=False)
            self.gate_proj = nn.Linear(d, ff, bias=False)
            self.up_proj = nn.Linear(d, ff, bias=False)
            self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x, cos=None, sin=None):
        B = x.shape[0]
        heads = lambda t: t.view(B, T, self.H, self.D).transpose(1, 2)
        if self.c["arch"] == "gpt2":
            q, k, v = self.c_attn(self.ln_1(x)).split(self.c["d"], dim=-1)
            a = attention(heads(q), heads(k), heads(v)).transpose(1, 2).reshape(B, T, -1)
            x = x + self.c_proj(a)
            m = self.c_fc(self.ln_2(x))
            return x + self.mlp_proj(F.gelu(m, approximate="tanh"))
        h = self.input_layernorm(x)
        q, k, v = heads(self.q_proj(h)), heads(self.k_proj(h)), heads(self.v_proj(h))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = attention(q, k, v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o_proj(a)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c["vocab"], c["d"])
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        if c["arch"] == "gpt2":
            self.wpe = nn.Embedding(T, c["d"])
            self.norm = nn.LayerNorm(c["d"])
        else:
            self.norm = RMSNorm(c["d"])
            self.lm_head = nn.Linear(c["d"], c["vocab"], bias=False)
            D = c["d"] // c["heads"]
            inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2).float() / D))
            emb = torch.cat([torch.outer(torch.arange(T).float(), inv)] * 2, dim=-1)
            self.register_buffer("cos", emb.cos()[None, None])
            self.register_buffer("sin", emb.sin()[None, None])

    def forward(self, ids, targets):
        x = self.wte(ids)
        if self.c["arch"] == "gpt2":
            x = x + self.wpe(torch.arange(T))
            for b in self.blocks:
                x = b(x)
            logits = self.norm(x) @ self.wte.weight.t()
        else:
            for b in self.blocks:
                x = b(x, self.cos, self.sin)
            logits = self.lm_head(self.norm(x))
        return F.cross_entropy(logits.float().view(-1, self.c["vocab"]), targets.view(-1))


def main():
    name, dtype, threads, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = CONFIGS[name]
    model = Model(c)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "wpe" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "wpe" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.95))
    ids = torch.randint(0, c["vocab"], (c["B"], T))
    tg = torch.randint(0, c["vocab"], (c["B"], T))

    def step():
        opt.zero_grad(set_to_none=True)
        if dtype == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(ids, tg)
        else:
            loss = model(ids, tg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    print(f"{name} {dtype} tok/s={c['B'] * T / dt:.1f} ms/step={dt * 1000:.1f}")


if __name__ == "__main__":
    main()
