#!/usr/bin/python3
"""Goldens for Loom's recurrent layers (tests/models/recurrent_test.cpp): torch.nn.RNN (tanh and
ReLU), torch.nn.LSTM and torch.nn.GRU themselves (Debian python3-torch 1.13), random weights from
a fixed seed, in configurations that cover each cell kind, two layers, both directions,
batch-first input, initial states, and a batch of different lengths through
pack_padded_sequence / pad_packed_sequence.

For each configuration NAME it writes, beside this script, under recurrent/:
  NAME.safetensors  the module's state dict (float32, PyTorch's names: weight_ih_l0,
                    bias_hh_l1_reverse, ...), which the test loads as a PyTorch user would;
  NAME.{bin,txt}    a tensor golden (common/golden_io.py's TensorGolden): the config; the input x
                    (T,B,I) or (B,T,I); lengths; h0 (and c0) when given; the projections r_y, r_h,
                    r_c; the outputs y (padded steps zero), h_n, c_n; and the gradients of
                    L = sum(y*r_y) + sum(h_n*r_h) [+ sum(c_n*r_c)] w.r.t. every weight
                    (grad.<name>), x (grad.x) and h0, c0 (grad.h0, grad.c0).
And for the word-level LM of models/rnn_lm.h (PyTorch's word_language_model RNNModel: encoder
Embedding -> LSTM/GRU -> decoder Linear, optionally tied; dropout off), lm_<kind>.safetensors and
lm_<kind>.{bin,txt}: two windows of ids/targets, the first run without gradients and its final
state carried (detached) into the second; both losses (mean cross-entropy), the state after the
second and the gradients of the second loss w.r.t. every weight.

Outputs and gradients are computed in float64 from the float32 weights and inputs exactly, so
the reference is far below the test's 1e-5 bound.

Run: /usr/bin/python3 tests/reference/models/recurrent_golden.py
"""
import os
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import TensorGolden, write_safetensors  # noqa: E402

OUT = os.path.join(HERE, "recurrent")
I, H, T, B = 5, 6, 5, 3
LENGTHS = [5, 2, 4]  # unsorted on purpose: pack_padded_sequence(enforce_sorted=False)

# name, mode, layers, bidirectional, batch_first, lengths, initial state
CONFIGS = [
    ("rnn_tanh_bi_packed", "RNN_TANH", 2, True, False, True, True),
    ("rnn_relu_bi_packed", "RNN_RELU", 2, True, True, True, True),
    ("lstm_bi_packed", "LSTM", 2, True, False, True, True),
    ("gru_bi_packed", "GRU", 2, True, True, True, True),
    ("lstm_uni_batch_first", "LSTM", 2, False, True, False, False),
    ("gru_uni", "GRU", 1, False, False, False, True),
    ("rnn_tanh_bi_full", "RNN_TANH", 1, True, False, False, False),
]


def make_module(mode, layers, bidirectional, batch_first):
    kw = dict(input_size=I, hidden_size=H, num_layers=layers, bidirectional=bidirectional,
              batch_first=batch_first)
    if mode == "LSTM":
        return torch.nn.LSTM(**kw)
    if mode == "GRU":
        return torch.nn.GRU(**kw)
    return torch.nn.RNN(nonlinearity="tanh" if mode == "RNN_TANH" else "relu", **kw)


def run(m, x, lengths, h0, c0, batch_first):
    """The module on x (packed when lengths) -> (y padded to T, h_n, c_n or None)."""
    state = None if h0 is None else ((h0, c0) if c0 is not None else h0)
    inp = x if lengths is None else pack_padded_sequence(x, torch.tensor(lengths),
                                                         batch_first=batch_first,
                                                         enforce_sorted=False)
    y, hn = m(inp, state)
    if lengths is not None:
        y, _ = pad_packed_sequence(y, batch_first=batch_first, total_length=T)
    if isinstance(hn, tuple):
        return y, hn[0], hn[1]
    return y, hn, None


