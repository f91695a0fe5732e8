// Shared blocks against plain loops: linear over every weight dtype (decode and GEMM paths, the
// q8_0 x q8_0 and q4_0 x q8_0 dots), norms, FFN variants, RoPE conventions, embeddings.
#include "models/layers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"

namespace loom::models {
namespace {

Tensor random(Shape s, uint64_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal() * scale;
  return t;
}

// y = x W^T with W dequantised to f32 first (the exact value of the stored weights).
std::vector<double> reference_linear(const Tensor& x, const Tensor& w) {
  const int64_t n = x.shape()[0], in = x.shape()[1], out = w.shape()[0];
  Tensor wf = w.to(DType::F32);
  std::vector<double> y(static_cast<size_t>(n * out));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t k = 0; k < in; ++k)
        s += static_cast<double>(x.f32()[i * in + k]) * wf.f32()[o * in + k];
      y[static_cast<size_t>(i * out + o)] = s;
    }
  return y;
}

TEST(Layers, LinearEveryDtypeBothPaths) {
  ThreadPool pool(2);
  for (int64_t in : {32, 96, 288}) {
    const int64_t out = 37, n = 5;
    Tensor w = random({out, in}, 1);
    Tensor x = random({n, in}, 2);
    for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " in=" + std::to_string(in));
      Tensor wq = w.to(dt);
      auto ref = reference_linear(x, wq);
      std::vector<float> y(static_cast<size_t>(n * out)), y1(static_cast<size_t>(out));
      linear(pool, x.f32(), n, wq.view(), nullptr, y.data());  // GEMM path
      // Activations are quantised to 8 bits on the decode path of q8_0/q4_0 weights.
      const bool q = dt == DType::Q8_0 || dt == DType::Q4_0;
      const double tol_dec = q ? 0.02 * std::sqrt(static_cast<double>(in)) : 1e-3;
      for (int64_t i = 0; i < n; ++i) {
        linear(pool, x.f32() + i * in, 1, wq.view(), nullptr, y1.data());  // decode path
        for (int64_t o = 0; o < out; ++o) {
          const double r = ref[static_cast<size_t>(i * out + o)];
          ASSERT_NEAR(y[static_cast<size_t>(i * out + o)], r, 1e-3) << i << "," << o;
          ASSERT_NEAR(y1[static_cast<size_t>(o)], r, tol_dec) << i << "," << o;
        }
      }
    }
  }
}

TEST(Layers, QuantisedDotsMatchPlainLoops) {
  for (int64_t n : {32, 64, 320}) {
    Tensor x = random({n}, 3), w = random({1, n}, 4);
    std::vector<Q8Act> xq(static_cast<size_t>(n / 32));
    quantize_q8_act(x.f32(), xq.data(), n);
    for (DType dt : {DType::Q8_0, DType::Q4_0}) {
      Tensor wq = w.to(dt);
      Tensor wf = wq.to(DType::F32);
      double want = 0;  // dequantised weights times dequantised activations
      for (int64_t b = 0; b < n / 32; ++b)
        for (int j = 0; j < 32; ++j)
          want += static_cast<double>(wf.f32()[b * 32 + j]) * xq[b].d * xq[b].q[j];
      float got =
          dt == DType::Q8_0 ? dot_q8_0(wq.data(), xq.data(), n) : dot_q4_0(wq.data(), xq.data(), n);
      EXPECT_NEAR(got, want, 1e-4 * std::max(1.0, std::fabs(want))) << dtype_name(dt) << " n=" << n;
    }
  }
}

TEST(Layers, LinearManyEqualsSeparateProducts) {
  ThreadPool pool(2);
  Tensor a = random({24, 64}, 5), b = random({8, 64}, 6), c = random({40, 64}, 7),
         x = random({64}, 8);
  for (DType dt : {DType::F32, DType::Q8_0}) {
    Tensor qa = a.to(dt), qb = b.to(dt), qc = c.to(dt);
    std::vector<float> ya(24), yb(8), yc(40), za(24), zb(8), zc(40);
    linear_many(pool, x.f32(), {qa.view(), qb.view(), qc.view()},
                {ya.data(), yb.data(), yc.data()});
    linear(pool, x.f32(), 1, qa.view(), nullptr, za.data());
    linear(pool, x.f32(), 1, qb.view(), nullptr, zb.data());
    linear(pool, x.f32(), 1, qc.view(), nullptr, zc.data());
    // Same products; rows may group differently across threads, so allow rounding.
    auto near = [](const std::vector<float>& p, const std::vector<float>& q) {
      for (size_t i = 0; i < p.size(); ++i) ASSERT_NEAR(p[i], q[i], 1e-4f * (1 + std::fabs(q[i])));
    };
    near(ya, za);
    near(yb, zb);
    near(yc, zc);
  }
}

