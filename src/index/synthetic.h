// A seeded clustered data set for recall tests and benchmarks: Gaussian blobs around random
// centres, so graph indexes face the structure real embeddings have (not uniform noise).
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace loom::index {

// (n, dim) row-major: point i belongs to cluster (rng draw); centres ~ N(0, 1), spread ~ N(0, s^2).
inline std::vector<float> clustered_vectors(int64_t n, int64_t dim, int64_t n_clusters,
                                            uint64_t seed, float spread = 0.35f) {
  Rng rng(seed);
  std::vector<float> centres(static_cast<size_t>(n_clusters * dim));
  for (float& c : centres) c = rng.normal();
  std::vector<float> out(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    const float* c = centres.data() + rng.below(static_cast<uint64_t>(n_clusters)) * dim;
    for (int64_t j = 0; j < dim; ++j) out[i * dim + j] = c[j] + spread * rng.normal();
  }
  return out;
}

}  // namespace loom::index
