#!/usr/bin/python3
"""Golden for models::Seq2Seq (tests/models/seq2seq_test.cpp): PyTorch's "NLP from scratch:
translation with a sequence to sequence network and attention" tutorial's EncoderRNN,
BahdanauAttention and AttnDecoderRNN (written out here: Debian python3-torch 1.13, no tutorial
code to import), with two changes Loom makes: the sources have different lengths (packed into the
encoder, padded positions masked out of the attention) and a two-layer encoder hands its last
layer's final state to the decoder. Teacher forcing, dropout off.

A second case, gru_bi, has a bidirectional encoder: the attention reads its [forward | backward]
outputs (2H) and the decoder starts from tanh(fc([final forward | final backward state])) of the
last layer (encoder.fc, the layout most PyTorch ports of Bahdanau et al. use).

Writes seq2seq/<case>.safetensors (the modules' state dict, float32) and seq2seq/<case>.{bin,txt}:
src, src_lens, tgt_in, tgt_out (-100 = ignored), the loss (mean cross-entropy over predicted
tokens) and its gradient w.r.t. every parameter, computed in float64.

Run: /usr/bin/python3 tests/reference/models/seq2seq_golden.py
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import TensorGolden, write_safetensors  # noqa: E402

OUT = os.path.join(HERE, "seq2seq")
VS, VT, E, H, L = 9, 8, 5, 6, 2
B, S, T = 3, 5, 4
SRC_LENS = [5, 2, 4]


class EncoderRNN(torch.nn.Module):
    def __init__(self, vs=VS, e=E, h=H, layers=L, bidirectional=False):
        super().__init__()
        self.embedding = torch.nn.Embedding(vs, e)
        self.rnn = torch.nn.GRU(e, h, layers, batch_first=True, bidirectional=bidirectional)
        self.bidirectional = bidirectional
        if bidirectional:
            self.fc = torch.nn.Linear(2 * h, h)

    def forward(self, src, lens):
        packed = pack_padded_sequence(self.embedding(src), torch.tensor(lens), batch_first=True,
                                      enforce_sorted=False)
        out, hidden = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        if self.bidirectional:  # (1, B, H): the last layer's two final states, joined
            hidden = torch.tanh(self.fc(torch.cat((hidden[-2], hidden[-1]), dim=1)))[None]
        return out, hidden[-1:]


class BahdanauAttention(torch.nn.Module):
    def __init__(self, h=H, dh=H):
        super().__init__()
        self.Wa = torch.nn.Linear(h, h)
        self.Ua = torch.nn.Linear(dh, h)
        self.Va = torch.nn.Linear(h, 1)

    def forward(self, query, values, mask):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(values))).squeeze(2)  # (B, S)
        weights = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        return torch.bmm(weights.unsqueeze(1), values), weights


class AttnDecoderRNN(torch.nn.Module):
    def __init__(self, vt=VT, e=E, h=H, dh=H):
        super().__init__()
        self.embedding = torch.nn.Embedding(vt, e)
        self.attention = BahdanauAttention(h, dh)
        self.rnn = torch.nn.GRU(e + dh, h, batch_first=True)
        self.out = torch.nn.Linear(h, vt)

    def step(self, enc_out, hidden, tokens, mask):
        """tokens (B, 1), hidden (1, B, H) -> logits (B, 1, VT), hidden, attention (B, 1, S)."""
        emb = self.embedding(tokens)
        ctx, weights = self.attention(hidden.permute(1, 0, 2), enc_out, mask)
        out, hidden = self.rnn(torch.cat((emb, ctx), dim=2), hidden)
        return self.out(out), hidden, weights

    def forward(self, enc_out, enc_hidden, tgt_in, mask):
        hidden, logits = enc_hidden, []
        for i in range(tgt_in.shape[1]):
            lg, hidden, _ = self.step(enc_out, hidden, tgt_in[:, i:i + 1], mask)
            logits.append(lg)
        return torch.cat(logits, dim=1)  # (B, T, VT)


class Seq2Seq(torch.nn.Module):
    def __init__(self, vs=VS, vt=VT, e=E, h=H, layers=L, bidirectional=False):
        super().__init__()
        self.encoder = EncoderRNN(vs, e, h, layers, bidirectional)
        self.decoder = AttnDecoderRNN(vt, e, h, 2 * h if bidirectional else h)

    def encode(self, src, lens):
        """-> encoder outputs (B, S, D·H), the decoder's first state (1, B, H), the padding mask."""
        enc_out, hidden = self.encoder(src, lens)
        mask = torch.arange(src.shape[1])[None, :] >= torch.tensor(lens)[:, None]
        return enc_out, hidden, mask

    def forward(self, src, lens, tgt_in, tgt_out):
        enc_out, enc_hidden, mask = self.encode(src, lens)
        logits = self.decoder(enc_out, enc_hidden, tgt_in, mask)
        vt = logits.shape[2]
        return F.cross_entropy(logits.reshape(-1, vt), tgt_out.reshape(-1), ignore_index=-100)


def write_case(name, seed, bidirectional):
    torch.manual_seed(seed)
    m = Seq2Seq(bidirectional=bidirectional)
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    write_safetensors(os.path.join(OUT, name + ".safetensors"), sd)
    src = torch.randint(0, VS, (B, S))
    tgt_in = torch.randint(0, VT, (B, T))
    tgt_out = torch.randint(0, VT, (B, T))
    tgt_out[1, 2:] = -100  # a shorter target
    tgt_out[2, 3] = -100
    m64 = Seq2Seq(bidirectional=bidirectional).double()
    m64.load_state_dict({k: v.double() for k, v in sd.items()})
    loss = m64(src, SRC_LENS, tgt_in, tgt_out)
    loss.backward()
    g = TensorGolden()
    g.config({"src_vocab": VS, "tgt_vocab": VT, "emb": E, "hidden": H, "encoder_layers": L,
              "bidirectional": int(bidirectional), "batch": B, "src_len": S, "tgt_len": T})
    g.add("src", src.float())
    g.add("src_lens", torch.tensor(SRC_LENS, dtype=torch.float32))
    g.add("tgt_in", tgt_in.float())
    g.add("tgt_out", tgt_out.float())
    g.add("loss", loss.detach().reshape(1))
    for k, p in m64.named_parameters():
        g.add("grad." + k, p.grad)
    g.save(OUT, name)
    print("wrote", os.path.join(OUT, name) + ".{safetensors,bin,txt}")


def main():
    os.makedirs(OUT, exist_ok=True)
    write_case("gru", 99, False)
    write_case("gru_bi", 7, True)


if __name__ == "__main__":
    main()
