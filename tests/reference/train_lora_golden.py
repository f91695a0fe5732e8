#!/usr/bin/python3
"""Golden LoRA forward/backward for Loom (tests/train/lora_test.cpp).

Tiny random-weight Llama (GQA, untied head, HF half-split RoPE) and GPT-2 (Conv1D weights, tied
head) written in plain PyTorch with Hugging Face's math and names, with LoRA adapters as PEFT
implements them: y = base(x) + (alpha / r) * (x @ A.T) @ B.T, A (r, in), B (out, r), on every
projection of every block (Llama q,k,v,o,gate,up,down; GPT-2 c_attn, attn.c_proj, c_fc,
mlp.c_proj). A and B are random (B nonzero, so both get gradients). Writes the parameters, ids,
targets, the loss and the gradients of every A and B and of the token embedding.
Files: lora_<arch>.bin (raw little-endian float32) and lora_<arch>.txt ("name offset numel dims";
"config key value" lines first) — the layout of train_golden.py.
Run: /usr/bin/python3 tests/reference/train_lora_golden.py   (Debian python3-torch 1.13)
"""
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(4321)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
B, T = 2, 10
RANK, ALPHA = 4, 8.0


def causal_attn(q, k, v, H, KV):
    Bq, Tq, _, D = q.shape
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    if KV != H:
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
    w = q @ k.transpose(-1, -2) / math.sqrt(D)
    mask = torch.tril(torch.ones(Tq, Tq, dtype=torch.bool))
    w = w.masked_fill(~mask, torch.finfo(w.dtype).min)
    return (torch.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(Bq, Tq, H * D)


def lora(p, x, module):
    """The LoRA update of `module` (PEFT: lora_B(lora_A(x)) * scaling)."""
    return (x @ p[module + ".lora_A.weight"].t()) @ p[module + ".lora_B.weight"].t() * (ALPHA / RANK)


def add_lora(p, modules, dims):
    for m in modules:
        fin, fout = dims(m)
        p[m + ".lora_A.weight"] = (torch.rand(RANK, fin) * 2 - 1) / math.sqrt(fin)
        p[m + ".lora_B.weight"] = torch.randn(fout, RANK) * 0.05


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gpt2_params(c):
    V, C, L, Fd, P = c["vocab"], c["d"], c["layers"], c["ff"], c["max_seq"]
    p = {"transformer.wte.weight": torch.randn(V, C) * 0.08,
         "transformer.wpe.weight": torch.randn(P, C) * 0.08}
    mods = []
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
        mods += [h + m for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
    p["transformer.ln_f.weight"] = 1 + 0.1 * torch.randn(C)
    p["transformer.ln_f.bias"] = 0.05 * torch.randn(C)
    add_lora(p, mods, lambda m: tuple(p[m + ".weight"].shape))  # Conv1D: (in, out)
    return p


def gpt2_loss(p, c, ids, targets):
    C, H, L = c["d"], c["heads"], c["layers"]
    D = C // H

    def conv1d(x, m):
        return x @ p[m + ".weight"] + p[m + ".bias"] + lora(p, x, m)

    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][torch.arange(T)]
    for i in range(L):
        h = f"transformer.h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], c["eps"])
        q, k, v = conv1d(a, h + "attn.c_attn").split(C, dim=-1)
        a = causal_attn(q.view(B, T, H, D), k.view(B, T, H, D), v.view(B, T, H, D), H, H)
        x = x + conv1d(a, h + "attn.c_proj")
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], c["eps"])
        x = x + conv1d(gelu_new(conv1d(m, h + "mlp.c_fc")), h + "mlp.c_proj")
    x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], c["eps"])
    logits = x @ p["transformer.wte.weight"].t()
    return F.cross_entropy(logits.view(-1, c["vocab"]), targets.view(-1), ignore_index=-100)


def llama_params(c):
    V, C, L, Fd, H, KV = c["vocab"], c["d"], c["layers"], c["ff"], c["heads"], c["kv_heads"]
    KVD = KV * (C // H)
    p = {"model.embed_tokens.weight": torch.randn(V, C) * 0.08}
    mods = []
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
        mods += [h + m for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                 "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")]
    p["model.norm.weight"] = 1 + 0.1 * torch.randn(C)
    p["lm_head.weight"] = torch.randn(V, C) * 0.08
    add_lora(p, mods, lambda m: tuple(reversed(p[m + ".weight"].shape)))  # nn.Linear: (out, in)
    return p


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama_loss(p, c, ids, targets):
    C, H, KV, L = c["d"], c["heads"], c["kv_heads"], c["layers"]
    D = C // H

    def linear(x, m):
        return x @ p[m + ".weight"].t() + lora(p, x, m)

    inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, D, 2).float() / D))
    freqs = torch.einsum("i,j->ij", torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    x = p["model.embed_tokens.weight"][ids]
    for i in range(L):
        h = f"model.layers.{i}."
        a = rms_norm(x, p[h + "input_layernorm.weight"], c["eps"])
        q = linear(a, h + "self_attn.q_proj").view(B, T, H, D)
        k = linear(a, h + "self_attn.k_proj").view(B, T, KV, D)
        v = linear(a, h + "self_attn.v_proj").view(B, T, KV, D)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        x = x + linear(causal_attn(q, k, v, H, KV), h + "self_attn.o_proj")
        m = rms_norm(x, p[h + "post_attention_layernorm.weight"], c["eps"])
        m = F.silu(linear(m, h + "mlp.gate_proj")) * linear(m, h + "mlp.up_proj")
        x = x + linear(m, h + "mlp.down_proj")
    x = rms_norm(x, p["model.norm.weight"], c["eps"])
    logits = x @ p["lm_head.weight"].t()
    return F.cross_entropy(logits.view(-1, c["vocab"]), targets.view(-1), ignore_index=-100)


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


def run(arch, cfg, make_params, loss_fn, emb):
    p = make_params(cfg)
    ids = torch.randint(0, cfg["vocab"], (B, T))
    targets = torch.randint(0, cfg["vocab"], (B, T))
    targets[1, 4] = -100
    w = Writer()
    w.config(dict(cfg, rank=RANK, alpha=ALPHA))
    names = list(p.keys())
    for n in names:
        w.add("param." + n, p[n])
    w.add("ids", ids.float())
    w.add("targets", targets.float())
    # float64 reference: the golden is exact to far below the tolerance the test applies.
    leaves = {n: p[n].double().clone().requires_grad_(".lora_" in n or n == emb) for n in names}
    loss = loss_fn(leaves, cfg, ids, targets)
    loss.backward()
    w.add("loss", loss.detach().reshape(1))
    for n in names:
        if leaves[n].grad is not None:
            w.add("grad." + n, leaves[n].grad)
    w.save("lora_" + arch)
    print(arch, "loss", loss.item(), "floats", w.off)


run("llama", {"vocab": 64, "d": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ff": 64, "eps": 1e-6,
              "theta": 10000.0}, llama_params, llama_loss, "model.embed_tokens.weight")
run("gpt2", {"vocab": 64, "max_seq": 16, "d": 32, "layers": 2, "heads": 4, "ff": 128, "eps": 1e-5},
    gpt2_params, gpt2_loss, "transformer.wte.weight")
