#!/usr/bin/env python3
"""Golden for tests/train/objectives_test.cpp (`Objectives.*Golden`): the pre-training
objectives' data transforms, written here after Hugging Face's code (no transformers on Debian):

- mlm: DataCollatorForLanguageModeling.torch_mask_tokens. probability_matrix = p, 0 at special
  tokens; masked = bernoulli(probability_matrix); labels = -100 where not masked; of the masked,
  bernoulli(0.8) -> [MASK], then bernoulli(0.5) of the rest -> a random id in [0, vocab), the
  remaining 10 % unchanged.
- wwm: DataCollatorForWholeWordMask._whole_word_mask over the tokens as strings ("[CLS]"/"[SEP]"
  skipped, a "##" piece joins the last word), random.shuffle of the words, num_to_predict =
  min(512, max(1, int(round(len(tokens) * p)))), words taken whole while within it; then the same
  80/10/10 rule with the chosen positions as masked_indices.
- t5: run_t5_mlm_flax's random_spans_noise_mask (_random_segmentation with np.random.shuffle),
  create_sentinel_ids (len(tokenizer) - k for the k-th span, k from 1) and filter_input_ids (eos
  appended), for inputs (noise spans -> one sentinel) and labels (kept spans -> one sentinel).

Every random choice goes through a Recorder in the order tests/train/objectives_test.cpp's
replay expects (stated in src/train/objectives.h): torch.bernoulli(P) is "uniform < P" per
element, a tensor's draws taken in order; random.shuffle / np.random.shuffle are Fisher-Yates
from the back with j = below(i + 1), which is what CPython and numpy's legacy shuffle do; a
random replacement id is one below(vocab) per replaced position, left to right. The uniforms
are float64 from numpy's PCG64, so the comparisons are exact in C++ as well.

  /usr/bin/python3 tests/reference/train/objectives_golden.py
Writes tests/reference/train/objectives.json.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common.golden_io import write_json  # noqa: E402

IGNORE = -100


class Recorder:
    """Draws from numpy and records them: uniforms as floats, integers as [n, value]."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)
        self.uniforms, self.ints = [], []

    def uniform(self):
        u = float(self.g.random())
        self.uniforms.append(u)
        return u

    def below(self, n):
        v = int(self.g.integers(n))
        self.ints.append([int(n), v])
        return v

    def bernoulli(self, probs):
        u = np.array([self.uniform() for _ in range(len(probs))])
        return u < probs

    def shuffle(self, x):
        for i in reversed(range(1, len(x))):
            j = self.below(i + 1)
            x[i], x[j] = x[j], x[i]


def mask_tokens(ids, masked, vocab, mask_id, d):
    inputs, labels = ids.copy(), ids.copy()
    labels[~masked] = IGNORE
    replaced = d.bernoulli(np.full(len(ids), 0.8)) & masked
    inputs[replaced] = mask_id
    rand = d.bernoulli(np.full(len(ids), 0.5)) & masked & ~replaced
    for i in np.nonzero(rand)[0]:
        inputs[i] = d.below(vocab)
    return inputs, labels


def mlm(ids, special, vocab, mask_id, p, d):
    ids = np.array(ids, dtype=np.int64)
    prob = np.full(len(ids), p)
    prob[np.isin(ids, special)] = 0.0
    masked = d.bernoulli(prob)
    return mask_tokens(ids, masked, vocab, mask_id, d)


def whole_word_mask(tokens, p, d, max_predictions=512):
    cand = []
    for i, tok in enumerate(tokens):
        if tok in ("[CLS]", "[SEP]"):
            continue
        if len(cand) >= 1 and tok.startswith("##"):
            cand[-1].append(i)
        else:
            cand.append([i])
    d.shuffle(cand)
    num_to_predict = min(max_predictions, max(1, int(round(len(tokens) * p))))
    chosen = []
    for word in cand:
        if len(chosen) >= num_to_predict:
            break
        if len(chosen) + len(word) > num_to_predict:
            continue
        chosen.extend(word)
    return [1 if i in chosen else 0 for i in range(len(tokens))]


def random_segmentation(num_items, num_segments, d):
    mask_indices = np.arange(num_items - 1) < (num_segments - 1)
    mask_indices = list(mask_indices)
    d.shuffle(mask_indices)
    first_in_segment = np.pad(np.array(mask_indices, dtype=bool), [[1, 0]])
    segment_id = np.cumsum(first_in_segment)
    _, segment_length = np.unique(segment_id, return_counts=True)
    return segment_length


