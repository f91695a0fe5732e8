#include "wordvec/glove.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "core/huge_pages.h"
#include "core/rng.h"
#include "core/threads.h"
#include "wordvec/overlay.h"
#include "wordvec/sgd.h"

namespace loom::wordvec {

namespace {

// One training entry, prepared once: log X and f(X) do not change between epochs.
struct Pair {
  int32_t row, col;  // W row and W~ row (col + V)
  float log_x, weight;
};

// All parameters of one row (a word of W, or of W~) in one block of `row_floats` floats: its
// vector w (`dim` rounded up to 16, the padding 0 so it never moves), its AdaGrad sums G (same
// length, starting at 1), then the bias and its sum in a last block of 16. A training step
// touches two blocks, one per row, which the loop prefetches a few entries ahead.
struct Layout {
  int64_t vec = 0;     // floats of w and of G
  int64_t floats = 0;  // the whole block: 2 vec + 16
  float* w(float* row) const { return row; }
  float* g(float* row) const { return row + vec; }
  float* b(float* row) const { return row + 2 * vec; }
  float* gb(float* row) const { return row + 2 * vec + 1; }
};

struct DirectRows {
  float* base;
  int64_t floats;
  float* row(int32_t r) { return base + r * floats; }
  void prefetch(int32_t r) const {
    const char* p = reinterpret_cast<const char*>(base + r * floats);
    for (int64_t off = 0; off < floats * 4; off += 64) __builtin_prefetch(p + off, 1, 3);
  }
};

class OverlayGloveRows {
 public:
  OverlayGloveRows(int64_t rows, const DirectRows& d) : rows_(rows, d.floats, d.base) {}
  float* row(int32_t r) { return rows_.get(r); }
  void prefetch(int32_t) const {}
  void to_deltas() { rows_.to_deltas(); }
  void apply() { rows_.apply(); }

 private:
  Overlay rows_;
};

// AdaGrad step on both vectors of a pair; t and t~ come from the values before the step.
inline void adagrad_step(float* __restrict w1, float* __restrict w2, float* __restrict g1,
                         float* __restrict g2, float step, int64_t n) {
  for (int64_t i = 0; i < n; i += sgd::kLanes) {
    for (int64_t k = 0; k < sgd::kLanes; ++k) {
      const float t1 = step * w2[i + k], t2 = step * w1[i + k];
      w1[i + k] -= t1 / std::sqrt(g1[i + k]);
      w2[i + k] -= t2 / std::sqrt(g2[i + k]);
      g1[i + k] += t1 * t1;
      g2[i + k] += t2 * t2;
    }
  }
}

// Trains one entry; returns its cost 0.5 f(X) diff^2 before the update.
template <class Rows>
double train_pair(Rows& rows, const Layout& l, const Pair& p, int32_t vocab, float eta) {
  float* r1 = rows.row(p.row);
  float* r2 = rows.row(p.col + vocab);
  float *b1 = l.b(r1), *b2 = l.b(r2);
  const float diff = sgd::dot(l.w(r1), l.w(r2), l.vec) + *b1 + *b2 - p.log_x;
  const float fdiff = p.weight * diff;
  const float step = eta * fdiff;
  adagrad_step(l.w(r1), l.w(r2), l.g(r1), l.g(r2), step, l.vec);
  float *gb1 = l.gb(r1), *gb2 = l.gb(r2);
  *b1 -= step / std::sqrt(*gb1);
  *b2 -= step / std::sqrt(*gb2);
  *gb1 += step * step;
  *gb2 += step * step;
  return 0.5 * static_cast<double>(fdiff) * static_cast<double>(diff);
}

// The rows of entry k + kPrefetch are requested while entry k trains: the entries are in random
// order, so every row is a cache miss otherwise (2V rows of ~1 KB do not fit any cache).
constexpr int64_t kPrefetch = 4;

template <class Rows>
double train_range(Rows& rows, const Layout& l, const Pair* p, int64_t n, int32_t vocab,
                   float eta) {
  double cost = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (k + kPrefetch < n) {
      rows.prefetch(p[k + kPrefetch].row);
      rows.prefetch(p[k + kPrefetch].col + vocab);
    }
    cost += train_pair(rows, l, p[k], vocab, eta);
  }
  return cost;
}

}  // namespace

