#include "wordvec/similar.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/gemm.h"
#include "core/threads.h"

namespace loom::wordvec {

namespace {

// gensim's matutils.unitvec on f32: x * f32(1 / |x|), the norm summed in double.
void unit_in_place(float* x, int64_t d) {
  double ss = 0;
  for (int64_t k = 0; k < d; ++k) ss += double(x[k]) * x[k];
  if (ss <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(ss));
  for (int64_t k = 0; k < d; ++k) x[k] *= inv;
}

}  // namespace

NeighbourSearch::NeighbourSearch(const Vectors& v, int64_t limit) : v_(v) {
  limit_ = (limit <= 0 || limit > v.size()) ? v.size() : limit;
  norms_.resize(static_cast<size_t>(v.size()));
  for (int64_t i = 0; i < v.size(); ++i) {
    double ss = 0;
    for (int64_t k = 0; k < v.dim(); ++k) ss += double(v.row(i)[k]) * v.row(i)[k];
    norms_[static_cast<size_t>(i)] = static_cast<float>(std::sqrt(ss));
  }
}

std::vector<float> NeighbourSearch::query(
    const std::vector<std::pair<int64_t, float>>& terms) const {
  const int64_t d = v_.dim();
  std::vector<float> q(static_cast<size_t>(d), 0.0f);
  for (const auto& [row, weight] : terms) {
    const float n = norm(row);
    for (int64_t k = 0; k < d; ++k) q[k] += weight * (v_.row(row)[k] / n);
  }
  const float count = static_cast<float>(terms.size());
  for (auto& x : q) x /= count;
  unit_in_place(q.data(), d);
  return q;
}

std::vector<std::vector<Neighbour>> NeighbourSearch::search(
    const float* queries, int64_t n, int64_t topn, const std::vector<std::vector<int64_t>>& exclude,
    ThreadPool& pool) const {
  const int64_t d = v_.dim(), kBatch = 64;
  std::vector<std::vector<Neighbour>> out(static_cast<size_t>(n));
  std::vector<float> scores(static_cast<size_t>(kBatch * limit_));
  for (int64_t b = 0; b < n; b += kBatch) {
    const int64_t m = std::min(kBatch, n - b);
    if (limit_ > 0) {
      sgemm(pool, false, true, m, limit_, d, 1.0f, queries + b * d, d, v_.row(0), d, 0.0f,
            scores.data(), limit_);
    }
    pool.parallel_for(m, 1, [&](int64_t lo, int64_t hi) {
      std::vector<int64_t> order;
      for (int64_t i = lo; i < hi; ++i) {
        float* s = scores.data() + i * limit_;
        for (int64_t r = 0; r < limit_; ++r) s[r] /= norms_[static_cast<size_t>(r)];
        const auto& ex = exclude.empty() ? std::vector<int64_t>{} : exclude[size_t(b + i)];
        for (int64_t r : ex)
          if (r >= 0 && r < limit_) s[r] = -INFINITY;
        order.resize(static_cast<size_t>(limit_));
        for (int64_t r = 0; r < limit_; ++r) order[size_t(r)] = r;
        const int64_t k = std::min<int64_t>(topn, limit_ - static_cast<int64_t>(ex.size()));
        if (k <= 0) continue;
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [&](int64_t x, int64_t y) { return s[x] > s[y] || (s[x] == s[y] && x < y); });
        auto& res = out[static_cast<size_t>(b + i)];
        for (int64_t j = 0; j < k; ++j) res.push_back({order[size_t(j)], s[order[size_t(j)]]});
      }
    });
  }
  return out;
}

double NeighbourSearch::similarity(int64_t a, int64_t b) const {
  const int64_t d = v_.dim();
  std::vector<float> x(v_.row(a), v_.row(a) + d), y(v_.row(b), v_.row(b) + d);
  unit_in_place(x.data(), d);
  unit_in_place(y.data(), d);
  double s = 0;
  for (int64_t k = 0; k < d; ++k) s += double(x[k]) * y[k];
  return static_cast<float>(s);
}

SimilarQuery similar_query(const Vectors& v, const NeighbourSearch& search,
                           const std::vector<std::string>& positive,
                           const std::vector<std::string>& negative) {
  std::vector<std::pair<int64_t, float>> terms;
  SimilarQuery q;
  auto add = [&](const std::string& w, float weight) {
    const int64_t row = v.find(w);
    if (row < 0 || row >= search.limit()) {
      throw Error("word '" + w + "' is not in the vocabulary (" + std::to_string(search.limit()) +
                  " words searched)");
    }
    terms.emplace_back(row, weight);
    q.exclude.push_back(row);
  };
  for (const auto& w : positive) add(w, 1.0f);
  for (const auto& w : negative) add(w, -1.0f);
  if (terms.empty()) throw Error("most_similar: no query word");
  q.unit = search.query(terms);
  return q;
}

std::vector<std::pair<std::string, float>> most_similar(const Vectors& v,
                                                        const std::vector<std::string>& positive,
                                                        const std::vector<std::string>& negative,
                                                        int64_t topn, int64_t restrict_vocab,
                                                        ThreadPool& pool) {
  NeighbourSearch search(v, restrict_vocab);
  const SimilarQuery q = similar_query(v, search, positive, negative);
  auto found = search.search(q.unit.data(), 1, topn, {q.exclude}, pool);
  std::vector<std::pair<std::string, float>> out;
  for (const auto& n : found[0]) out.emplace_back(v.word(n.row), n.score);
  return out;
}

}  // namespace loom::wordvec
