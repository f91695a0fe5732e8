#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/dtype.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "core/threads.h"

namespace loom {
namespace {

TEST(ThreadPool, RunsEveryTaskOnceAndRethrows) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int rep = 0; rep < 50; ++rep) {
      std::vector<std::atomic<int>> hits(97);
      pool.run(97, [&](int64_t i) { hits[static_cast<size_t>(i)]++; });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
    std::atomic<int64_t> sum{0};
    pool.parallel_for(1000, 10, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 999 * 1000 / 2);
    EXPECT_THROW(pool.run(8, [](int64_t i) { if (i == 3) throw std::runtime_error("x"); }),
                 std::runtime_error);
  }
}

// Plain triple loop in double: the twin every GEMM path is checked against.
std::vector<double> gemm_ref(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                             const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<double> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) {
        double av = ta ? a[p * m + i] : a[i * k + p];
        double bv = tb ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  return c;
}

struct Dims {
  int64_t m, n, k;
};
const Dims kDims[] = {{1, 1, 1}, {1, 300, 77}, {5, 3, 2}, {17, 129, 33}, {130, 70, 64}, {64, 257, 100}};

TEST(Gemm, F32MatchesTripleLoopAllTransposesAndThreads) {
  Rng rng(11);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (auto d : kDims)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          std::vector<float> a(static_cast<size_t>(d.m * d.k)), b(static_cast<size_t>(d.k * d.n));
          for (auto& v : a) v = rng.normal();
          for (auto& v : b) v = rng.normal();
          Tensor c = Tensor::empty({d.m, d.n});
          for (int64_t i = 0; i < d.m * d.n; ++i) c.f32()[i] = 1.0f;
          TensorView av(a.data(), DType::F32, ta ? Shape{d.k, d.m} : Shape{d.m, d.k});
          TensorView bv(b.data(), DType::F32, tb ? Shape{d.n, d.k} : Shape{d.k, d.n});
          matmul(pool, av, ta, bv, tb, c.view(), 2.0f, 0.5f);
          auto want = gemm_ref(ta, tb, d.m, d.n, d.k, a, b);
          for (int64_t i = 0; i < d.m * d.n; ++i)
            ASSERT_NEAR(c.f32()[i], 2 * want[i] + 0.5, 1e-4 * (1 + std::sqrt(d.k)))
                << "m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << ta << " tb=" << tb;
        }
  }
}

TEST(Gemm, Bf16MatchesTripleLoopOnRoundedInputs) {
  Rng rng(12);
  ThreadPool pool(2);
  for (auto d : kDims)
    for (bool tb : {false, true}) {
      std::vector<float> a(static_cast<size_t>(d.m * d.k)), b(static_cast<size_t>(d.k * d.n));
      std::vector<uint16_t> ah(a.size()), bh(b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        ah[i] = f32_to_bf16(rng.normal());
        a[i] = bf16_to_f32(ah[i]);
      }
      for (size_t i = 0; i < b.size(); ++i) {
        bh[i] = f32_to_bf16(rng.normal());
        b[i] = bf16_to_f32(bh[i]);
      }
      Tensor c = Tensor::zeros({d.m, d.n});
      TensorView av(ah.data(), DType::BF16, {d.m, d.k});
      TensorView bv(bh.data(), DType::BF16, tb ? Shape{d.n, d.k} : Shape{d.k, d.n});
      matmul(pool, av, false, bv, tb, c.view());
      auto want = gemm_ref(false, tb, d.m, d.n, d.k, a, b);
      for (int64_t i = 0; i < d.m * d.n; ++i)
        ASSERT_NEAR(c.f32()[i], want[i], 1e-3 * (1 + std::sqrt(d.k))) << "tb=" << tb;
    }
}

TEST(Gemm, Int8IsExact) {
  Rng rng(13);
  ThreadPool pool(2);
  for (auto d : kDims)
    for (bool tb : {false, true}) {
      std::vector<int8_t> a(static_cast<size_t>(d.m * d.k)), b(static_cast<size_t>(d.k * d.n));
      for (auto& v : a) v = static_cast<int8_t>(static_cast<int>(rng.below(255)) - 127);
      for (auto& v : b) v = static_cast<int8_t>(static_cast<int>(rng.below(255)) - 127);
      Tensor c = Tensor::zeros({d.m, d.n}, DType::I32);
      matmul(pool, TensorView(a.data(), DType::I8, {d.m, d.k}), false,
             TensorView(b.data(), DType::I8, tb ? Shape{d.n, d.k} : Shape{d.k, d.n}), tb, c.view());
      for (int64_t i = 0; i < d.m; ++i)
        for (int64_t j = 0; j < d.n; ++j) {
          int32_t s = 0;
          for (int64_t p = 0; p < d.k; ++p) s += a[i * d.k + p] * (tb ? b[j * d.k + p] : b[p * d.n + j]);
          ASSERT_EQ(c.view().as<int32_t>()[i * d.n + j], s);
        }
    }
}

TEST(Rng, DeterministicAndWellSpread) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
  Rng r(1);
  double mean = 0, var = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    float x = r.normal();
    mean += x;
    var += x * x;
  }
  mean /= n;
  var = var / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.02);
  for (int i = 0; i < 1000; ++i) {
    float u = r.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_LT(r.below(7), 7u);
  }
}

}  // namespace
}  // namespace loom
