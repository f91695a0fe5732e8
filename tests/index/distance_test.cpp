// SIMD distance kernels against their plain-loop twins over sizes and misalignments.
#include "index/distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace loom::index {
namespace {

TEST(Distance, MatchesScalarTwinOverSizesAndOffsets) {
  Rng rng(1);
  std::vector<float> a(600), b(600);
  for (auto& x : a) x = rng.normal();
  for (auto& x : b) x = rng.normal();
  for (int64_t n : {0,  1,  2,  3,  7,   8,   9,   15,  16,  17,  31,  32,
                    33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 384, 513}) {
    for (int off_a = 0; off_a < 4; ++off_a) {
      for (int off_b = 0; off_b < 3; ++off_b) {
        const float* pa = a.data() + off_a;
        const float* pb = b.data() + off_b;
        float tol = 1e-5f * (1.0f + static_cast<float>(n));
        EXPECT_NEAR(dot_f32(pa, pb, n), dot_f32_scalar(pa, pb, n), tol) << "n=" << n;
        EXPECT_NEAR(l2sq_f32(pa, pb, n), l2sq_f32_scalar(pa, pb, n), tol) << "n=" << n;
      }
    }
  }
}

TEST(Distance, KnownValues) {
  const float a[3] = {1, 2, 3}, b[3] = {4, -5, 6};
  EXPECT_FLOAT_EQ(dot_f32(a, b, 3), 4 - 10 + 18);
  EXPECT_FLOAT_EQ(l2sq_f32(a, b, 3), 9 + 49 + 9);
  EXPECT_FLOAT_EQ(distance(Metric::kInnerProduct, a, b, 3), -12);
  float v[2] = {3, 4};
  normalize(v, 2);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
}

TEST(Distance, ParseMetric) {
  EXPECT_EQ(parse_metric("ip"), Metric::kInnerProduct);
  EXPECT_EQ(parse_metric("l2"), Metric::kL2);
  EXPECT_EQ(parse_metric("cos"), Metric::kCosine);
  EXPECT_THROW(parse_metric("manhattan"), Error);
}

}  // namespace
}  // namespace loom::index
