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


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2024)
    for cfg in CONFIGS:
        golden(*cfg)
        print("wrote", os.path.join(OUT, cfg[0]) + ".{safetensors,bin,txt}")


if __name__ == "__main__":
    main()
