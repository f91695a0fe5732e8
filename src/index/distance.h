// Distance kernels and metrics for the vector indexes. Every index orders candidates by a
// "distance" where smaller is closer:
//   kL2:           squared Euclidean distance  sum (a_i - b_i)^2
//   kInnerProduct: negated inner product        -sum a_i b_i
//   kCosine:       negated inner product of L2-normalised vectors (vectors and queries are
//                  normalised on the way in, so this is cosine distance minus 1)
// Each SIMD kernel has a plain-loop twin (*_scalar) that tests compare it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loom::index {

enum class Metric : uint32_t { kInnerProduct = 0, kL2 = 1, kCosine = 2 };

// "ip", "l2", "cos" (also "cosine", "inner_product"); throws loom::Error otherwise.
Metric parse_metric(std::string_view name);
const char* metric_name(Metric m);

float dot_f32(const float* a, const float* b, int64_t n);
float l2sq_f32(const float* a, const float* b, int64_t n);
float dot_f32_scalar(const float* a, const float* b, int64_t n);
float l2sq_f32_scalar(const float* a, const float* b, int64_t n);

// Distance under metric m (smaller is closer); cosine expects normalised inputs.
inline float distance(Metric m, const float* a, const float* b, int64_t n) {
  return m == Metric::kL2 ? l2sq_f32(a, b, n) : -dot_f32(a, b, n);
}

// Score for callers that want "larger is better": similarity for ip/cos, -squared L2 for l2.
inline float score_from_distance(float d) { return -d; }

// x (n) /= ||x||; a zero vector stays zero.
void normalize(float* x, int64_t n);

// Prefetch the cache lines of n floats starting at p into L1.
inline void prefetch_vector(const float* p, int64_t n) {
  const char* c = reinterpret_cast<const char*>(p);
  for (int64_t off = 0; off < n * 4; off += 64) __builtin_prefetch(c + off, 0, 3);
}

}  // namespace loom::index