def random_spans_noise_mask(length, noise_density, mean_noise_span_length, d):
    orig_length = length
    num_noise_tokens = int(np.round(length * noise_density))
    num_nonnoise_tokens = length - num_noise_tokens
    num_noise_tokens = min(max(num_noise_tokens, 1), length - 1)
    num_noise_spans = int(np.round(min(num_noise_tokens, num_nonnoise_tokens) / mean_noise_span_length))
    num_noise_spans = max(num_noise_spans, 1)
    num_nonnoise_tokens = length - num_noise_tokens
    noise_span_lengths = random_segmentation(num_noise_tokens, num_noise_spans, d)
    nonnoise_span_lengths = random_segmentation(num_nonnoise_tokens, num_noise_spans, d)
    interleaved = np.reshape(np.stack([nonnoise_span_lengths, noise_span_lengths], axis=1),
                             [num_noise_spans * 2])
    span_starts = np.cumsum(interleaved)[:-1]
    span_start_indicator = np.zeros((length,), dtype=np.int8)
    span_start_indicator[span_starts] = True
    span_num = np.cumsum(span_start_indicator)
    is_noise = np.equal(span_num % 2, 1)
    return is_noise[:orig_length]


def create_sentinel_ids(mask_indices, vocab):
    start_indices = mask_indices - np.roll(mask_indices, 1, axis=-1) * mask_indices
    start_indices[0] = mask_indices[0]
    sentinel_ids = np.where(start_indices != 0, np.cumsum(start_indices, axis=-1), start_indices)
    sentinel_ids = np.where(sentinel_ids != 0, (vocab - sentinel_ids), 0)
    sentinel_ids -= mask_indices - start_indices
    return sentinel_ids


def filter_input_ids(input_ids, sentinel_ids, eos):
    full = np.where(sentinel_ids != 0, sentinel_ids, input_ids)
    return np.concatenate([full[full >= 0], [eos]])


def t5(ids, vocab, eos, density, mean_span, d):
    ids = np.array(ids, dtype=np.int64)
    noise = random_spans_noise_mask(len(ids), density, mean_span, d)
    inputs = filter_input_ids(ids, create_sentinel_ids(noise.astype(np.int8), vocab), eos)
    labels = filter_input_ids(ids, create_sentinel_ids((~noise).astype(np.int8), vocab), eos)
    return noise, inputs, labels


def ints(a):
    return [int(x) for x in a]


def mlm_case(seed, n, p, vocab=100, mask_id=4, special=(1, 2, 0)):
    g = np.random.default_rng(1000 + seed)
    ids = [1] + ints(g.integers(5, vocab, n - 3)) + [2, 0]  # [CLS] ... [SEP] [PAD]
    d = Recorder(seed)
    inputs, labels = mlm(ids, list(special), vocab, mask_id, p, d)
    return dict(ids=ids, special_ids=list(special), vocab_size=vocab, mask_id=mask_id,
                probability=p, uniforms=d.uniforms, ints=d.ints, input_ids=ints(inputs),
                labels=ints(labels))


def wwm_case(seed, n_words, p, vocab=100, mask_id=4):
    g = np.random.default_rng(2000 + seed)
    tokens, ids = ["[CLS]"], [1]
    for w in range(n_words):
        if w == n_words // 2:
            tokens.append("[SEP]")
            ids.append(2)
        for piece in range(int(g.integers(1, 4))):
            tid = int(g.integers(5, vocab))
            tokens.append(("##" if piece else "") + f"t{tid}")
            ids.append(tid)
    tokens.append("[SEP]")
    ids.append(2)
    d = Recorder(seed)
    chosen = np.array(whole_word_mask(tokens, p, d), dtype=bool)
    special = np.isin(np.array(ids), [1, 2])
    inputs, labels = mask_tokens(np.array(ids, dtype=np.int64), chosen & ~special, vocab,
                                 mask_id, d)
    return dict(ids=ids, word_start=[0 if t.startswith("##") else 1 for t in tokens],
                special_ids=[1, 2], vocab_size=vocab, mask_id=mask_id, probability=p,
                uniforms=d.uniforms, ints=d.ints, input_ids=ints(inputs), labels=ints(labels))


def t5_case(seed, n, density=0.15, mean_span=3.0, vocab=120, eos=1):
    g = np.random.default_rng(3000 + seed)
    ids = ints(g.integers(2, vocab - 20, n))
    d = Recorder(seed)
    noise, inputs, labels = t5(ids, vocab, eos, density, mean_span, d)
    return dict(ids=ids, vocab_size=vocab, eos_id=eos, noise_density=density,
                mean_span_length=mean_span, uniforms=d.uniforms, ints=d.ints,
                noise=ints(noise), input_ids=ints(inputs), labels=ints(labels))


def main():
    out = dict(
        mlm=[mlm_case(1, 40, 0.15), mlm_case(2, 64, 0.15), mlm_case(3, 30, 0.4)],
        wwm=[wwm_case(4, 20, 0.15), wwm_case(5, 40, 0.15), wwm_case(6, 12, 0.3)],
        t5=[t5_case(7, 20), t5_case(8, 57), t5_case(9, 128), t5_case(10, 2),
            t5_case(11, 40, density=0.3, mean_span=2.0)],
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "objectives.json")
    write_json(path, out)
    print("wrote", path)


if __name__ == "__main__":
    main()
