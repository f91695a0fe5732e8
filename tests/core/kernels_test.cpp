// Every vectorised kernel against its plain-loop twin, over many sizes and misalignments.
#include "core/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"

namespace loom {
namespace {

// ---- scalar twins ----
float dot_ref(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}
void softmax_ref(float* x, int64_t n) {
  double m = -INFINITY, s = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max<double>(m, x[i]);
  for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(x[i] - m) / s);
}
void rmsnorm_ref(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  double r = 1.0 / std::sqrt(ss / n + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * r * w[i]);
}
void layernorm_ref(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  double mean = 0, var = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= n;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>((x[i] - mean) / std::sqrt(var + eps) * w[i] + b[i]);
}
float silu_ref(float x) { return static_cast<float>(x / (1.0 + std::exp(-static_cast<double>(x)))); }
float gelu_tanh_ref(float x) {
  double v = x;
  return static_cast<float>(0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
}
void rope_ref(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos, float theta,
              bool interleaved) {
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < rot_dim / 2; ++i) {
      double freq = std::pow(static_cast<double>(theta), -2.0 * i / rot_dim);
      double a = pos * freq;
      int64_t i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + rot_dim / 2;
      float* v = x + h * head_dim;
      double p = v[i0], q = v[i1];
      v[i0] = static_cast<float>(p * std::cos(a) - q * std::sin(a));
      v[i1] = static_cast<float>(p * std::sin(a) + q * std::cos(a));
    }
  }
}

// Sizes around the vector widths, and offsets that misalign the start.
const int64_t kSizes[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 1000, 4097};
const int64_t kOffsets[] = {0, 1, 3, 5};

std::vector<float> random_vec(Rng& rng, int64_t n, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n) + 8);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

void expect_close(const float* a, const float* b, int64_t n, float rel, float abs, const char* what) {
  for (int64_t i = 0; i < n; ++i) {
    float tol = abs + rel * std::fabs(b[i]);
    ASSERT_NEAR(a[i], b[i], tol) << what << " at " << i << " of " << n;
  }
}

TEST(Kernels, DotMatchesScalar) {
  Rng rng(1);
  for (int64_t n : kSizes)
    for (int64_t off : kOffsets) {
      auto a = random_vec(rng, n + off), b = random_vec(rng, n + off);
      float got = dot(a.data() + off, b.data() + off, n);
      float want = dot_ref(a.data() + off, b.data() + off, n);
      EXPECT_NEAR(got, want, 1e-4f * (1 + std::sqrt(static_cast<float>(n)))) << "n=" << n;
    }
}

TEST(Kernels, ElementwiseMatchScalar) {
  Rng rng(2);
  for (int64_t n : kSizes)
    for (int64_t off : kOffsets) {
      auto x = random_vec(rng, n + off), y = random_vec(rng, n + off);
      std::vector<float> want(y), got(y);
      for (int64_t i = 0; i < n; ++i) want[off + i] += 0.7f * x[off + i];
      axpy(0.7f, x.data() + off, got.data() + off, n);
      expect_close(got.data(), want.data(), n + off + 8, 1e-6f, 1e-6f, "axpy");

      std::vector<float> prod(x.size()), prod_ref(x.size());
      mul(x.data() + off, y.data() + off, prod.data() + off, n);
      for (int64_t i = 0; i < n; ++i) prod_ref[off + i] = x[off + i] * y[off + i];
      expect_close(prod.data(), prod_ref.data(), n + off, 0, 0, "mul");

      std::vector<float> s(x), s_ref(x);
      scale(s.data() + off, -1.5f, n);
      for (int64_t i = 0; i < n; ++i) s_ref[off + i] *= -1.5f;
      expect_close(s.data(), s_ref.data(), n + off, 0, 0, "scale");

      if (n > 0) {
        float m = -INFINITY, sm = 0;
        for (int64_t i = 0; i < n; ++i) {
          m = std::max(m, x[off + i]);
          sm += x[off + i];
        }
        EXPECT_EQ(max_of(x.data() + off, n), m);
        EXPECT_NEAR(sum_of(x.data() + off, n), sm, 1e-4f * (1 + n));
      }
    }
}

TEST(Kernels, SoftmaxMatchesScalar) {
  Rng rng(3);
  for (int64_t n : kSizes) {
    if (n == 0) continue;
    for (int64_t off : kOffsets) {
      auto x = random_vec(rng, n + off, 8.0f);
      std::vector<float> want(x);
      softmax_ref(want.data() + off, n);
      float lse = softmax(x.data() + off, n);
      expect_close(x.data() + off, want.data() + off, n, 1e-5f, 1e-7f, "softmax");
      EXPECT_TRUE(std::isfinite(lse));
    }
  }
  // Extreme inputs stay finite and sum to one.
  std::vector<float> big = {1000.f, -1000.f, 999.f, 0.f, 88.f, -88.f, 87.f, 1.f, 2.f};
  softmax(big.data(), static_cast<int64_t>(big.size()));
  float s = 0;
  for (float v : big) {
    EXPECT_TRUE(std::isfinite(v));
    s += v;
  }
  EXPECT_NEAR(s, 1.0f, 1e-6f);
}

