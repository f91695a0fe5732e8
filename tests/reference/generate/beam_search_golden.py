#!/usr/bin/env python3
"""Golden for tests/generate/beam_search_test.cpp: Hugging Face beam search, re-implemented here
from transformers' `_beam_search` + `BeamSearchScorer` + `BeamHypotheses` (the semantics of
transformers 4.36 to 4.44, where a hypothesis' length counts the generated tokens including its
EOS), run on the random-weight Llama of tests/reference/infer_models (llama_hf, vocab 61).

What it reproduces, step by step:
- scores = log_softmax(logits of every live beam); logits processors on the log-probabilities:
  min_new_tokens (EOS -inf while fewer new tokens than asked) and no_repeat_ngram_size (a token
  that would repeat an n-gram of the whole sequence, prompt included, -inf);
- beam scores start at 0 for the first beam and -1e9 for the others (copies of the prompt);
- the 2·num_beams best (beam score + log-prob) over all beams, best first; an EOS candidate
  ranked below num_beams is ignored, a better one becomes a finished hypothesis scored
  sum_logprobs / generated_len^length_penalty; the first num_beams others continue;
- a finished list keeps the num_beams best; it is done when full and early_stopping is True, or
  when its worst score beats the best attainable one (False: the best candidate's sum over the
  current length; "never": over max length when length_penalty > 0);
- at the end, unfinished beams join the list; the best num_return_sequences are returned.
Each case runs in float64 and again in float32; a case whose two runs disagree on any token is
too close to a tie to be a golden and the script stops.

  /usr/bin/python3 tests/reference/generate/beam_search_golden.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from models import infer_models  # noqa: E402
from common.golden_io import read_safetensors, write_json  # noqa: E402


class Hypotheses:
    def __init__(self, num_beams, length_penalty, early_stopping, max_length):
        self.num_beams, self.lp, self.early, self.max_length = (num_beams, length_penalty,
                                                                early_stopping, max_length)
        self.beams = []  # (score, tokens, sum_logprobs)
        self.worst = 1e9

    def add(self, tokens, sum_logprobs, generated_len):
        score = sum_logprobs / (generated_len ** self.lp)
        if len(self.beams) < self.num_beams or score > self.worst:
            self.beams.append((score, tokens, sum_logprobs))
            if len(self.beams) > self.num_beams:
                ranked = sorted((s, i) for i, (s, _, _) in enumerate(self.beams))
                del self.beams[ranked[0][1]]
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum_logprobs, cur_len, prompt_len):
        if len(self.beams) < self.num_beams:
            return False
        if self.early is True:
            return True
        if self.early is False or self.lp <= 0:
            best = best_sum_logprobs / (cur_len - prompt_len) ** self.lp
        else:  # "never" with a positive length penalty
            best = best_sum_logprobs / (self.max_length - prompt_len) ** self.lp
        return self.worst >= best


def banned_ngram_tokens(seq, n):
    if n <= 0 or len(seq) + 1 < n:
        return []
    prefix = tuple(seq[len(seq) + 1 - n:])
    return [seq[i + n - 1] for i in range(len(seq) - n + 1) if tuple(seq[i:i + n - 1]) == prefix]


def beam_search(logits_fn, prompt, eos, num_beams, max_new_tokens, length_penalty=1.0,
                early_stopping=False, no_repeat_ngram_size=0, min_new_tokens=0,
                num_return_sequences=1, dtype=torch.float64):
    prompt_len, max_length = len(prompt), len(prompt) + max_new_tokens
    seqs = [list(prompt) for _ in range(num_beams)]
    beam_scores = torch.zeros(num_beams, dtype=dtype)
    beam_scores[1:] = -1e9
    hyps = Hypotheses(num_beams, length_penalty, early_stopping, max_length)
    done = False
    while True:
        scores = torch.log_softmax(torch.stack([logits_fn(s) for s in seqs]).to(dtype), dim=-1)
        V = scores.shape[1]
        for b, s in enumerate(seqs):
            if len(s) - prompt_len < min_new_tokens:
                scores[b, eos] = -float("inf")
            for t in banned_ngram_tokens(s, no_repeat_ngram_size):
                scores[b, t] = -float("inf")
        total = (scores + beam_scores[:, None]).reshape(-1)
        top, idx = torch.topk(total, 2 * num_beams)
        cur_len = len(seqs[0]) + 1
        nxt = []
        for rank, (score, flat) in enumerate(zip(top.tolist(), idx.tolist())):
            b, tok = divmod(flat, V)
            if tok == eos:
                if rank < num_beams:
                    hyps.add(list(seqs[b]), score, cur_len - prompt_len)
            else:
                nxt.append((score, b, tok))
            if len(nxt) == num_beams:
                break
        done = done or hyps.is_done(top.max().item(), cur_len, prompt_len)
        seqs = [seqs[b] + [tok] for _, b, tok in nxt]
        beam_scores = torch.tensor([s for s, _, _ in nxt], dtype=dtype)
        if done or len(seqs[0]) >= max_length:
            break
    if not done:
        for b, s in enumerate(seqs):
            hyps.add(list(s), beam_scores[b].item(), len(s) - prompt_len)
    ranked = sorted(hyps.beams, key=lambda h: h[0])
    out = []
    for _ in range(num_return_sequences):
        score, tokens, sum_lp = ranked.pop()
        gen = tokens[prompt_len:]
        finished = len(tokens) < max_length
        out.append({"tokens": gen + ([eos] if finished else []), "score": score,
                    "sum_logprobs": sum_lp, "finished": finished})
    return out


CASES = [  # "eos" given where the default pick would not tell the options apart
    dict(prompt=[1, 5, 9], num_beams=4, max_new_tokens=12, length_penalty=1.0),
    dict(prompt=[1, 5, 9], num_beams=4, max_new_tokens=12, length_penalty=0.0),
    dict(prompt=[1, 5, 9], num_beams=4, max_new_tokens=12, length_penalty=2.0),
    dict(prompt=[1, 5, 9], num_beams=4, max_new_tokens=12, length_penalty=-1.0),
    dict(prompt=[2, 40, 7, 7], eos=29, num_beams=3, max_new_tokens=10, early_stopping=True),
    dict(prompt=[2, 40, 7, 7], eos=29, num_beams=3, max_new_tokens=10, early_stopping=False),
    dict(prompt=[2, 40, 7, 7], eos=43, num_beams=2, max_new_tokens=20, early_stopping=False),
    dict(prompt=[2, 40, 7, 7], eos=43, num_beams=2, max_new_tokens=20, early_stopping="never"),
    dict(prompt=[1, 33], eos=42, num_beams=5, max_new_tokens=14, no_repeat_ngram_size=2,
         num_return_sequences=3),
    dict(prompt=[1, 33], eos=42, num_beams=5, max_new_tokens=14, min_new_tokens=6,
         num_return_sequences=5),
    dict(prompt=[3, 11, 19, 27, 35], num_beams=1, max_new_tokens=8),
]


def pick_eos(logits_fn, prompt):
    """A token the model likes two steps in (greedy), so beams end at different lengths."""
    ids = list(prompt)
    ids.append(int(torch.argmax(logits_fn(ids))))
    ranked = torch.argsort(logits_fn(ids), descending=True).tolist()
    return ranked[2]


def main():
    path = os.path.join(infer_models.OUT, "llama_hf", "model.safetensors")
    fns = {}
    for dt in (torch.float64, torch.float32):
        w = read_safetensors(path, dtype=dt)
        fns[dt] = lambda ids, w=w: infer_models.llama_forward(w, ids)[-1]
    cases = []
    for c in CASES:
        eos = c["eos"] if "eos" in c else pick_eos(fns[torch.float64], c["prompt"])
        kw = {k: v for k, v in c.items() if k not in ("prompt", "eos")}
        res = beam_search(fns[torch.float64], c["prompt"], eos, **kw)
        res32 = beam_search(fns[torch.float32], c["prompt"], eos, dtype=torch.float32, **kw)
        assert [r["tokens"] for r in res] == [r["tokens"] for r in res32], ("near tie", c)
        cases.append(dict(c, eos=eos, early_stopping=str(c.get("early_stopping", False)).lower(),
                          results=res))
    write_json(os.path.join(HERE, "beam_search.json"),
               {"model": "models/infer_models/llama_hf", "cases": cases}, indent=1)
    for c in cases:
        print(c["prompt"], c["eos"], [(r["tokens"], round(r["score"], 4)) for r in c["results"]])


if __name__ == "__main__":
    main()