TEST(Layers, NormsAndFfnVariants) {
  ThreadPool pool(1);
  const int64_t d = 16, h = 24, n = 3;
  Tensor x = random({n, d}, 9), w = random({d}, 10), b = random({d}, 11);
  Tensor up = random({h, d}, 12, 0.3f), gate = random({h, d}, 13, 0.3f),
         down = random({d, h}, 14, 0.3f);
  for (NormKind k : {NormKind::RMS, NormKind::Layer}) {
    Norm norm{k, w.view(), k == NormKind::Layer ? b.view() : TensorView(), 1e-5f};
    std::vector<float> y(n * d);
    norm.apply(x.f32(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const float* r = x.f32() + i * d;
      double mean = 0, ms = 0, var = 0;
      for (int64_t j = 0; j < d; ++j)
        mean += r[j] / static_cast<double>(d), ms += r[j] * r[j] / static_cast<double>(d);
      for (int64_t j = 0; j < d; ++j) var += (r[j] - mean) * (r[j] - mean) / static_cast<double>(d);
      for (int64_t j = 0; j < d; ++j) {
        double want = k == NormKind::RMS
                          ? r[j] / std::sqrt(ms + 1e-5) * w.f32()[j]
                          : (r[j] - mean) / std::sqrt(var + 1e-5) * w.f32()[j] + b.f32()[j];
        EXPECT_NEAR(y[i * d + j], want, 1e-4);
      }
    }
  }
  auto act = [](FfnKind k, double v) {
    switch (k) {
      case FfnKind::Gelu:
        return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
      case FfnKind::GeluErf:
      case FfnKind::GeGLU:
        return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      case FfnKind::Relu:
      case FfnKind::ReGLU:
        return v > 0 ? v : 0.0;
      default:
        return v / (1 + std::exp(-v));  // SwiGLU
    }
  };
  for (FfnKind k : {FfnKind::Gelu, FfnKind::GeluErf, FfnKind::Relu, FfnKind::SwiGLU, FfnKind::GeGLU,
                    FfnKind::ReGLU}) {
    Ffn f;
    f.kind = k;
    f.up = up.view();
    f.down = down.view();
    if (ffn_gated(k)) f.gate = gate.view();
    for (int64_t rows : {int64_t{1}, n}) {
      std::vector<float> y(rows * d), scratch(2 * rows * h);
      f.forward(pool, x.f32(), rows, y.data(), scratch.data());
      for (int64_t i = 0; i < rows; ++i) {
        std::vector<double> hid(h);
        for (int64_t j = 0; j < h; ++j) {
          double u = 0, g = 0;
          for (int64_t c = 0; c < d; ++c) {
            u += up.f32()[j * d + c] * x.f32()[i * d + c];
            g += gate.f32()[j * d + c] * x.f32()[i * d + c];
          }
          hid[j] = ffn_gated(k) ? act(k, g) * u : act(k, u);
        }
        for (int64_t c = 0; c < d; ++c) {
          double want = 0;
          for (int64_t j = 0; j < h; ++j) want += down.f32()[c * h + j] * hid[j];
          EXPECT_NEAR(y[i * d + c], want, 1e-4) << static_cast<int>(k);
        }
      }
    }
  }
}

TEST(Layers, RopeConventionsAreAPermutationApart) {
  // Half-split RoPE on rows permuted (2i, 2i+1) -> (i, i + hd/2) equals interleaved RoPE.
  const int64_t heads = 2, hd = 8;
  Tensor x = random({heads * hd}, 15);
  std::vector<float> a(x.f32(), x.f32() + heads * hd), b(heads * hd);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i) {
      b[h * hd + i] = a[h * hd + 2 * i];
      b[h * hd + i + hd / 2] = a[h * hd + 2 * i + 1];
    }
  Rope inter{hd, hd, 10000.0f, RopeStyle::Interleaved},
      half{hd, hd, 10000.0f, RopeStyle::HalfSplit};
  inter.apply(a.data(), 1, heads * hd, heads, 7);
  half.apply(b.data(), 1, heads * hd, heads, 7);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i) {
      EXPECT_NEAR(b[h * hd + i], a[h * hd + 2 * i], 1e-6);
      EXPECT_NEAR(b[h * hd + i + hd / 2], a[h * hd + 2 * i + 1], 1e-6);
    }
}

TEST(Layers, EmbeddingsAndPositionsCheckRanges) {
  Tensor table = random({5, 4}, 16);
  Tensor t16 = table.to(DType::F16);
  std::vector<float> out(8);
  int32_t ids[2] = {4, 0};
  embed_tokens(t16.view(), ids, 2, out.data());
  EXPECT_NEAR(out[0], table.f32()[16], 1e-2);
  int32_t bad[1] = {5};
  EXPECT_THROW(embed_tokens(table.view(), bad, 1, out.data()), Error);
  std::vector<float> x(8, 1.0f);
  add_positions(table.view(), 3, 2, x.data());
  EXPECT_FLOAT_EQ(x[4], 1.0f + table.f32()[16]);
  EXPECT_THROW(add_positions(table.view(), 4, 2, x.data()), Error);
}

}  // namespace
}  // namespace loom::models
