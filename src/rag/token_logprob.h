// log softmax(logits)[target] for one row of V logits, in double (kNN-LM and REPLUG score the
// LM's own probability of each token this way).
#pragma once

#include <cstdint>

#include "core/kernels.h"

namespace loom::rag {

inline double token_logprob(const float* logits, int64_t V, int32_t target) {
  return static_cast<double>(logits[target]) - log_sum_exp(logits, V);
}

}  // namespace loom::rag
