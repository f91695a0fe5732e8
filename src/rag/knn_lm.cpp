#include "rag/knn_lm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "index/factory.h"
#include "rag/token_logprob.h"

namespace loom::rag {

namespace {

int64_t window_of(const models::LanguageModel& model, int64_t window) {
  if (window < 0) throw Error("kNN-LM: the window must be >= 0");
  return window == 0 ? model.context_length() : std::min(window, model.context_length());
}

// Calls f(start, n, session) for consecutive windows of `window` tokens, each run from an empty
// session with every row's hidden state, and every row's logits when `logits` (the datastore
// needs no head).
template <typename F>
void for_windows(const models::LanguageModel& model, ThreadPool& pool,
                 std::span<const int32_t> tokens, int64_t window, bool logits, F&& f) {
  const auto N = static_cast<int64_t>(tokens.size());
  models::Session s(model, window, window);
  for (int64_t start = 0; start + 1 < N; start += window) {
    const int64_t n = std::min(window, N - start);
    s.reset();
    if (logits)
      model.forward(s, pool, tokens.data() + start, n, /*all_logits=*/true);
    else
      model.forward_hidden(s, pool, tokens.data() + start, n);
    f(start, n, s);
  }
}

}  // namespace

KnnDatastore build_datastore(const models::LanguageModel& model, ThreadPool& pool,
                             std::span<const int32_t> tokens, int64_t window) {
  window = window_of(model, window);
  KnnDatastore ds;
  ds.dim = model.hidden_size();
  const auto N = static_cast<int64_t>(tokens.size());
  for_windows(model, pool, tokens, window, false,
              [&](int64_t start, int64_t n, models::Session& s) {
                const float* h = models::LanguageModel::hidden_states(s);
                const int64_t rows = std::min(n, N - 1 - start);  // positions with a next token
                ds.keys.insert(ds.keys.end(), h, h + rows * ds.dim);
                ds.values.insert(ds.values.end(), tokens.begin() + start + 1,
                                 tokens.begin() + start + 1 + rows);
              });
  if (ds.size() == 0) throw Error("kNN-LM: the datastore text has fewer than 2 tokens");
  return ds;
}

std::unique_ptr<index::Index> index_datastore(const KnnDatastore& ds, const std::string& kind,
                                              ThreadPool& pool) {
  auto idx = index::make_index(kind, ds.dim, index::Metric::kL2);
  std::vector<uint64_t> ids(static_cast<size_t>(ds.size()));
  std::iota(ids.begin(), ids.end(), uint64_t{0});
  idx->add(ids, ds.keys.data(), &pool);
  return idx;
}

double knn_probability(std::span<const uint64_t> ids, std::span<const float> dist2,
                       const KnnDatastore& ds, int32_t target, float temperature) {
  // exp(-d/T) relative to the nearest, so the largest weight is 1.
  double nearest = INFINITY;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != index::kNoId) nearest = std::min(nearest, static_cast<double>(dist2[i]));
  double all = 0, hit = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == index::kNoId) continue;
    const double w = std::exp(-(static_cast<double>(dist2[i]) - nearest) / temperature);
    all += w;
    if (ds.values[static_cast<size_t>(ids[i])] == target) hit += w;
  }
  return all > 0 ? hit / all : 0.0;
}

double interpolated_logprob(double lm_logprob, double p_knn, double lambda) {
  if (lambda <= 0 || p_knn <= 0) return std::log1p(-lambda) + lm_logprob;
  if (lambda >= 1) return std::log(p_knn);
  const double a = std::log(lambda) + std::log(p_knn), b = std::log1p(-lambda) + lm_logprob;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

double KnnScores::perplexity(double lambda) const {
  double nll = 0;
  for (size_t i = 0; i < lm_logprob.size(); ++i)
    nll -= interpolated_logprob(lm_logprob[i], p_knn[i], lambda);
  return std::exp(nll / static_cast<double>(std::max<size_t>(1, lm_logprob.size())));
}

KnnScores score_text(const models::LanguageModel& model, ThreadPool& pool,
                     std::span<const int32_t> tokens, int64_t window, const index::Index& index,
                     const KnnDatastore& ds, const KnnOptions& o) {
  if (o.k < 1 || !(o.temperature > 0)) throw Error("kNN-LM: k must be >= 1 and T > 0");
  window = window_of(model, window);
  const auto N = static_cast<int64_t>(tokens.size());
  const int64_t V = model.vocab_size();
  KnnScores out;
  for_windows(model, pool, tokens, window, true, [&](int64_t start, int64_t n, models::Session& s) {
    const int64_t rows = std::min(n, N - 1 - start);
    index::SearchParams params;
    params.ef = o.ef;
    params.pool = &pool;
    const auto t0 = std::chrono::steady_clock::now();
    const index::SearchResults r =
        index.search(models::LanguageModel::hidden_states(s), rows, o.k, params);
    out.search_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int64_t i = 0; i < rows; ++i) {
      const int32_t target = tokens[static_cast<size_t>(start + i + 1)];
      out.lm_logprob.push_back(token_logprob(s.logits().data() + i * V, V, target));
      const size_t at = static_cast<size_t>(i * r.k);
      out.p_knn.push_back(knn_probability({r.ids.data() + at, static_cast<size_t>(r.k)},
                                          {r.distances.data() + at, static_cast<size_t>(r.k)}, ds,
                                          target, o.temperature));
    }
  });
  return out;
}

double best_lambda(const KnnScores& valid) {
  double best = 0, best_ppl = valid.perplexity(0);
  for (int i = 1; i <= 20; ++i) {
    const double lambda = 0.05 * i;
    const double ppl = valid.perplexity(lambda);
    if (ppl < best_ppl) {
      best_ppl = ppl;
      best = lambda;
    }
  }
  return best;
}

}  // namespace loom::rag