def golden(name, mode, layers, bidirectional, batch_first, packed, init_state):
    m = make_module(mode, layers, bidirectional, batch_first)  # PyTorch's init, float32
    d = 2 if bidirectional else 1
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    h0 = torch.randn(layers * d, B, H) if init_state else None
    c0 = torch.randn(layers * d, B, H) if init_state and mode == "LSTM" else None
    lengths = LENGTHS if packed else None
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    write_safetensors(os.path.join(OUT, name + ".safetensors"), sd)

    m64 = make_module(mode, layers, bidirectional, batch_first).double()
    m64.load_state_dict({k: v.double() for k, v in sd.items()})
    leaves = {"x": x.double().requires_grad_(True)}
    if h0 is not None:
        leaves["h0"] = h0.double().requires_grad_(True)
    if c0 is not None:
        leaves["c0"] = c0.double().requires_grad_(True)
    y, hn, cn = run(m64, leaves["x"], lengths, leaves.get("h0"), leaves.get("c0"), batch_first)
    r_y, r_h = torch.rand(y.shape) * 2 - 1, torch.rand(hn.shape) * 2 - 1
    loss = (y * r_y.double()).sum() + (hn * r_h.double()).sum()
    r_c = None
    if cn is not None:
        r_c = torch.rand(cn.shape) * 2 - 1
        loss = loss + (cn * r_c.double()).sum()
    loss.backward()

    g = TensorGolden()
    g.config({"mode": mode, "input_size": I, "hidden_size": H, "num_layers": layers,
              "bidirectional": int(bidirectional), "batch_first": int(batch_first),
              "seq_len": T, "batch": B, "packed": int(packed), "init_state": int(init_state)})
    g.add("x", x)
    if packed:
        g.add("lengths", torch.tensor(lengths, dtype=torch.float32))
    for k in ("h0", "c0"):
        if k in leaves:
            g.add(k, leaves[k])
    g.add("r_y", r_y)
    g.add("r_h", r_h)
    if r_c is not None:
        g.add("r_c", r_c)
    g.add("y", y)
    g.add("h_n", hn)
    if cn is not None:
        g.add("c_n", cn)
    g.add("loss", loss.detach().reshape(1))
    for k, p in m64.named_parameters():
        g.add("grad." + k, p.grad)
    for k, v in leaves.items():
        g.add("grad." + k, v.grad)
    g.save(OUT, name)


class RNNModel(torch.nn.Module):
    """word_language_model's RNNModel, dropout left out (the goldens run it in eval mode)."""

    def __init__(self, mode, ntoken, ninp, nhid, nlayers, tie):
        super().__init__()
        self.encoder = torch.nn.Embedding(ntoken, ninp)
        self.rnn = getattr(torch.nn, mode)(ninp, nhid, nlayers)
        self.decoder = torch.nn.Linear(nhid, ntoken)
        if tie:
            self.decoder.weight = self.encoder.weight

    def forward(self, ids, state):
        y, state = self.rnn(self.encoder(ids), state)
        return self.decoder(y), state


def lm_golden(mode, tie):
    V, E, L, TT, BB = 11, 6, 2, 4, 3
    m = RNNModel(mode, V, E, E, L, tie)
    with torch.no_grad():
        m.encoder.weight.uniform_(-0.5, 0.5)
        m.decoder.bias.uniform_(-0.1, 0.1)
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    name = "lm_" + mode.lower() + ("_tied" if tie else "")
    write_safetensors(os.path.join(OUT, name + ".safetensors"), sd)
    m64 = RNNModel(mode, V, E, E, L, tie).double()
    m64.load_state_dict({k: v.double() for k, v in sd.items()})
    ids = [torch.randint(0, V, (TT, BB)) for _ in range(2)]
    tgs = [torch.randint(0, V, (TT, BB)) for _ in range(2)]
    ce = torch.nn.functional.cross_entropy
    with torch.no_grad():
        logits, state = m64(ids[0], None)
        loss1 = ce(logits.reshape(-1, V), tgs[0].reshape(-1))
    logits, state = m64(ids[1], state)  # the carried state is a constant: detached
    loss2 = ce(logits.reshape(-1, V), tgs[1].reshape(-1))
    loss2.backward()
    g = TensorGolden()
    g.config({"mode": mode, "vocab": V, "emb": E, "hidden": E, "layers": L, "seq_len": TT,
              "batch": BB, "tied": int(tie)})
    for i in range(2):
        g.add(f"ids{i + 1}", ids[i].float())
        g.add(f"targets{i + 1}", tgs[i].float())
    g.add("loss1", loss1.reshape(1))
    g.add("loss2", loss2.detach().reshape(1))
    g.add("h_n", state[0] if isinstance(state, tuple) else state)
    for k, p in m64.named_parameters():  # a tied decoder.weight is encoder.weight: listed once
        g.add("grad." + k, p.grad)
    g.save(OUT, name)
    print("wrote", os.path.join(OUT, name) + ".{safetensors,bin,txt}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2024)
    for cfg in CONFIGS:
        golden(*cfg)
        print("wrote", os.path.join(OUT, cfg[0]) + ".{safetensors,bin,txt}")
    lm_golden("LSTM", False)
    lm_golden("GRU", True)


if __name__ == "__main__":
    main()
