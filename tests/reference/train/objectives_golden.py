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
- bart: fairseq's DenoisingDataset with BART's settings (replace_length 1, Poisson(3) spans,
  mask 0.3, random 0.1): add_whole_word_mask (text infilling, zero-length spans as
  add_insertion_noise) and permute_sentences, written after it with numpy. torch.randperm(n) is
  a Fisher-Yates permutation of range(n) here, and the truncated Poisson's Categorical is
  sampled by the inverse CDF of its double-precision probabilities (fairseq casts them to
  float32; the rule, not torch's sampler, is what is compared).

Every random choice goes through a Recorder in the order tests/train/objectives_test.cpp's
replay expects (stated in src/train/objectives.h): torch.bernoulli(P) is "uniform < P" per
element, a tensor's draws taken in order; random.shuffle / np.random.shuffle are Fisher-Yates
from the back with j = below(i + 1), which is what CPython and numpy's legacy shuffle do; a
random replacement id is one below(vocab) per replaced position, left to right. The uniforms
are float64 from numpy's PCG64, so the comparisons are exact in C++ as well.

  /usr/bin/python3 tests/reference/train/objectives_golden.py
Writes tests/reference/train/objectives.json.
"""
import math
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

    def randperm(self, n):
        x = list(range(n))
        self.shuffle(x)
        return np.array(x, dtype=np.int64)

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


def poisson_cdf(lam):
    ps, lk, kf, e = [], 1.0, 1.0, math.exp(-lam)
    for k in range(0, 128):
        ps.append(e * lk / kf)
        lk *= lam
        kf *= k + 1
        if ps[-1] < 0.0000001:
            break
    total, run, cdf = sum(ps), 0.0, []
    for p in ps:
        run += p
        cdf.append(run / total)
    return cdf


def poisson_sample(cdf, count, d):
    out = []
    for _ in range(count):
        u = d.uniform()
        k = 0
        while k + 1 < len(cdf) and not u < cdf[k]:
            k += 1
        out.append(k)
    return np.array(out, dtype=np.int64)


class Bart:
    """DenoisingDataset's noising functions with replace_length = 1."""

    def __init__(self, vocab, mask_idx, d, random_ratio=0.1, lam=3.0):
        self.vocab, self.mask_idx, self.d, self.random_ratio = vocab, mask_idx, d, random_ratio
        self.cdf = poisson_cdf(lam)

    def randint(self, count):
        return np.array([1 + self.d.below(self.vocab - 1) for _ in range(count)], dtype=np.int64)

    def add_whole_word_mask(self, source, word_start, p):
        is_word_start = np.array(word_start, dtype=np.int64)
        is_word_start[0] = 0
        is_word_start[-1] = 0
        num_to_mask = int(math.ceil(is_word_start.sum() * p))
        num_inserts = 0
        if num_to_mask == 0:
            return source
        lengths = poisson_sample(self.cdf, num_to_mask, self.d)
        cum_length = np.cumsum(lengths, 0)
        while cum_length[-1] < num_to_mask:
            lengths = np.concatenate([lengths, poisson_sample(self.cdf, num_to_mask, self.d)])
            cum_length = np.cumsum(lengths, 0)
        i = 0
        while cum_length[i] < num_to_mask:
            i += 1
        lengths[i] = num_to_mask - (0 if i == 0 else cum_length[i - 1])
        num_to_mask = i + 1
        lengths = lengths[:num_to_mask]
        lengths = lengths[lengths > 0]
        num_inserts = num_to_mask - lengths.shape[0]
        num_to_mask -= num_inserts
        if num_to_mask == 0:
            return self.add_insertion_noise(source, num_inserts / source.shape[0])
        word_starts = np.nonzero(is_word_start)[0]
        indices = word_starts[self.d.randperm(word_starts.shape[0])[:num_to_mask]]
        mask_random = np.array([self.d.uniform() for _ in range(num_to_mask)]) < self.random_ratio
        source_length = source.shape[0]
        to_keep = np.ones(source_length, dtype=bool)
        is_word_start[-1] = 255
        source = source.copy()
        source[indices] = self.mask_idx
        source[indices[mask_random]] = self.randint(int(mask_random.sum()))
        lengths -= 1
        while indices.shape[0] > 0:
            lengths -= is_word_start[indices + 1]
            uncompleted = lengths >= 0
            indices = indices[uncompleted] + 1
            mask_random = mask_random[uncompleted]
            lengths = lengths[uncompleted]
            to_keep[indices] = 0
        source = source[to_keep]
        if num_inserts > 0:
            source = self.add_insertion_noise(source, num_inserts / source.shape[0])
        return source

    def add_insertion_noise(self, tokens, p):
        if p == 0.0:
            return tokens
        num_tokens = len(tokens)
        n = int(math.ceil(num_tokens * p))
        noise_indices = self.d.randperm(num_tokens + n - 2)[:n] + 1
        noise_mask = np.zeros(num_tokens + n, dtype=bool)
        noise_mask[noise_indices] = 1
        result = np.full(n + len(tokens), -1, dtype=np.int64)
        num_random = int(math.ceil(n * self.random_ratio))
        result[noise_indices[num_random:]] = self.mask_idx
        result[noise_indices[:num_random]] = self.randint(num_random)
        result[~noise_mask] = tokens
        assert (result >= 0).all()
        return result

    def permute_sentences(self, source, full_stop_index, p=1.0):
        full_stops = source == full_stop_index
        full_stops[-2] = 1
        sentence_ends = np.nonzero(full_stops[1:] * ~full_stops[:-1])[0] + 2
        result = source.copy()
        num_sentences = sentence_ends.shape[0]
        num_to_permute = math.ceil((num_sentences * 2 * p) / 2.0)
        substitutions = self.d.randperm(num_sentences)[:num_to_permute]
        ordering = np.arange(0, num_sentences)
        ordering[substitutions] = substitutions[self.d.randperm(num_to_permute)]
        index = 1
        for i in ordering:
            sentence = source[(sentence_ends[i - 1] if i > 0 else 1):sentence_ends[i]]
            result[index:index + sentence.shape[0]] = sentence
            index += sentence.shape[0]
        return result


def bart_case(seed, n_words, vocab=60, mask_id=3, full_stop=4, mask_ratio=0.3, lam=3.0):
    g = np.random.default_rng(4000 + seed)
    ids, starts = [0], [0]  # <s>
    for w in range(n_words):
        for piece in range(int(g.integers(1, 3))):
            ids.append(int(g.integers(5, vocab)))
            starts.append(0 if piece else 1)
        if g.random() < 0.2:
            ids.append(full_stop)
            starts.append(1)
    ids.append(2)  # </s>
    starts.append(0)
    d = Recorder(seed)
    bart = Bart(vocab, mask_id, d, lam=lam)
    src = np.array(ids, dtype=np.int64)
    permuted = bart.permute_sentences(src, full_stop)
    n_perm_u, n_perm_i = len(d.uniforms), len(d.ints)
    infilled = bart.add_whole_word_mask(src, starts, mask_ratio)
    return dict(ids=ids, word_start=starts, vocab_size=vocab, mask_id=mask_id,
                full_stop_id=full_stop, mask_ratio=mask_ratio, poisson_lambda=lam,
                permute_draws=[n_perm_u, n_perm_i], uniforms=d.uniforms, ints=d.ints,
                permuted=ints(permuted), infilled=ints(infilled))


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
        bart=[bart_case(12, 20), bart_case(13, 60), bart_case(14, 8), bart_case(15, 6, lam=0.3),
              bart_case(16, 30, lam=1.0)],
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "objectives.json")
    write_json(path, out)
    print("wrote", path)


if __name__ == "__main__":
    main()
