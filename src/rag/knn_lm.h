// kNN-LM (Khandelwal et al. 2020, "Generalization through Memorization"): a datastore of
// (context representation -> next token) pairs built from a corpus with the LM itself; at test
// time the k keys nearest to the query's representation vote for the tokens that followed them,
// weighted by exp(-d / T) with d the squared L2 distance, and that distribution is interpolated
// with the LM's: p(y) = λ p_kNN(y) + (1 - λ) p_LM(y).
//
// The representation is the model's final hidden state (after the final norm: what its head
// reads). The datastore is searched through a loom::index (exact flat or HNSW).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/threads.h"
#include "index/index.h"
#include "models/model.h"

namespace loom::rag {

struct KnnDatastore {
  int64_t dim = 0;
  std::vector<float> keys;      // (size, dim)
  std::vector<int32_t> values;  // (size): the token that followed each key's context
  int64_t size() const { return static_cast<int64_t>(values.size()); }
};

// Runs the model over `tokens` in consecutive windows of `window` tokens, each from an empty
// cache (0 = the model's context), keeping (hidden state at t, tokens[t + 1]) for every t that
// has a next token. Token t's context is the tokens of its window up to t.
KnnDatastore build_datastore(const models::LanguageModel& model, ThreadPool& pool,
                             std::span<const int32_t> tokens, int64_t window);

// An index over the datastore's keys (squared L2): "flat" (exact) or "hnsw".
std::unique_ptr<index::Index> index_datastore(const KnnDatastore& ds, const std::string& kind,
                                              ThreadPool& pool);

struct KnnOptions {
  int64_t k = 64;
  float temperature = 1.0f;  // distances are divided by it
  int64_t ef = 0;            // HNSW beam width (0: the index's default)
};

// p_kNN(target) from the neighbours (datastore ids, squared distances) of one query:
// Σ_{v_i = target} exp(-d_i / T) / Σ_i exp(-d_i / T); ids equal to kNoId are skipped.
double knn_probability(std::span<const uint64_t> ids, std::span<const float> dist2,
                       const KnnDatastore& ds, int32_t target, float temperature);

// log(λ p_knn + (1 - λ) exp(lm_logprob)), computed without underflow.
double interpolated_logprob(double lm_logprob, double p_knn, double lambda);

// Every token of a text but the first, predicted from the position before it in windows laid out
// as build_datastore's (`loom eval ppl`'s convention with stride = window), with its LM
// log-probability and its kNN probability.
struct KnnScores {
  std::vector<double> lm_logprob, p_knn;
  double search_seconds = 0;  // time spent in the index
  double perplexity(double lambda) const;
};
KnnScores score_text(const models::LanguageModel& model, ThreadPool& pool,
                     std::span<const int32_t> tokens, int64_t window, const index::Index& index,
                     const KnnDatastore& ds, const KnnOptions& options);

// The λ in {0, 0.05, ..., 1} with the lowest perplexity on `valid` (ties: the smaller λ).
double best_lambda(const KnnScores& valid);

}  // namespace loom::rag
