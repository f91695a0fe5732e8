#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/kernels.h"

namespace loom::eval {

double PerplexityResult::perplexity() const { return std::exp(mean_nll()); }

PerplexityResult perplexity(const models::LanguageModel& model, ThreadPool& pool,
                            std::span<const int32_t> ids, const PerplexityOptions& options,
                            const std::function<void(int64_t, int64_t)>& progress) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t window = options.window > 0 ? options.window : model.context_length();
  const int64_t stride = options.stride > 0 ? options.stride : window;
  if (window > model.context_length()) {
    throw Error("perplexity window " + std::to_string(window) + " exceeds the model's context of " +
                std::to_string(model.context_length()));
  }
  if (stride > window)
    throw Error("perplexity stride " + std::to_string(stride) + " exceeds the window");
  if (n < 2) throw Error("perplexity needs at least 2 tokens, got " + std::to_string(n));
  const int64_t V = model.vocab_size();
  PerplexityResult r;
  models::Session session(model, window, window);
  int64_t scored_until = 1;  // tokens [0, scored_until) need no score
  for (int64_t begin = 0; scored_until < n; begin += stride) {
    const int64_t end = std::min(n, begin + window);
    session.reset();
    model.forward(session, pool, ids.data() + begin, end - begin, true);
    const auto& logits = session.logits();
    for (int64_t t = std::max(scored_until, begin + 1); t < end; ++t) {
      // Row t - 1 - begin predicts token t.
      const float* row = logits.data() + (t - 1 - begin) * V;
      r.nll_sum += log_sum_exp(row, V) - row[ids[static_cast<size_t>(t)]];
      ++r.scored;
    }
    scored_until = end;
    ++r.windows;
    if (progress) progress(r.scored, n - 1);
  }
  return r;
}

}  // namespace loom::eval
