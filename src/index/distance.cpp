#include "index/distance.h"

#include <cmath>

#include "core/error.h"

namespace loom::index {

Metric parse_metric(std::string_view name) {
  if (name == "ip" || name == "inner_product" || name == "dot") return Metric::kInnerProduct;
  if (name == "l2" || name == "euclidean") return Metric::kL2;
  if (name == "cos" || name == "cosine") return Metric::kCosine;
  throw Error("unknown metric '" + std::string(name) + "' (expected ip, l2 or cos)");
}

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::kInnerProduct:
      return "ip";
    case Metric::kL2:
      return "l2";
    case Metric::kCosine:
      return "cos";
  }
  return "?";
}

float dot_f32_scalar(const float* a, const float* b, int64_t n) {
  double s = 0;  // double so the twin is a trustworthy reference
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

float l2sq_f32_scalar(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(a[i]) - b[i];
    s += d * d;
  }
  return static_cast<float>(s);
}

void normalize(float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  if (s <= 0) return;
  float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace loom::index
