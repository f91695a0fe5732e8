#include "wordvec/glove.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "wordvec/overlay.h"
#include "wordvec/sgd.h"

namespace loom::wordvec {

namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Matrix = std::unique_ptr<float[], FreeDeleter>;

Matrix filled(int64_t rows, int64_t stride, float value) {
  const size_t n = static_cast<size_t>(std::max<int64_t>(rows, 1) * stride);
  auto* p = static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
  if (p == nullptr) throw Error("glove: out of memory for " + std::to_string(n * 4) + " bytes");
  std::fill(p, p + n, value);
  return Matrix(p);
}

// One training entry, prepared once: log X and f(X) do not change between epochs.
struct Pair {
  int32_t row, col;  // W row and W~ row (col + V)
  float log_x, weight;
};

// Parameters in four arrays of 2V rows (W then W~): vectors and their AdaGrad sums G, `stride`
// floats a row (dim rounded up to 16, the padding 0 in the vectors so it never moves), and the
// biases and theirs, one float a row.
struct DirectRows {
  float *vec, *gsq, *bias, *gbias;
  int64_t stride;
  float* v(int32_t r) { return vec + r * stride; }
  float* g(int32_t r) { return gsq + r * stride; }
  float* b(int32_t r) { return bias + r; }
  float* gb(int32_t r) { return gbias + r; }
};

class OverlayGloveRows {
 public:
  OverlayGloveRows(int64_t rows, const DirectRows& d)
      : v_(rows, d.stride, d.vec),
        g_(rows, d.stride, d.gsq),
        b_(rows, 1, d.bias),
        gb_(rows, 1, d.gbias) {}
  float* v(int32_t r) { return v_.get(r); }
  float* g(int32_t r) { return g_.get(r); }
  float* b(int32_t r) { return b_.get(r); }
  float* gb(int32_t r) { return gb_.get(r); }
  void to_deltas() {
    for (Overlay* o : {&v_, &g_, &b_, &gb_}) o->to_deltas();
  }
  void apply() {
    for (Overlay* o : {&v_, &g_, &b_, &gb_}) o->apply();
  }

 private:
  Overlay v_, g_, b_, gb_;
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
double train_pair(Rows& rows, const Pair& p, int32_t vocab, int64_t stride, float eta) {
  const int32_t a = p.row, c = p.col + vocab;
  float* w1 = rows.v(a);
  float* w2 = rows.v(c);
  float* b1 = rows.b(a);
  float* b2 = rows.b(c);
  const float diff = sgd::dot(w1, w2, stride) + *b1 + *b2 - p.log_x;
  const float fdiff = p.weight * diff;
  const float step = eta * fdiff;
  adagrad_step(w1, w2, rows.g(a), rows.g(c), step, stride);
  float* gb1 = rows.gb(a);
  float* gb2 = rows.gb(c);
  *b1 -= step / std::sqrt(*gb1);
  *b2 -= step / std::sqrt(*gb2);
  *gb1 += step * step;
  *gb2 += step * step;
  return 0.5 * static_cast<double>(fdiff) * static_cast<double>(diff);
}

template <class Rows>
double train_range(Rows& rows, const Pair* p, int64_t n, int32_t vocab, int64_t stride, float eta) {
  double cost = 0;
  for (int64_t k = 0; k < n; ++k) cost += train_pair(rows, p[k], vocab, stride, eta);
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
  int64_t stride = 0;
  Matrix vec, gsq, bias, gbias;

  int32_t v() const { return static_cast<int32_t>(vocab.size()); }
  DirectRows direct() { return {vec.get(), gsq.get(), bias.get(), gbias.get(), stride}; }
  void init();
  std::vector<Pair> prepare(const std::vector<Cooccurrence>& pairs) const;
  double epoch_hogwild(const std::vector<Pair>& pairs, ThreadPool& pool,
                       const ProgressFn& progress);
  double epoch_deterministic(const std::vector<Pair>& pairs, ThreadPool& pool,
                             const ProgressFn& progress);
};

void Glove::State::init() {
  const int64_t rows = 2 * vocab.size();
  stride = (opt.dim + sgd::kLanes - 1) / sgd::kLanes * sgd::kLanes;
  vec = filled(rows, stride, 0.0f);
  gsq = filled(rows, stride, 1.0f);
  bias = filled(rows, 1, 0.0f);
  gbias = filled(rows, 1, 1.0f);
  Rng rng(opt.seed);
  const float dim = static_cast<float>(opt.dim);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < opt.dim; ++k) vec[r * stride + k] = (rng.uniform() - 0.5f) / dim;
    bias[r] = (rng.uniform() - 0.5f) / dim;
  }
}

std::vector<Pair> Glove::State::prepare(const std::vector<Cooccurrence>& pairs) const {
  std::vector<Pair> out(pairs.size());
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

double Glove::State::epoch_hogwild(const std::vector<Pair>& pairs, ThreadPool& pool,
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
      c += train_range(rows, pairs.data() + k, m, v(), stride, eta);
      const int64_t d = done.fetch_add(m) + m;
      if (begin == 0 && progress) progress(d, n);
    }
    std::lock_guard<std::mutex> lock(mu);
    cost += c;
  });
  return cost;
}

double Glove::State::epoch_deterministic(const std::vector<Pair>& pairs, ThreadPool& pool,
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
      job_cost[k] = train_range(overlays[k], pairs.data() + b, m, v(), stride, eta);
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
  std::vector<Pair> pairs = s_->prepare(input);
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
  return s_->vec.get() + (w + (context ? s_->v() : 0)) * s_->stride;
}

float Glove::bias(int32_t w, bool context) const {
  LOOM_ASSERT(w >= 0 && w < s_->v());
  return s_->bias[w + (context ? s_->v() : 0)];
}

}  // namespace loom::wordvec
