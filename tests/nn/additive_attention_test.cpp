// nn::additive_attention (Bahdanau): context, weights and every input's gradient against the
// PyTorch golden of tests/reference/nn/additive_attention_golden.py (per tensor
// max |loom - torch| / max |torch| <= 1e-5), and finite differences on other shapes.
#include "nn/additive_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "golden_tensors.h"
#include "nn/grad_check.h"
#include "nn/ops.h"

namespace loom::nn {
namespace {

using test::rel_err;

Tensor tensor_of(const std::vector<float>& v, Shape s) {
  Tensor t = Tensor::empty(s);
  std::copy(v.begin(), v.end(), t.f32());
  return t;
}

TEST(AdditiveAttention, MatchesPyTorchGolden) {
  const test::Golden g = test::load_golden("nn", "additive_attention");
  auto i = [&](const char* k) { return std::stoll(g.config.at(k)); };
  const int64_t B = i("batch"), S = i("src_len"), A = i("attn"), C = i("channels");
  std::vector<int32_t> lens;
  for (float l : g.at("lengths")) lens.push_back(static_cast<int32_t>(l));
  Tensor q = tensor_of(g.at("q"), {B, A}), keys = tensor_of(g.at("keys"), {B * S, A}),
         values = tensor_of(g.at("values"), {B * S, C}), v = tensor_of(g.at("v"), {A});
  std::vector<Tensor> grads;
  for (const Tensor* x : {&q, &keys, &values, &v}) grads.push_back(Tensor::zeros(x->shape()));
  ThreadPool pool(2);
  Tape t(pool);
  std::vector<float> alpha(static_cast<size_t>(B * S));
  Var y =
      additive_attention(t, t.leaf(q.view(), grads[0].view()), t.leaf(keys.view(), grads[1].view()),
                         t.leaf(values.view(), grads[2].view()), t.leaf(v.view(), grads[3].view()),
                         B, S, lens.data(), alpha.data());
  t.backward(weighted_sum(t, y, g.at("r").data()));
  EXPECT_LE(rel_err(t.data(y), g.at("context")), 1e-5);
  EXPECT_LE(rel_err(alpha.data(), g.at("alpha")), 1e-5);
  for (int64_t b = 0; b < B; ++b)  // padded positions get exactly zero weight
    for (int64_t j = lens[static_cast<size_t>(b)]; j < S; ++j)
      EXPECT_EQ(alpha[static_cast<size_t>(b * S + j)], 0.0f);
  const char* names[] = {"grad.q", "grad.keys", "grad.values", "grad.v"};
  for (int k = 0; k < 4; ++k)
    EXPECT_LE(rel_err(grads[static_cast<size_t>(k)].f32(), g.at(names[k])), 1e-5) << names[k];
}

TEST(AdditiveAttention, FiniteDifferences) {
  ThreadPool pool(1);
  Rng rng(4);
  const int64_t B = 2, S = 4, A = 3, C = 5;
  auto randn = [&](Shape s) {
    Tensor t = Tensor::empty(s);
    for (int64_t k = 0; k < t.numel(); ++k) t.f32()[k] = rng.normal();
    return t;
  };
  Tensor q = randn({B, A}), keys = randn({B * S, A}), values = randn({B * S, C}), v = randn({A});
  for (bool with_lengths : {false, true}) {
    const std::vector<int32_t> lens = {3, 4};
    auto res = check_gradients(pool, {&q, &keys, &values, &v},
                               [&](Tape& t, const std::vector<Var>& x) {
                                 return additive_attention(t, x[0], x[1], x[2], x[3], B, S,
                                                           with_lengths ? lens.data() : nullptr);
                               },
                               {.max_coords = 40});
    EXPECT_TRUE(res.ok) << res.worst << " (excess " << res.worst_excess << ")";
  }
}

TEST(AdditiveAttention, BadLengthIsAnError) {
  ThreadPool pool(1);
  Tape t(pool);
  Tensor q = Tensor::zeros({1, 2}), k = Tensor::zeros({3, 2}), m = Tensor::zeros({3, 2}),
         v = Tensor::zeros({2});
  const int32_t len = 4;
  EXPECT_THROW(additive_attention(t, t.constant(q.view()), t.constant(k.view()),
                                  t.constant(m.view()), t.constant(v.view()), 1, 3, &len),
               Error);
}

}  // namespace
}  // namespace loom::nn