void check_options(const GloveOptions& o) {
  auto bad = [](const std::string& what) { throw Error("glove options: " + what); };
  if (o.dim < 1 || o.dim > 100000) bad("dim must be 1..100000");
  if (!(o.x_max > 0) || !std::isfinite(o.x_max)) bad("x_max must be > 0");
  if (!(o.alpha >= 0) || !std::isfinite(o.alpha)) bad("alpha must be >= 0");
  if (!(o.eta > 0) || !std::isfinite(o.eta)) bad("eta (the learning rate) must be > 0");
  if (o.epochs < 1) bad("epochs must be >= 1");
}

uint64_t shuffle_seed(uint64_t seed, int64_t epoch) {
  return seed ^ (0x5851f42d4c957f2dull * static_cast<uint64_t>(epoch + 1));
}

struct Glove::State {
  Vocab vocab;
  GloveOptions opt;
  Layout layout;
  HugeVector<float> params;  // 2V rows of layout.floats, on huge pages: rows are read at random

  int32_t v() const { return static_cast<int32_t>(vocab.size()); }
  DirectRows direct() { return {params.data(), layout.floats}; }
  void init();
  HugeVector<Pair> prepare(const std::vector<Cooccurrence>& pairs) const;
  double epoch_hogwild(const HugeVector<Pair>& pairs, ThreadPool& pool, const ProgressFn& progress);
  double epoch_deterministic(const HugeVector<Pair>& pairs, ThreadPool& pool,
                             const ProgressFn& progress);
};

void Glove::State::init() {
  const int64_t rows = 2 * vocab.size();
  layout.vec = (opt.dim + sgd::kLanes - 1) / sgd::kLanes * sgd::kLanes;
  layout.floats = 2 * layout.vec + sgd::kLanes;
  params.assign(static_cast<size_t>(rows * layout.floats), 0.0f);
  Rng rng(opt.seed);
  const float dim = static_cast<float>(opt.dim);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = params.data() + r * layout.floats;
    for (int64_t k = 0; k < opt.dim; ++k) layout.w(row)[k] = (rng.uniform() - 0.5f) / dim;
    *layout.b(row) = (rng.uniform() - 0.5f) / dim;
    std::fill(layout.g(row), layout.g(row) + layout.vec, 1.0f);
    *layout.gb(row) = 1.0f;
  }
}

HugeVector<Pair> Glove::State::prepare(const std::vector<Cooccurrence>& pairs) const {
  HugeVector<Pair> out(pairs.size());
  for (size_t k = 0; k < pairs.size(); ++k) {
    const Cooccurrence& c = pairs[k];
    if (c.row < 0 || c.row >= v() || c.col < 0 || c.col >= v() || !(c.count > 0) ||
        !std::isfinite(c.count)) {
      throw Error("glove: co-occurrence entry " + std::to_string(k) + " (" + std::to_string(c.row) +
                  ", " + std::to_string(c.col) + ", " + std::to_string(c.count) +
                  "): expected ids below " + std::to_string(v()) + " and a count > 0");
    }
    const double w = c.count > opt.x_max ? 1.0 : std::pow(c.count / opt.x_max, opt.alpha);
    out[k] = {c.row, c.col, static_cast<float>(std::log(c.count)), static_cast<float>(w)};
  }
  return out;
}

double Glove::State::epoch_hogwild(const HugeVector<Pair>& pairs, ThreadPool& pool,
                                   const ProgressFn& progress) {
  const int64_t n = static_cast<int64_t>(pairs.size());
  const float eta = static_cast<float>(opt.eta);
  std::mutex mu;
  double cost = 0;
  std::atomic<int64_t> done{0};
  pool.parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    DirectRows rows = direct();
    double c = 0;
    constexpr int64_t kChunk = 65536;
    for (int64_t k = begin; k < end; k += kChunk) {
      const int64_t m = std::min(kChunk, end - k);
      c += train_range(rows, layout, pairs.data() + k, m, v(), eta);
      const int64_t d = done.fetch_add(m) + m;
      if (begin == 0 && progress) progress(d, n);
    }
    std::lock_guard<std::mutex> lock(mu);
    cost += c;
  });
  return cost;
}

