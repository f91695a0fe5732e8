// Pooling per-token hidden states into one vector per sequence: the one definition of Loom's
// poolings, used at inference (pool_rows, by src/embed) and on nn's tape (nn::pool_sequences, by
// contrastive training), so a model trained through these pools the way `loom embed` later embeds
// with it. In core so that every module that names a pooling (embed, retrieval through embed's
// config, nn, train) sees the same enum without seeing the tape.
#pragma once

#include <cstdint>
#include <string>

namespace loom {

enum class Pooling {
  Mean,          // mean over positions 0 .. len-1
  Cls,           // position 0 (BERT's [CLS])
  Last,          // position len - 1 (decoder-only models)
  WeightedMean,  // sum_t (t+1)·h_t / (len·(len+1)/2) (SGPT), t < len, for decoder-only models
};

// "mean", "cls", "last", "weighted-mean"; anything else is a loom::Error.
Pooling pooling_from_name(const std::string& name);
const char* pooling_name(Pooling p);

// The weight of position i (0 <= i < len) in a pooled sequence of len tokens: the pooled vector
// is sum_i pooling_weight(kind, i, len) · h_i.
inline float pooling_weight(Pooling kind, int64_t i, int64_t len) {
  switch (kind) {
    case Pooling::Mean:
      return 1.0f / static_cast<float>(len);
    case Pooling::Cls:
      return i == 0 ? 1.0f : 0.0f;
    case Pooling::Last:
      return i == len - 1 ? 1.0f : 0.0f;
    case Pooling::WeightedMean:
      return static_cast<float>(i + 1) *
             (2.0f / (static_cast<float>(len) * static_cast<float>(len + 1)));
  }
  return 0.0f;
}

// hidden (t, d) row-major for one sequence of t >= 1 tokens -> out (d).
void pool_rows(const float* hidden, int64_t t, int64_t d, Pooling kind, float* out);

}  // namespace loom
