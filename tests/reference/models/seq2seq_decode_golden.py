#!/usr/bin/python3
"""Golden for Loom's seq2seq decoding (tests/train/seq2seq_decode_test.cpp): greedy and beam
search of seq2seq_golden.py's model with a bidirectional one-layer encoder and random weights
(PyTorch's initialisation, then doubled so that the outputs depend on the source: written to
seq2seq/decode.safetensors), in float64, on three sources of different lengths.
  - greedy: argmax from BOS until EOS or max_len, the batch padded and masked; tokens (EOS not
    included), whether it ended with EOS, and the sum of the chosen tokens' log-probabilities;
  - beam: Hugging Face's beam search (generate/beam_search_golden.py's re-implementation) from the
    prompt [BOS], each source alone, every step recomputing the decoder from BOS.
EOS is the token greedy picks at the third step of source 0, so hypotheses end at different
lengths. A case whose float32 run picks other tokens is too close to a tie: the script
stops.

Run: /usr/bin/python3 tests/reference/models/seq2seq_decode_golden.py   # after seq2seq_golden.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "generate"))
from beam_search_golden import beam_search  # noqa: E402
from common.golden_io import read_safetensors, write_json, write_safetensors  # noqa: E402
import seq2seq_golden as s2s  # noqa: E402

VS, VT, E, H = 11, 12, 6, 8
BOS, MAX_LEN = 0, 9
SRC_LENS = [7, 3, 5]
BEAMS = [dict(num_beams=3, max_new_tokens=MAX_LEN, length_penalty=1.0),
         dict(num_beams=4, max_new_tokens=MAX_LEN, length_penalty=2.0, num_return_sequences=2),
         dict(num_beams=2, max_new_tokens=MAX_LEN, length_penalty=0.0)]


PATH = os.path.join(s2s.OUT, "decode.safetensors")


def write_weights():
    torch.manual_seed(21)
    m = s2s.Seq2Seq(VS, VT, E, H, 1, bidirectional=True)
    write_safetensors(PATH, {k: 2 * v.detach().clone() for k, v in m.state_dict().items()})


def load(dtype):
    m = s2s.Seq2Seq(VS, VT, E, H, 1, bidirectional=True).to(dtype)
    m.load_state_dict(read_safetensors(PATH, dtype=dtype))
    return m.eval()


@torch.no_grad()
def logits_fn(m, src):
    """The next-token logits after decoding seq (BOS first) from one source, from scratch."""
    enc, hidden, mask = m.encode(src[None], [len(src)])

    def fn(seq):
        h = hidden
        for tok in seq:
            lg, h, _ = m.decoder.step(enc, h, torch.tensor([[tok]]), mask)
        return lg[0, 0]
    return fn


@torch.no_grad()
def greedy(m, src, lens, eos):
    enc, h, mask = m.encode(src, lens)
    ids = torch.full((src.shape[0], 1), BOS)
    out = [dict(tokens=[], finished=False, sum_logprobs=0.0) for _ in lens]
    for _ in range(MAX_LEN):
        lg, h, _ = m.decoder.step(enc, h, ids, mask)
        lp = torch.log_softmax(lg[:, 0], dim=-1)
        ids = torch.argmax(lp, dim=-1, keepdim=True)
        for b, o in enumerate(out):
            tok = int(ids[b, 0])
            if o["finished"]:
                continue
            o["sum_logprobs"] += float(lp[b, tok])
            if tok == eos:
                o["finished"] = True
            else:
                o["tokens"].append(tok)
    return out


def main():
    write_weights()
    torch.manual_seed(5)
    src = torch.randint(1, VS, (len(SRC_LENS), max(SRC_LENS)))
    for b, n in enumerate(SRC_LENS):
        src[b, n:] = 0
    m64, m32 = load(torch.float64), load(torch.float32)
    first = logits_fn(m64, src[0, :SRC_LENS[0]])
    seq = [BOS]
    for _ in range(3):
        seq.append(int(torch.argmax(first(seq))))
    eos = seq[-1]
    g = greedy(m64, src, SRC_LENS, eos)
    assert [o["tokens"] for o in g] == [o["tokens"] for o in greedy(m32, src, SRC_LENS, eos)]
    beams = []
    for c in BEAMS:
        per_source = []
        for b, n in enumerate(SRC_LENS):
            res = beam_search(logits_fn(m64, src[b, :n]), [BOS], eos, **c)
            res32 = beam_search(logits_fn(m32, src[b, :n]), [BOS], eos, dtype=torch.float32, **c)
            assert [r["tokens"] for r in res] == [r["tokens"] for r in res32], ("near tie", c, b)
            per_source.append(res)
        beams.append(dict(c, results=per_source))
    write_json(os.path.join(s2s.OUT, "decode.json"),
               {"model": "models/seq2seq/decode.safetensors", "src_vocab": VS,
                "tgt_vocab": VT, "emb": E, "hidden": H, "bos": BOS, "eos": eos, "max_len": MAX_LEN,
                "src_lens": SRC_LENS, "sources": src.tolist(), "greedy": g, "beam": beams},
               indent=1)
    print("eos", eos, "greedy", [(o["tokens"], o["finished"]) for o in g])
    for c in beams:
        print(c["num_beams"], c["length_penalty"],
              [[(r["tokens"], round(r["score"], 4)) for r in res] for res in c["results"]])


if __name__ == "__main__":
    main()
