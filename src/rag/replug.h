// REPLUG (Shi et al. 2023, "REPLUG: Retrieval-Augmented Black-Box Language Models"): each
// retrieved document d is prepended to the context x in a pass of its own, and the LM's
// next-token distributions are averaged with the weights softmax(score(d, x) / tau) over the
// documents. Per token, as for generation: p(y_t | x, y_<t) = sum_d w_d p_LM(y_t | d, x, y_<t).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/threads.h"
#include "models/model.h"

namespace loom::rag {

struct ReplugDocument {
  std::vector<int32_t> tokens;  // prepended as they are (BOS first, if the model wants one)
  double score = 0;             // the retriever's score of (d, x)
};

// softmax(scores / tau); tau > 0, at least one score.
std::vector<double> replug_weights(std::span<const double> scores, double tau);

// For each token of `continuation`, log sum_d w_d p_LM(token | d, context, earlier tokens): one
// pass per document over d + context + continuation. The sequence must fit the model's context.
std::vector<double> replug_logprobs(const models::LanguageModel& model, ThreadPool& pool,
                                    std::span<const ReplugDocument> docs, double tau,
                                    std::span<const int32_t> context,
                                    std::span<const int32_t> continuation);

}  // namespace loom::rag
