// The word2vec inner loops, written once over a row-access policy: Hogwild training hands out
// pointers into the shared matrices, deterministic training into a job's copy-on-write overlay.
// Rows are `stride` floats (dim rounded up to 16, zero padded) so every loop below is whole
// 16-float blocks that the compiler turns into SIMD code.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "wordvec/huffman.h"

namespace loom::wordvec::sgd {

inline constexpr int64_t kLanes = 16;

inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[kLanes] = {};
  for (int64_t i = 0; i < n; i += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) acc[k] += a[i + k] * b[i + k];
  float s = 0;
  for (int64_t k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

// y += g * x
inline void axpy(float g, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) y[i + k] += g * x[i + k];
}

inline void zero(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 0;
}

// sigmoid(x) on [-kMaxExp, kMaxExp] from a table, 0 or 1 outside (word2vec.c's EXP_TABLE).
class Sigmoid {
 public:
  static constexpr int kSize = 1024;
  static constexpr float kMaxExp = 6.0f;
  Sigmoid() {
    for (int i = 0; i <= kSize; ++i) {
      double x = (2.0 * i / kSize - 1.0) * kMaxExp;
      table_[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    }
  }
  float operator()(float x) const {
    if (x >= kMaxExp) return 1.0f;
    if (!(x > -kMaxExp)) return 0.0f;  // also NaN: never index the table with it
    return table_[static_cast<int>((x + kMaxExp) * (kSize / kMaxExp / 2))];
  }

 private:
  float table_[kSize + 1];
};

// Everything the loops read but never write.
struct Context {
  int64_t stride = 0;
  int64_t window = 5;
  int64_t negative = 5;
  bool hs = false;
  bool skip_gram = true;
  bool cbow_mean = true;
  const uint64_t* keep = nullptr;  // subsampling: keep word w when a 32-bit draw < keep[w]
  const AliasTable* noise = nullptr;
  const HuffmanTree* tree = nullptr;
  const Sigmoid* sigmoid = nullptr;
};

struct Scratch {
  std::vector<int32_t> words;  // the sentence after subsampling
  std::vector<float> neu1, neu1e;
  void resize(int64_t stride) {
    neu1.assign(static_cast<size_t>(stride), 0.0f);
    neu1e.assign(static_cast<size_t>(stride), 0.0f);
  }
};

// Output side of one (input row l1, target word) example; the error for l1 accumulates in neu1e.
template <class Rows>
inline void train_target(const Context& c, Rows& rows, const float* l1, float* neu1e,
                         int32_t target, float alpha, Rng& rng) {
  const int64_t n = c.stride;
  if (c.hs) {
    const int64_t b = c.tree->offsets[target], e = c.tree->offsets[target + 1];
    for (int64_t k = b; k < e; ++k) {
      float* l2 = rows.hs(c.tree->points[k]);
      float f = dot(l1, l2, n);
      if (f <= -Sigmoid::kMaxExp || f >= Sigmoid::kMaxExp) continue;
      float g = (1.0f - float(c.tree->codes[k]) - (*c.sigmoid)(f)) * alpha;
      axpy(g, l2, neu1e, n);
      axpy(g, l1, l2, n);
    }
  }
  for (int64_t k = 0; k <= c.negative && c.negative > 0; ++k) {
    int32_t t = target;
    float label = 1.0f;
    if (k > 0) {
      t = c.noise->draw(rng);
      if (t == target) continue;
      label = 0.0f;
    }
    float* l2 = rows.neg(t);
    float g = (label - (*c.sigmoid)(dot(l1, l2, n))) * alpha;
    axpy(g, l2, neu1e, n);
    axpy(g, l1, l2, n);
  }
}

// Drops words by subsampling into s.words.
inline void subsample(const Context& c, const int32_t* ids, int64_t n, Rng& rng, Scratch& s) {
  s.words.clear();
  for (int64_t i = 0; i < n; ++i) {
    uint64_t r = rng.next_u64() >> 32;
    if (r < c.keep[ids[i]]) s.words.push_back(ids[i]);
  }
}

template <class Rows>
void train_skip_gram(const Context& c, Rows& rows, float alpha, Rng& rng, Scratch& s) {
  const int64_t n = static_cast<int64_t>(s.words.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = c.window - static_cast<int64_t>(rng.below(uint64_t(c.window)));
    const int64_t lo = i - r < 0 ? 0 : i - r, hi = i + r >= n ? n - 1 : i + r;
    for (int64_t j = lo; j <= hi; ++j) {
      if (j == i) continue;
      float* l1 = rows.in(s.words[j]);
      zero(s.neu1e.data(), c.stride);
      train_target(c, rows, l1, s.neu1e.data(), s.words[i], alpha, rng);
      axpy(1.0f, s.neu1e.data(), l1, c.stride);
    }
  }
}

template <class Rows>
void train_cbow(const Context& c, Rows& rows, float alpha, Rng& rng, Scratch& s) {
  const int64_t n = static_cast<int64_t>(s.words.size());
  float* neu1 = s.neu1.data();
  float* neu1e = s.neu1e.data();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = c.window - static_cast<int64_t>(rng.below(uint64_t(c.window)));
    const int64_t lo = i - r < 0 ? 0 : i - r, hi = i + r >= n ? n - 1 : i + r;
    zero(neu1, c.stride);
    int64_t count = 0;
    for (int64_t j = lo; j <= hi; ++j) {
      if (j == i) continue;
      axpy(1.0f, rows.in(s.words[j]), neu1, c.stride);
      ++count;
    }
    if (count == 0) continue;
    const float inv = 1.0f / float(count);
    if (c.cbow_mean)
      for (int64_t k = 0; k < c.stride; ++k) neu1[k] *= inv;
    zero(neu1e, c.stride);
    train_target(c, rows, neu1, neu1e, s.words[i], alpha, rng);
    if (!c.cbow_mean)
      for (int64_t k = 0; k < c.stride; ++k) neu1e[k] *= inv;
    for (int64_t j = lo; j <= hi; ++j)
      if (j != i) axpy(1.0f, neu1e, rows.in(s.words[j]), c.stride);
  }
}

// One sentence: subsample, then train with the chosen architecture.
template <class Rows>
void train_sentence(const Context& c, Rows& rows, const int32_t* ids, int64_t n, float alpha,
                    Rng& rng, Scratch& s) {
  subsample(c, ids, n, rng, s);
  if (c.skip_gram) {
    train_skip_gram(c, rows, alpha, rng, s);
  } else {
    train_cbow(c, rows, alpha, rng, s);
  }
}

}  // namespace loom::wordvec::sgd
