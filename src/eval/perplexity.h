// Perplexity of a causal LM over a token sequence with sliding windows.
//
// Convention (Hugging Face's "perplexity of fixed-length models"): windows of at most `window`
// tokens start at 0, stride, 2*stride, ...; each is run from an empty cache, and only the tokens
// not scored by an earlier window are scored (with stride == window the windows are disjoint;
// smaller strides give every scored token more context). Token 0 is never scored (nothing
// predicts it). PPL = exp(sum of -log p(token) / number of scored tokens).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "core/threads.h"
#include "models/model.h"

namespace loom::eval {

struct PerplexityOptions {
  int64_t window = 0;  // 0: the model's context length
  int64_t stride = 0;  // 0: equal to the window
};

struct PerplexityResult {
  double nll_sum = 0;  // natural log
  int64_t scored = 0;  // tokens scored
  int64_t windows = 0;
  double perplexity() const;
  double mean_nll() const { return scored ? nll_sum / static_cast<double>(scored) : 0; }
};

// progress(tokens scored so far, total to score) after each window.
PerplexityResult perplexity(const models::LanguageModel& model, ThreadPool& pool,
                            std::span<const int32_t> ids, const PerplexityOptions& options,
                            const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace loom::eval
