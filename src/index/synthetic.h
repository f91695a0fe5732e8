// A seeded clustered data set for recall tests and benchmarks: Gaussian blobs around random
// centres, so graph indexes face the structure real embeddings have (not uniform noise).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace loom::index {

// (n, dim) row-major. Centres ~ N(0, 1) come from centre_seed, so base vectors and queries drawn
// with the same centre_seed and different point_seeds share clusters. Point i picks a cluster and
// adds noise N(0, spread^2) whose scale decays over the dimensions (by 1/sqrt(1 + j/8)), giving a
// lower intrinsic dimension, as real embeddings have.
inline std::vector<float> clustered_vectors(int64_t n, int64_t dim, int64_t n_clusters,
                                            uint64_t centre_seed, uint64_t point_seed,
                                            float spread = 0.5f) {
  Rng crng(centre_seed);
  std::vector<float> centres(static_cast<size_t>(n_clusters * dim));
  for (float& c : centres) c = crng.normal();
  std::vector<float> scale(static_cast<size_t>(dim));
  for (int64_t j = 0; j < dim; ++j) scale[j] = spread / std::sqrt(1.0f + static_cast<float>(j) / 8);
  Rng rng(point_seed);
  std::vector<float> out(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    const float* c = centres.data() + rng.below(static_cast<uint64_t>(n_clusters)) * dim;
    for (int64_t j = 0; j < dim; ++j) out[i * dim + j] = c[j] + scale[j] * rng.normal();
  }
  return out;
}

}  // namespace loom::index