TEST(Kernels, NormsMatchScalar) {
  Rng rng(4);
  for (int64_t n : kSizes) {
    if (n == 0) continue;
    for (int64_t off : kOffsets) {
      auto x = random_vec(rng, n + off, 3.0f), w = random_vec(rng, n + off), b = random_vec(rng, n + off);
      std::vector<float> y(x.size()), y_ref(x.size());
      rmsnorm(x.data() + off, w.data() + off, y.data() + off, n, 1e-5f);
      rmsnorm_ref(x.data() + off, w.data() + off, y_ref.data() + off, n, 1e-5f);
      expect_close(y.data() + off, y_ref.data() + off, n, 2e-5f, 2e-6f, "rmsnorm");
      layernorm(x.data() + off, w.data() + off, b.data() + off, y.data() + off, n, 1e-5f);
      layernorm_ref(x.data() + off, w.data() + off, b.data() + off, y_ref.data() + off, n, 1e-5f);
      expect_close(y.data() + off, y_ref.data() + off, n, 2e-5f, 2e-5f, "layernorm");
    }
  }
}

TEST(Kernels, ActivationsMatchScalar) {
  Rng rng(5);
  for (int64_t n : kSizes)
    for (int64_t off : kOffsets) {
      auto x = random_vec(rng, n + off, 6.0f);
      if (n > 2) {
        x[off] = 90.f;  // the clamps of the vector exp
        x[off + 1] = -90.f;
      }
      std::vector<float> s(x), g(x), up = random_vec(rng, n + off), sw(x);
      silu(s.data() + off, n);
      gelu_tanh(g.data() + off, n);
      swiglu(sw.data() + off, up.data() + off, n);
      for (int64_t i = 0; i < n; ++i) {
        float v = x[off + i];
        ASSERT_NEAR(s[off + i], silu_ref(v), 1e-6f + 2e-6f * std::fabs(v)) << "silu(" << v << ")";
        ASSERT_NEAR(g[off + i], gelu_tanh_ref(v), 1e-6f + 2e-6f * std::fabs(v)) << "gelu(" << v << ")";
        ASSERT_NEAR(sw[off + i], silu_ref(v) * up[off + i], 1e-5f * (1 + std::fabs(v * up[off + i])));
      }
      std::vector<float> e(x);
      gelu_erf(e.data() + off, n);
      for (int64_t i = 0; i < n; ++i) {
        double v = x[off + i];
        ASSERT_NEAR(e[off + i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-5 * (1 + std::fabs(v)));
      }
    }
}

TEST(Kernels, RopeMatchesScalarBothConventions) {
  Rng rng(6);
  for (bool inter : {true, false})
    for (int64_t head_dim : {2, 8, 16, 64})
      for (int64_t rot : {head_dim, head_dim / 2}) {
        if (rot % 2 != 0 || rot == 0) continue;
        for (int64_t pos : {0, 1, 7, 511, 4000}) {
          auto x = random_vec(rng, 3 * head_dim);
          std::vector<float> want(x);
          rope_ref(want.data(), 3, head_dim, rot, pos, 10000.0f, inter);
          rope(x.data(), 3, head_dim, rot, pos, 10000.0f,
               inter ? RopeStyle::Interleaved : RopeStyle::HalfSplit);
          expect_close(x.data(), want.data(), 3 * head_dim, 1e-4f, 1e-4f, "rope");
        }
      }
}

TEST(Kernels, RopeConventionsArePermutationsOfEachOther) {
  // Interleaved on x equals half-split on x with pairs regrouped (2i,2i+1) -> (i, i+d/2).
  Rng rng(7);
  const int64_t d = 16;
  auto x = random_vec(rng, d);
  std::vector<float> a(x.begin(), x.begin() + d), b(d);
  for (int64_t i = 0; i < d / 2; ++i) {
    b[i] = a[2 * i];
    b[i + d / 2] = a[2 * i + 1];
  }
  rope(a.data(), 1, d, d, 5, 10000.f, RopeStyle::Interleaved);
  rope(b.data(), 1, d, d, 5, 10000.f, RopeStyle::HalfSplit);
  for (int64_t i = 0; i < d / 2; ++i) {
    EXPECT_FLOAT_EQ(a[2 * i], b[i]);
    EXPECT_FLOAT_EQ(a[2 * i + 1], b[i + d / 2]);
  }
}

}  // namespace
}  // namespace loom
