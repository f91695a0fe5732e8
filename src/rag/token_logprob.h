// log softmax(logits)[target] for one row of V logits, in double (kNN-LM and REPLUG score the
// LM's own probability of each token this way).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace loom::rag {

inline double token_logprob(const float* logits, int64_t V, int32_t target) {
  const double mx = *std::max_element(logits, logits + V);
  double z = 0;
  for (int64_t i = 0; i < V; ++i) z += std::exp(static_cast<double>(logits[i]) - mx);
  return static_cast<double>(logits[target]) - mx - std::log(z);
}

}  // namespace loom::rag
