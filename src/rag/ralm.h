// Retrieval-augmented scoring of a text, s tokens at a time (Ram et al. 2023, "In-Context
// Retrieval-Augmented Language Models"): before each stride the last ℓ tokens of the text query
// the retriever, the top document is prepended to the text's own context, and the stride's tokens
// are scored. With k > 1 documents the stride is scored by REPLUG's ensemble instead (Shi et al.
// 2023): p(y) = Σ_d softmax(score(d, x) / τ)_d p_LM(y | d, x), one pass per document.
//
// Layout (the same with and without retrieval, so the two perplexities are comparable): stride j
// scores tokens [s j, s j + s) (token 0 never: nothing predicts it; the last stride may be
// shorter), each from the text's tokens [b, t) with b = max(0, s j + s - context): the text part
// of an input is at most `context` tokens. A document is cut (its first tokens kept) so that
// document + text fits the window. Without documents this is loom eval ppl's layout with window =
// context and stride = s, whenever context is a multiple of s.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/threads.h"
#include "models/model.h"
#include "rag/doc_retriever.h"

namespace loom::rag {

struct RalmOptions {
  int64_t window = 0;         // tokens per model input (0: the model's context length)
  int64_t context = 0;        // most tokens of the text per input (0: window / 2), > stride
  int64_t stride = 4;         // s: tokens scored per retrieval
  int64_t query_tokens = 32;  // ℓ: the query is the text's last ℓ tokens before the stride
  int64_t k = 1;              // documents per retrieval: 1 = in-context RALM, > 1 = REPLUG
  double tau = 1.0;           // REPLUG's temperature over the retrieval scores
};

struct RalmScores {
  std::vector<double> logprob;  // natural log, for tokens 1 .. n-1 in order
  int64_t strides = 0;          // retrievals asked for (one per stride)
  int64_t augmented = 0;        // strides scored with at least one document
  int64_t scored() const { return static_cast<int64_t>(logprob.size()); }
  double perplexity() const;  // exp(mean negative log-probability)
};

// Scores every token of `tokens` but the first; retriever == nullptr gives the LM alone with the
// same layout (the "without retrieval" column). Bad options are a loom::Error.
RalmScores score_with_retrieval(const models::LanguageModel& model, ThreadPool& pool,
                                std::span<const int32_t> tokens, const DocRetriever* retriever,
                                const RalmOptions& options);

}  // namespace loom::rag
