// Preference losses (sequence log-probs, DPO sigmoid with label smoothing, IPO, Bradley-Terry)
// against the PyTorch golden (tests/reference/nn/preference_golden.py) to 1e-5, loss and every
// gradient, and against the finite-difference checker.
#include "nn/preference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "core/threads.h"
#include "golden_json.h"
#include "nn/grad_check.h"
#include "test_util.h"

namespace loom::nn {
namespace {

Tensor tensor_of(const nlohmann::json& v, std::initializer_list<int64_t> shape) {
  Tensor t = Tensor::zeros(Shape(shape));
  EXPECT_EQ(static_cast<int64_t>(v.size()), t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = v[static_cast<size_t>(i)].get<float>();
  return t;
}

double max_diff(const float* got, const nlohmann::json& want) {
  double m = 0;
  for (size_t i = 0; i < want.size(); ++i)
    m = std::max(m, std::abs(got[i] - want[i].get<double>()));
  return m;
}

TEST(Preference, DpoAndIpoMatchPyTorch) {
  const auto g = test::load_golden_json("nn/preference_golden.json");
  const int64_t b = g["B"], tl = g["T"], v = g["V"];
  Tensor lc = tensor_of(g["logits_c"], {b * tl, v}), lr = tensor_of(g["logits_r"], {b * tl, v});
  Tensor rc = tensor_of(g["ref_c"], {b, 1}), rr = tensor_of(g["ref_r"], {b, 1});
  const auto tc = g["targets_c"].get<std::vector<int32_t>>();
  const auto tr = g["targets_r"].get<std::vector<int32_t>>();
  double worst_loss = 0, worst_grad = 0;
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (const auto& c : g["cases"]) {
      SCOPED_TRACE(c.dump().substr(0, 60));
      Tensor dlc = Tensor::zeros({b * tl, v}), dlr = Tensor::zeros({b * tl, v});
      Tape t(pool);
      Var pc = sequence_logprobs(t, t.leaf(lc.view(), dlc.view()), tc.data(), b, tl);
      Var pr = sequence_logprobs(t, t.leaf(lr.view(), dlr.view()), tr.data(), b, tl);
      EXPECT_LT(max_diff(t.data(pc), c["logp_c"]), 1e-5);
      EXPECT_LT(max_diff(t.data(pr), c["logp_r"]), 1e-5);
      DpoOptions o{c["beta"].get<float>(), c["label_smoothing"].get<float>(), c["ipo"].get<bool>()};
      Var loss = dpo_loss(t, pc, pr, t.constant(rc.view()), t.constant(rr.view()), o);
      EXPECT_NEAR(t.data(loss)[0], c["loss"].get<double>(), 1e-5);
      t.backward(loss);
      EXPECT_LT(max_diff(dlc.f32(), c["d_logits_c"]), 1e-5);
      EXPECT_LT(max_diff(dlr.f32(), c["d_logits_r"]), 1e-5);
      worst_loss = std::max(worst_loss, std::abs(t.data(loss)[0] - c["loss"].get<double>()));
      worst_grad = std::max(
          {worst_grad, max_diff(dlc.f32(), c["d_logits_c"]), max_diff(dlr.f32(), c["d_logits_r"])});
    }
  }
  std::printf("DPO/IPO vs PyTorch: loss %.2e, gradients %.2e (max abs)\n", worst_loss, worst_grad);
}

TEST(Preference, BradleyTerryMatchesPyTorch) {
  const auto g = test::load_golden_json("nn/preference_golden.json")["bt"];
  const int64_t b = static_cast<int64_t>(g["r_c"].size());
  Tensor rc = tensor_of(g["r_c"], {b, 1}), rr = tensor_of(g["r_r"], {b, 1});
  Tensor drc = Tensor::zeros({b, 1}), drr = Tensor::zeros({b, 1});
  ThreadPool pool(1);
  Tape t(pool);
  Var loss = bradley_terry_loss(t, t.leaf(rc.view(), drc.view()), t.leaf(rr.view(), drr.view()));
  EXPECT_NEAR(t.data(loss)[0], g["loss"].get<double>(), 1e-5);
  t.backward(loss);
  EXPECT_LT(max_diff(drc.f32(), g["d_r_c"]), 1e-5);
  EXPECT_LT(max_diff(drr.f32(), g["d_r_r"]), 1e-5);
}

// Every input's gradient (policy and reference alike) by finite differences.
TEST(Preference, FiniteDifferences) {
  const int64_t b = 2, tl = 3, v = 5;
  Rng rng(3);
  Tensor lc = Tensor::zeros({b * tl, v}), lr = Tensor::zeros({b * tl, v});
  Tensor rc = Tensor::zeros({b, 1}), rr = Tensor::zeros({b, 1});
  for (Tensor* x : {&lc, &lr, &rc, &rr})
    for (int64_t i = 0; i < x->numel(); ++i) x->f32()[i] = static_cast<float>(rng.normal());
  const std::vector<int32_t> tc = {-100, 1, 4, -100, 0, -100}, tr = {-100, 2, 2, 3, -100, 1};
  ThreadPool pool(2);
  for (DpoOptions o : {DpoOptions{0.5f, 0.0f, false}, DpoOptions{1.0f, 0.3f, false},
                       DpoOptions{0.4f, 0.0f, true}}) {
    auto fn = [&](Tape& t, const std::vector<Var>& in) {
      return dpo_loss(t, sequence_logprobs(t, in[0], tc.data(), b, tl),
                      sequence_logprobs(t, in[1], tr.data(), b, tl), in[2], in[3], o);
    };
    const GradCheckResult r = check_gradients(pool, {&lc, &lr, &rc, &rr}, fn);
    EXPECT_TRUE(r.ok) << r.worst;
    EXPECT_GT(r.checked, 20);
  }
  auto bt = [&](Tape& t, const std::vector<Var>& in) {
    return bradley_terry_loss(t, in[0], in[1]);
  };
  EXPECT_TRUE(check_gradients(pool, {&rc, &rr}, bt).ok);
}

TEST(Preference, BadInputIsNamed) {
  ThreadPool pool(1);
  Tape t(pool);
  Tensor a = Tensor::zeros({2, 1}), c = Tensor::zeros({3, 1}), l = Tensor::zeros({4, 3});
  Var va = t.constant(a.view()), vc = t.constant(c.view());
  EXPECT_THROW(dpo_loss(t, va, va, va, vc), Error);
  EXPECT_THROW(dpo_loss(t, va, va, va, va, DpoOptions{0.0f}), Error);
  const std::vector<int32_t> bad = {0, 1, 7, -100};
  EXPECT_THROW(sequence_logprobs(t, t.constant(l.view()), bad.data(), 2, 2), Error);
  EXPECT_NEAR(log_sigmoid(-800.0), -800.0, 1e-9);
  EXPECT_NEAR(log_sigmoid(800.0), 0.0, 1e-12);
}

}  // namespace
}  // namespace loom::nn
