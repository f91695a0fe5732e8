// Contrastive losses against the PyTorch golden (tests/reference/nn/contrastive_golden.py) and the
// finite-difference checker.
#include "nn/contrastive.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "nn/grad_check.h"
#include "nn/ops.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::nn {
namespace {

Tensor from_json(const nlohmann::json& v, int64_t rows, int64_t cols) {
  Tensor t = Tensor::zeros({rows, cols});
  EXPECT_EQ(static_cast<int64_t>(v.size()), rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) t.f32()[i] = v[static_cast<size_t>(i)].get<float>();
  return t;
}

void expect_close(const float* got, const nlohmann::json& want, double tol,
                  const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i].get<double>(), tol) << what << " [" << i << "]";
}

// Loss and gradients of every case within 1e-5 of PyTorch (float64), on 1 and 3 threads.
TEST(Contrastive, MatchesPyTorchGolden) {
  auto g = test::load_golden_json("nn/contrastive_golden.json");
  const int64_t b = g["B"], m = g["M"], c = g["C"];
  Tensor q = from_json(g["q"], b, c), p = from_json(g["p"], b, c), n = from_json(g["n"], m, c);
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (const auto& cs : g["cases"]) {
      const std::string name = cs["name"];
      Tensor dq = Tensor::zeros({b, c}), dp = Tensor::zeros({b, c}), dn = Tensor::zeros({m, c});
      Tape t(pool);
      Var vq = t.leaf(q.view(), dq.view()), vp = t.leaf(p.view(), dp.view());
      const bool with_neg = cs["negatives"];
      Var vn = with_neg ? t.leaf(n.view(), dn.view()) : Var{};
      InfoNceOptions o{cs["tau"].get<float>(), cs["symmetric"].get<bool>()};
      Var loss;
      if (cs.contains("dims")) {
        loss = matryoshka_info_nce(t, vq, vp, vn, cs["dims"].get<std::vector<int64_t>>(),
                                   cs["weights"].get<std::vector<float>>(), o);
      } else if (cs.value("raw", false)) {
        loss = info_nce(t, vq, vp, vn, o);
      } else {
        auto nv = [&](Var v) { return v.defined() ? l2_normalize_rows(t, v) : v; };
        loss = info_nce(t, nv(vq), nv(vp), nv(vn), o);
      }
      EXPECT_NEAR(t.data(loss)[0], cs["loss"].get<double>(), 1e-5) << name;
      t.backward(loss);
      expect_close(dq.f32(), cs["dq"], 1e-5, name + " dq");
      expect_close(dp.f32(), cs["dp"], 1e-5, name + " dp");
      if (with_neg) expect_close(dn.f32(), cs["dn"], 1e-5, name + " dn");
    }
  }
}

Tensor randn(Shape s, Rng& rng, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal() * scale;
  return t;
}

TEST(Contrastive, FiniteDifferences) {
  ThreadPool pool(2);
  Rng rng(11);
  Tensor q = randn({4, 6}, rng), p = randn({4, 6}, rng), n = randn({2, 6}, rng);
  GradCheckOptions opt;
  opt.max_coords = 30;
  auto r = check_gradients(
      pool, {&q}, [](Tape& t, const std::vector<Var>& v) { return l2_normalize_rows(t, v[0]); },
      opt);
  EXPECT_TRUE(r.ok) << r.worst;
  for (bool sym : {false, true}) {
    r = check_gradients(
        pool, {&q, &p, &n},
        [sym](Tape& t, const std::vector<Var>& v) {
          return info_nce(t, v[0], v[1], v[2], {0.5f, sym});
        },
        opt);
    EXPECT_TRUE(r.ok) << r.worst;
    r = check_gradients(
        pool, {&q, &p, &n},
        [sym](Tape& t, const std::vector<Var>& v) {
          return matryoshka_info_nce(t, v[0], v[1], v[2], {2, 6}, {1.0f, 0.5f}, {0.5f, sym});
        },
        opt);
    EXPECT_TRUE(r.ok) << r.worst;
  }
}

TEST(Contrastive, BadShapesAndOptionsAreErrors) {
  ThreadPool pool(1);
  Rng rng(3);
  Tensor q = randn({4, 6}, rng), p3 = randn({3, 6}, rng), n5 = randn({2, 5}, rng);
  Tape t(pool);
  t.set_grad_enabled(false);
  Var vq = t.constant(q.view()), vp = t.constant(p3.view()), vn = t.constant(n5.view());
  EXPECT_THROW(info_nce(t, vq, vp, {}), Error);
  EXPECT_THROW(info_nce(t, vq, vq, vn), Error);
  EXPECT_THROW(info_nce(t, vq, vq, {}, {0.0f, false}), Error);
  EXPECT_THROW(matryoshka_info_nce(t, vq, vq, {}, {7}, {}), Error);
  EXPECT_THROW(matryoshka_info_nce(t, vq, vq, {}, {2, 4}, {1.0f}), Error);
  EXPECT_THROW(matryoshka_info_nce(t, vq, vq, {}, {}, {}), Error);
  // A zero row normalises to zero (torch's eps), without NaN.
  Tensor z = Tensor::zeros({1, 3});
  Var y = l2_normalize_rows(t, t.constant(z.view()));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.data(y)[i], 0.0f);
}

}  // namespace
}  // namespace loom::nn