double Glove::State::epoch_deterministic(const HugeVector<Pair>& pairs, ThreadPool& pool,
                                         const ProgressFn& progress) {
  const int64_t n = static_cast<int64_t>(pairs.size());
  const int64_t n_jobs = (n + kGloveJobPairs - 1) / kGloveJobPairs;
  const float eta = static_cast<float>(opt.eta);
  std::vector<OverlayGloveRows> overlays;
  overlays.reserve(kGloveBlock);
  for (int k = 0; k < kGloveBlock; ++k) overlays.emplace_back(2 * vocab.size(), direct());
  double cost = 0;
  for (int64_t start = 0; start < n_jobs; start += kGloveBlock) {
    const int64_t nb = std::min<int64_t>(kGloveBlock, n_jobs - start);
    double job_cost[kGloveBlock] = {};
    pool.run(nb, [&](int64_t k) {
      const int64_t b = (start + k) * kGloveJobPairs, m = std::min(kGloveJobPairs, n - b);
      job_cost[k] = train_range(overlays[k], layout, pairs.data() + b, m, v(), eta);
      overlays[k].to_deltas();
    });
    for (int64_t k = 0; k < nb; ++k) {
      overlays[k].apply();
      cost += job_cost[k];
    }
    if (progress) progress(std::min(n, (start + nb) * kGloveJobPairs), n);
  }
  return cost;
}

Glove::Glove(Vocab vocab, const GloveOptions& opt) : s_(std::make_unique<State>()) {
  check_options(opt);
  if (vocab.size() < 1) throw Error("glove: the vocabulary is empty");
  if (vocab.size() > INT32_MAX / 2) throw Error("glove: the vocabulary is over 2^30 words");
  s_->vocab = std::move(vocab);
  s_->opt = opt;
  s_->init();
}

Glove::~Glove() = default;
Glove::Glove(Glove&&) noexcept = default;

const Vocab& Glove::vocab() const { return s_->vocab; }

GloveStats Glove::train(const std::vector<Cooccurrence>& input, ThreadPool& pool,
                        const ProgressFn& progress, const EpochFn& on_epoch) {
  const auto t0 = std::chrono::steady_clock::now();
  if (input.empty()) throw Error("glove: no co-occurrence entries to train on");
  HugeVector<Pair> pairs = s_->prepare(input);
  const int64_t n = static_cast<int64_t>(pairs.size());
  GloveStats st;
  st.pairs = n;
  for (int64_t e = 0; e < s_->opt.epochs; ++e) {
    if (s_->opt.shuffle) {
      Rng rng(shuffle_seed(s_->opt.seed, e));
      for (int64_t k = n - 1; k > 0; --k) std::swap(pairs[k], pairs[rng.below(uint64_t(k + 1))]);
    }
    ProgressFn p;
    if (progress) {
      p = [&, e, n](int64_t done, int64_t) { progress(e * n + done, s_->opt.epochs * n); };
    }
    const double cost = s_->opt.deterministic ? s_->epoch_deterministic(pairs, pool, p)
                                              : s_->epoch_hogwild(pairs, pool, p);
    st.epoch_cost.push_back(cost / static_cast<double>(n));
    if (on_epoch) on_epoch(e, st.epoch_cost.back());
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

Vectors Glove::vectors() const {
  Vectors out(s_->opt.dim);
  std::vector<float> row(static_cast<size_t>(s_->opt.dim));
  for (int32_t w = 0; w < s_->v(); ++w) {
    const float* a = this->row(w, false);
    const float* c = this->row(w, true);
    for (int64_t k = 0; k < s_->opt.dim; ++k) row[k] = s_->opt.word_only ? a[k] : a[k] + c[k];
    out.add(s_->vocab.words[w], row.data());
  }
  return out;
}

const float* Glove::row(int32_t w, bool context) const {
  LOOM_ASSERT(w >= 0 && w < s_->v());
  return s_->params.data() + (w + (context ? s_->v() : 0)) * s_->layout.floats;
}

float Glove::bias(int32_t w, bool context) const {
  LOOM_ASSERT(w >= 0 && w < s_->v());
  return *s_->layout.b(s_->params.data() + (w + (context ? s_->v() : 0)) * s_->layout.floats);
}

}  // namespace loom::wordvec
