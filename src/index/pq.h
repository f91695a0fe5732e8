// Product quantisation (Jégou et al. 2011), as DiskANN uses it to keep a compact copy of every
// vector in memory: the dim coordinates split into M contiguous subspaces of dim/M each; every
// subspace has its own codebook of 256 centroids learned by k-means, and a vector becomes M bytes
// (the nearest centroid per subspace). A query against codes uses asymmetric distance
// computation (ADC): one (M, 256) table of query-to-centroid distances per query, then a distance
// is the sum of M table lookups.
//
// Tables follow distance.h: squared L2 per subspace for kL2 (the sum is the squared distance to
// the reconstructed vector), minus the sub-inner-product for kInnerProduct and kCosine (the sum is
// minus the inner product with the reconstructed vector).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/threads.h"
#include "index/distance.h"

namespace loom::index {

inline constexpr int64_t kPqCentroids = 256;
// Training uses at most this many vectors (a seeded sample when there are more).
inline constexpr int64_t kPqMaxTrain = 65536;
inline constexpr int kPqIterations = 12;  // Lloyd iterations after k-means++ seeding

// Index of the centroid nearest to x (dsub) among ct (dsub, 256) (one subspace's codebook,
// transposed); ties go to the lowest index. SIMD, with a plain-loop twin for the tests.
int64_t pq_nearest(const float* x, const float* ct, int64_t dsub);
int64_t pq_nearest_scalar(const float* x, const float* ct, int64_t dsub);

class ProductQuantizer {
 public:
  // Throws loom::Error unless 1 <= M <= dim and dim % M == 0.
  ProductQuantizer(int64_t dim, int64_t M);

  int64_t dim() const { return dim_; }
  int64_t subspaces() const { return M_; }
  int64_t sub_dim() const { return dsub_; }
  bool trained() const { return !book_.empty(); }

  // Learns the codebooks from x (n, dim), n >= 1. Deterministic for a seed whatever the pool size
  // (one task per subspace, each with its own RNG). Fewer than 256 distinct vectors leave
  // duplicate centroids, which is harmless.
  void train(const float* x, int64_t n, uint64_t seed, ThreadPool* pool = nullptr);
  // x (n, dim) -> codes (n, M).
  void encode(const float* x, int64_t n, uint8_t* codes, ThreadPool* pool = nullptr) const;
  // code (M) -> x (dim): the concatenated centroids.
  void decode(const uint8_t* code, float* x) const;
  // q (dim) -> table (M, 256) for metric m (see the file comment).
  void distance_table(const float* q, Metric m, float* table) const;
  // Sum over subspaces of table[j][code[j]].
  static float adc(const float* table, const uint8_t* code, int64_t M) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t j = 0;
    for (; j + 4 <= M; j += 4) {
      s0 += table[(j + 0) * kPqCentroids + code[j + 0]];
      s1 += table[(j + 1) * kPqCentroids + code[j + 1]];
      s2 += table[(j + 2) * kPqCentroids + code[j + 2]];
      s3 += table[(j + 3) * kPqCentroids + code[j + 3]];
    }
    for (; j < M; ++j) s0 += table[j * kPqCentroids + code[j]];
    return (s0 + s1) + (s2 + s3);
  }

  // Codebooks (M, 256, dim/M) row-major; empty until trained.
  const std::vector<float>& codebooks() const { return book_; }
  // Restores saved codebooks; throws loom::Error naming `what` on a wrong size or non-finite value.
  void restore(std::vector<float> book, const std::string& what);
  // Codebooks and their transposed copy.
  int64_t memory_bytes() const {
    return static_cast<int64_t>((book_.size() + book_t_.size()) * sizeof(float));
  }

 private:
  const float* centroid(int64_t j, int64_t c) const {
    return book_.data() + (j * kPqCentroids + c) * dsub_;
  }
  // Subspace j's centroids transposed, (dsub, 256).
  const float* transposed(int64_t j) const { return book_t_.data() + j * kPqCentroids * dsub_; }
  void train_subspace(const float* x, int64_t n, int64_t j, uint64_t seed);
  void make_transposed();

  int64_t dim_, M_, dsub_;
  std::vector<float> book_;    // (M, 256, dsub)
  std::vector<float> book_t_;  // (M, dsub, 256): distance tables and encoding run along centroids
};

}  // namespace loom::index
