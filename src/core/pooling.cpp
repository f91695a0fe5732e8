#include "core/pooling.h"

#include <cstring>

#include "core/error.h"

namespace loom {

Pooling pooling_from_name(const std::string& name) {
  if (name == "mean") return Pooling::Mean;
  if (name == "cls") return Pooling::Cls;
  if (name == "last") return Pooling::Last;
  if (name == "weighted-mean") return Pooling::WeightedMean;
  throw Error("unknown pooling '" + name + "': expected mean, cls, last or weighted-mean");
}

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::Mean:
      return "mean";
    case Pooling::Cls:
      return "cls";
    case Pooling::Last:
      return "last";
    case Pooling::WeightedMean:
      return "weighted-mean";
  }
  return "?";
}

// out = sum_i w_i · hidden_i, accumulated in position order; positions of weight 0 are skipped
// (CLS and last-token touch one row).
void pool_rows(const float* hidden, int64_t t, int64_t d, Pooling kind, float* out) {
  LOOM_ASSERT(t >= 1 && d >= 1, "pooling needs at least one token");
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(d));
  for (int64_t i = 0; i < t; ++i) {
    const float wi = pooling_weight(kind, i, t);
    if (wi == 0.0f) continue;
    const float* hi = hidden + i * d;
    for (int64_t j = 0; j < d; ++j) out[j] += wi * hi[j];
  }
}

}  // namespace loom
