// The notes' attention unit test: d=16, k=v=8, h=2, m=10 with random weights; the last output of
// sequential (KV cache) == parallel masked == batched, for MHA and MQA, all equal to PyTorch's
// (tests/reference/models/infer_attention.py).
#include "models/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/mapped_file.h"
#include "core/rng.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::models {
namespace {

Tensor from_list(const nlohmann::json& j, Shape s) {
  Tensor t = Tensor::empty(s);
  auto v = j.get<std::vector<double>>();
  EXPECT_EQ(static_cast<int64_t>(v.size()), s.numel());
  for (size_t i = 0; i < v.size(); ++i) t.f32()[i] = static_cast<float>(v[i]);
  return t;
}

void expect_near_rows(const float* a, const float* b, int64_t n, float tol, const char* what) {
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], tol) << what << " at " << i;
}

TEST(Attention, NotesUnitTestMatchesPyTorch) {
  auto golden = test::load_golden_json("models/infer_attention.json");
  const int64_t d = golden["d"], k = golden["k"], v = golden["v"], h = golden["h"];
  const int64_t m = golden["m"], b = golden["b"];
  Tensor X = from_list(golden["X"], {b, m, d});
  ThreadPool pool(2);
  ASSERT_EQ(golden["cases"].size(), 2u);
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const int64_t g = c["n_kv_heads"];
    Tensor wq = from_list(c["wq"], {h * k, d}), wk = from_list(c["wk"], {g * k, d});
    Tensor wv = from_list(c["wv"], {g * v, d}), wo = from_list(c["wo"], {d, h * v});
    Tensor Y = from_list(c["Y"], {b, m, d});
    AttentionWeights w{wq.view(), wk.view(), wv.view(), wo.view(), {h, g, k, v, 0}};
    const bool mqa = g == 1;
    const float tol = 2e-5f;
    Tensor mask = causal_mask(m, m);

    // Batched parallel (masked).
    Tensor yb = mqa ? multiquery_attention_batched(pool, X.view(), X.view(), mask.view(), w)
                    : multihead_attention_batched(pool, X.view(), X.view(), mask.view(), w);
    expect_near_rows(yb.f32(), Y.f32(), b * m * d, tol, "batched");

    // Batched sequential: one position of every batch row per step.
    AttentionCache bcache(b, g, m, k, v);
    for (int64_t t = 0; t < m; ++t) {
      Tensor xt = Tensor::empty({b, d});
      for (int64_t r = 0; r < b; ++r)
        for (int64_t i = 0; i < d; ++i) xt.f32()[r * d + i] = X.f32()[(r * m + t) * d + i];
      Tensor yt = mqa ? multiquery_self_attention_step_batched(pool, xt.view(), bcache, w)
                      : multihead_self_attention_step_batched(pool, xt.view(), bcache, w);
      for (int64_t r = 0; r < b; ++r)
        expect_near_rows(yt.f32() + r * d, Y.f32() + (r * m + t) * d, d, tol, "batched step");
    }

    for (int64_t r = 0; r < b; ++r) {
      TensorView Xr(X.f32() + r * m * d, DType::F32, {m, d});
      const float* Yr = Y.f32() + r * m * d;
      // Parallel masked.
      Tensor yp = mqa ? multiquery_attention_parallel(pool, Xr, Xr, mask.view(), w)
                      : multihead_attention_parallel(pool, Xr, Xr, mask.view(), w);
      expect_near_rows(yp.f32(), Yr, m * d, tol, "parallel");
      // Sequential with a KV cache: every step's output, the last one included.
      AttentionCache cache(1, g, m, k, v);
      Tensor last;
      for (int64_t t = 0; t < m; ++t) {
        TensorView xt(X.f32() + (r * m + t) * d, DType::F32, {d});
        last = mqa ? multiquery_self_attention_step(pool, xt, cache, w)
                   : multihead_self_attention_step(pool, xt, cache, w);
        expect_near_rows(last.f32(), Yr + t * d, d, tol, "sequential");
      }
      EXPECT_EQ(cache.length(), m);
      // The last sequential output equals the last row of parallel and batched.
      expect_near_rows(last.f32(), yp.f32() + (m - 1) * d, d, 1e-5f, "seq vs parallel");
      expect_near_rows(last.f32(), yb.f32() + (r * m + m - 1) * d, d, 1e-5f, "seq vs batched");
      // One query (the last) against the whole memory, no mask needed.
      TensorView xl(X.f32() + (r * m + m - 1) * d, DType::F32, {d});
      Tensor y1 = multihead_attention(pool, xl, Xr, w);
      expect_near_rows(y1.f32(), Yr + (m - 1) * d, d, tol, "one query");
      // Grouped-query causal form.
      Tensor yg = grouped_query_self_attention_causal(pool, Xr, w);
      expect_near_rows(yg.f32(), Yr, m * d, tol, "gqa causal");
    }
  }
}

TEST(Attention, GroupedQueryMatchesExpandedMultiHead) {
  // GQA with 4 query heads over 2 kv heads == MHA whose kv weights repeat each kv head twice.
  const int64_t d = 16, k = 4, h = 4, g = 2, n = 7;
  Rng rng(7);
  auto rand = [&](Shape s) {
    Tensor t = Tensor::empty(s);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal() * 0.3f;
    return t;
  };
  Tensor X = rand({n, d}), wq = rand({h * k, d}), wk = rand({g * k, d}), wv = rand({g * k, d});
  Tensor wo = rand({d, h * k});
  Tensor wk2 = Tensor::empty({h * k, d}), wv2 = Tensor::empty({h * k, d});
  for (int64_t hh = 0; hh < h; ++hh)
    for (int64_t i = 0; i < k * d; ++i) {
      wk2.f32()[hh * k * d + i] = wk.f32()[(hh / 2) * k * d + i];
      wv2.f32()[hh * k * d + i] = wv.f32()[(hh / 2) * k * d + i];
    }
  ThreadPool pool(1);
  AttentionWeights gqa{wq.view(), wk.view(), wv.view(), wo.view(), {h, g, k, k, 0}};
  AttentionWeights mha{wq.view(), wk2.view(), wv2.view(), wo.view(), {h, h, k, k, 0}};
  Tensor a = grouped_query_self_attention_causal(pool, X.view(), gqa);
  Tensor b = grouped_query_self_attention_causal(pool, X.view(), mha);
  expect_near_rows(a.f32(), b.f32(), n * d, 1e-5f, "gqa vs mha");
}

TEST(Attention, DotProductMatchesPlainLoop) {
  const int64_t m = 13, k = 5, v = 3;
  Rng rng(3);
  Tensor q = Tensor::empty({k}), K = Tensor::empty({m, k}), V = Tensor::empty({m, v});
  for (auto* t : {&q, &K, &V})
    for (int64_t i = 0; i < t->numel(); ++i) t->f32()[i] = rng.normal();
  Tensor y = dot_product_attention(q.view(), K.view(), V.view(), 1.0f);
  std::vector<double> w(m);
  double mx = -1e30, s = 0;
  for (int64_t j = 0; j < m; ++j) {
    w[j] = 0;
    for (int64_t i = 0; i < k; ++i) w[j] += q.f32()[i] * K.f32()[j * k + i];
    mx = std::max(mx, w[j]);
  }
  for (auto& x : w) s += (x = std::exp(x - mx));
  for (int64_t c = 0; c < v; ++c) {
    double e = 0;
    for (int64_t j = 0; j < m; ++j) e += w[j] / s * V.f32()[j * v + c];
    EXPECT_NEAR(y.f32()[c], e, 1e-5);
  }
}

}  // namespace
}  // namespace loom::models
