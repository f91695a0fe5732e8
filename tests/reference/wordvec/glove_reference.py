#!/usr/bin/env python3
"""GloVe reference: co-occurrence counts and AdaGrad training written from Pennington et al.
(2014) and the description of Stanford's GloVe tools (cooccur: out-of-vocabulary words dropped
before windowing, a pair at distance d adds 1/d, symmetric windows add both (i, j) and (j, i);
glove: f(x) = min(1, (x / x_max)^alpha), AdaGrad with the learning rate inside the squared
gradient and sums starting at 1, biases updated the same way, cost 0.5 f diff^2 per entry).

Counts are exact fractions. Training is float64 arithmetic from Loom's float32 initial values
(the same loom::Rng stream: SplitMix64 seeding, xoshiro256**), in the order Loom trains: the
sorted entries, or the sorted entries shuffled before each epoch by Loom's Fisher-Yates.
Writes glove_golden.json beside this script; read by wordvec_tests (GloveGolden.*).

    /usr/bin/python3 tests/reference/wordvec/glove_reference.py
"""
import json
import os
from fractions import Fraction

import numpy as np

M64 = (1 << 64) - 1

CORPUS = (
    "the cat sat on the mat and the dog sat on the log\n"
    "a cat and a dog met on the mat zebra\n"
    "\n"
    "the dog saw the cat the cat saw the dog quokka the the\n"
    "on the log a cat sat and a dog sat\n"
    "mat log mat log the cat dog\n"
)
MIN_COUNT = 2


class Rng:
    """loom::Rng (src/core/rng.h): SplitMix64 seeding, xoshiro256** steps."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & M64
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next_u64(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def uniform(self):  # float32 in [0, 1), 24 bits
        return np.float32(self.next_u64() >> 40) * np.float32(1.0 / 16777216.0)

    def below(self, n):
        return (self.next_u64() * n) >> 64


def shuffle_seed(seed, epoch):
    return seed ^ ((0x5851F42D4C957F2D * (epoch + 1)) & M64)


def build_vocab(text, min_count):
    counts, first, n = {}, {}, 0
    for w in text.split():
        counts[w] = counts.get(w, 0) + 1
        first.setdefault(w, n)
        n += 1
    kept = [w for w in counts if counts[w] >= min_count]
    kept.sort(key=lambda w: (-counts[w], first[w]))
    return kept


def sentences(text, index):
    for line in text.split("\n"):
        ids = [index[w] for w in line.split() if w in index]
        if ids:
            yield ids


def cooccur(text, vocab, window, symmetric):
    index = {w: i for i, w in enumerate(vocab)}
    x = {}
    for ids in sentences(text, index):
        for p, right in enumerate(ids):
            for q in range(max(0, p - window), p):
                left, add = ids[q], Fraction(1, p - q)
                x[(left, right)] = x.get((left, right), 0) + add
                if symmetric:
                    x[(right, left)] = x.get((right, left), 0) + add
    return sorted((i, j, float(c)) for (i, j), c in x.items())


def init_params(v, dim, seed):
    rng = Rng(seed)
    vec = np.zeros((2 * v, dim), dtype=np.float32)
    bias = np.zeros(2 * v, dtype=np.float32)
    for r in range(2 * v):
        for k in range(dim):
            vec[r, k] = (rng.uniform() - np.float32(0.5)) / np.float32(dim)
        bias[r] = (rng.uniform() - np.float32(0.5)) / np.float32(dim)
    return vec.astype(np.float64), bias.astype(np.float64)


def train(pairs, v, cfg):
    vec, bias = init_params(v, cfg["dim"], cfg["seed"])
    gsq, gbias = np.ones_like(vec), np.ones_like(bias)
    order = list(pairs)
    costs = []
    for e in range(cfg["epochs"]):
        if cfg["shuffle"]:
            rng = Rng(shuffle_seed(cfg["seed"], e))
            for k in range(len(order) - 1, 0, -1):
                j = rng.below(k + 1)
                order[k], order[j] = order[j], order[k]
        cost = 0.0
        for i, j, x in order:
            a, c = i, j + v
            weight = 1.0 if x > cfg["x_max"] else (x / cfg["x_max"]) ** cfg["alpha"]
            diff = vec[a] @ vec[c] + bias[a] + bias[c] - np.log(x)
            fdiff = weight * diff
            cost += 0.5 * fdiff * diff
            step = cfg["eta"] * fdiff
            t1, t2 = step * vec[c], step * vec[a]
            vec[a] -= t1 / np.sqrt(gsq[a])
            vec[c] -= t2 / np.sqrt(gsq[c])
            gsq[a] += t1 * t1
            gsq[c] += t2 * t2
            bias[a] -= step / np.sqrt(gbias[a])
            bias[c] -= step / np.sqrt(gbias[c])
            gbias[a] += step * step
            gbias[c] += step * step
        costs.append(cost / len(order))
    return dict(cfg, cost=costs, W=vec[:v].tolist(), Wc=vec[v:].tolist(), b=bias[:v].tolist(),
                bc=bias[v:].tolist())


def main():
    vocab = build_vocab(CORPUS, MIN_COUNT)
    counts = [dict(window=w, symmetric=s, pairs=cooccur(CORPUS, vocab, w, s))
              for w, s in ((3, True), (2, False), (15, True))]
    sym3 = counts[0]["pairs"]
    base = dict(window=3, dim=5, x_max=2.0, alpha=0.75, eta=0.05, seed=7, epochs=2)
    runs = [train(sym3, len(vocab), dict(base, name="sorted", shuffle=False)),
            train(sym3, len(vocab), dict(base, name="shuffled", shuffle=True))]
    out = dict(corpus=CORPUS, min_count=MIN_COUNT, vocab=vocab, cooccur=counts, glove=runs)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "glove_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path, "vocab", len(vocab), "pairs", len(sym3),
          "costs", [r["cost"] for r in runs])


if __name__ == "__main__":
    main()
