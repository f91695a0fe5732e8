#!/usr/bin/python3
"""Golden for models::Seq2Seq (tests/models/seq2seq_test.cpp): PyTorch's "NLP from scratch:
translation with a sequence to sequence network and attention" tutorial's EncoderRNN,
BahdanauAttention and AttnDecoderRNN (written out here: Debian python3-torch 1.13, no tutorial
code to import), with two changes Loom makes: the sources have different lengths (packed into the
encoder, padded positions masked out of the attention) and a two-layer encoder hands its last
layer's final state to the decoder. Teacher forcing, dropout off.

Writes seq2seq/gru.safetensors (the modules' state dict, float32) and seq2seq/gru.{bin,txt}: src,
src_lens, tgt_in, tgt_out (-100 = ignored), the loss (mean cross-entropy over predicted tokens) and
its gradient w.r.t. every parameter, computed in float64.

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
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VS, E)
        self.rnn = torch.nn.GRU(E, H, L, batch_first=True)

    def forward(self, src, lens):
        packed = pack_padded_sequence(self.embedding(src), torch.tensor(lens), batch_first=True,
                                      enforce_sorted=False)
        out, hidden = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=S)
        return out, hidden


class BahdanauAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.Wa = torch.nn.Linear(H, H)
        self.Ua = torch.nn.Linear(H, H)
        self.Va = torch.nn.Linear(H, 1)

    def forward(self, query, keys, mask):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys))).squeeze(2)  # (B, S)
        weights = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        return torch.bmm(weights.unsqueeze(1), keys), weights


class AttnDecoderRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VT, E)
        self.attention = BahdanauAttention()
        self.rnn = torch.nn.GRU(E + H, H, batch_first=True)
        self.out = torch.nn.Linear(H, VT)

    def forward(self, enc_out, enc_hidden, tgt_in, mask):
        hidden, logits = enc_hidden[-1:], []
        for i in range(T):
            emb = self.embedding(tgt_in[:, i:i + 1])
            ctx, _ = self.attention(hidden.permute(1, 0, 2), enc_out, mask)
            out, hidden = self.rnn(torch.cat((emb, ctx), dim=2), hidden)
            logits.append(self.out(out))
        return torch.cat(logits, dim=1)  # (B, T, VT)


class Seq2Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = EncoderRNN()
        self.decoder = AttnDecoderRNN()

    def forward(self, src, lens, tgt_in, tgt_out):
        enc_out, enc_hidden = self.encoder(src, lens)
        mask = torch.arange(S)[None, :] >= torch.tensor(lens)[:, None]
        logits = self.decoder(enc_out, enc_hidden, tgt_in, mask)
        return F.cross_entropy(logits.reshape(-1, VT), tgt_out.reshape(-1), ignore_index=-100)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(99)
    m = Seq2Seq()
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    write_safetensors(os.path.join(OUT, "gru.safetensors"), sd)
    src = torch.randint(0, VS, (B, S))
    tgt_in = torch.randint(0, VT, (B, T))
    tgt_out = torch.randint(0, VT, (B, T))
    tgt_out[1, 2:] = -100  # a shorter target
    tgt_out[2, 3] = -100
    m64 = Seq2Seq().double()
    m64.load_state_dict({k: v.double() for k, v in sd.items()})
    loss = m64(src, SRC_LENS, tgt_in, tgt_out)
    loss.backward()
    g = TensorGolden()
    g.config({"src_vocab": VS, "tgt_vocab": VT, "emb": E, "hidden": H, "encoder_layers": L,
              "batch": B, "src_len": S, "tgt_len": T})
    g.add("src", src.float())
    g.add("src_lens", torch.tensor(SRC_LENS, dtype=torch.float32))
    g.add("tgt_in", tgt_in.float())
    g.add("tgt_out", tgt_out.float())
    g.add("loss", loss.detach().reshape(1))
    for k, p in m64.named_parameters():
        g.add("grad." + k, p.grad)
    g.save(OUT, "gru")
    print("wrote", os.path.join(OUT, "gru") + ".{safetensors,bin,txt}")


if __name__ == "__main__":
    main()
