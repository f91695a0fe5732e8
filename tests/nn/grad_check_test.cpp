// Finite-difference gradient checks: every op of nn/ops.h and whole transformer blocks.
#include "nn/grad_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"
#include "nn/ops.h"

namespace loom::nn {
namespace {

Tensor randn(Shape s, Rng& rng, float scale = 1.0f, float shift = 0.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal() * scale + shift;
  return t;
}

void expect_ok(const GradCheckResult& r) {
  EXPECT_TRUE(r.ok) << "worst " << r.worst << " (excess " << r.worst_excess << ")";
  EXPECT_GT(r.checked, 0);
}

class GradCheck : public ::testing::TestWithParam<int> {};  // param: thread count

TEST_P(GradCheck, Linear) {
  ThreadPool pool(GetParam());
  Rng rng(1);
  Tensor x = randn({5, 7}, rng), w = randn({6, 7}, rng), b = randn({6}, rng),
         wt = randn({7, 6}, rng);
  expect_ok(check_gradients(pool, {&x, &w, &b}, [](Tape& t, const std::vector<Var>& v) {
    return linear(t, v[0], v[1], v[2]);
  }));
  expect_ok(check_gradients(pool, {&x, &wt}, [](Tape& t, const std::vector<Var>& v) {
    return linear(t, v[0], v[1], {}, WeightLayout::InOut);
  }));
}

TEST_P(GradCheck, Embedding) {
  ThreadPool pool(GetParam());
  Rng rng(2);
  Tensor w = randn({10, 6}, rng);
  std::vector<int32_t> ids = {3, 1, 3, 9, 0, 3};
  expect_ok(check_gradients(
      pool, {&w},
      [&](Tape& t, const std::vector<Var>& v) { return embedding(t, v[0], ids.data(), 6); },
      {.max_coords = 60}));
}

TEST_P(GradCheck, AddSliceActivations) {
  ThreadPool pool(GetParam());
  Rng rng(3);
  Tensor a = randn({4, 9}, rng), b = randn({4, 9}, rng);
  expect_ok(check_gradients(pool, {&a, &b}, [](Tape& t, const std::vector<Var>& v) {
    return add(t, slice_cols(t, v[0], 2, 5), slice_cols(t, v[1], 0, 5));
  }));
  for (int kind = 0; kind < 3; ++kind) {
    expect_ok(check_gradients(pool, {&a}, [kind](Tape& t, const std::vector<Var>& v) {
      if (kind == 0) return gelu(t, v[0], GeluKind::Tanh);
      if (kind == 1) return gelu(t, v[0], GeluKind::Erf);
      return silu(t, v[0]);
    }));
  }
  for (GluKind kind : {GluKind::SwiGLU, GluKind::GEGLU, GluKind::ReGLU}) {
    expect_ok(check_gradients(pool, {&a, &b}, [kind](Tape& t, const std::vector<Var>& v) {
      return glu(t, v[0], v[1], kind);
    }));
  }
}

TEST_P(GradCheck, Dropout) {
  ThreadPool pool(GetParam());
  Rng rng(4);
  Tensor a = randn({6, 8}, rng);
  expect_ok(check_gradients(
      pool, {&a}, [](Tape& t, const std::vector<Var>& v) { return dropout(t, v[0], 0.3f, 77); },
      {.max_coords = 48}));
}

TEST_P(GradCheck, Norms) {
  ThreadPool pool(GetParam());
  Rng rng(5);
  Tensor x = randn({7, 12}, rng, 1.0f, 0.5f), w = randn({12}, rng, 0.5f, 1.0f),
         b = randn({12}, rng);
  expect_ok(check_gradients(pool, {&x, &w, &b}, [](Tape& t, const std::vector<Var>& v) {
    return layernorm(t, v[0], v[1], v[2], 1e-5f);
  }));
  expect_ok(check_gradients(pool, {&x, &w}, [](Tape& t, const std::vector<Var>& v) {
    return rmsnorm(t, v[0], v[1], 1e-5f);
  }));
}

TEST_P(GradCheck, Rope) {
  ThreadPool pool(GetParam());
  Rng rng(6);
  Tensor x = randn({2 * 5, 3 * 8}, rng);
  for (RopeStyle st : {RopeStyle::Interleaved, RopeStyle::HalfSplit}) {
    expect_ok(check_gradients(pool, {&x}, [st](Tape& t, const std::vector<Var>& v) {
      return rope(t, v[0], 2, 5, 3, 8, 6, 100.0f, st, 1);
    }));
  }
}

TEST_P(GradCheck, AttentionMhaGqaMqa) {
  ThreadPool pool(GetParam());
  Rng rng(7);
  const int64_t B = 2, T = 5, H = 4, D = 4;
  for (int64_t kv : {4, 2, 1}) {
    Tensor q = randn({B * T, H * D}, rng), k = randn({B * T, kv * D}, rng),
           v = randn({B * T, kv * D}, rng);
    expect_ok(check_gradients(pool, {&q, &k, &v},
                              [=](Tape& t, const std::vector<Var>& in) {
                                return causal_attention(t, in[0], in[1], in[2], B, T, H, kv, D);
                              },
                              {.max_coords = 32}));
  }
}

// Bidirectional attention over a right-padded batch (lengths 5 and 3): the padded keys' k and v
// must get exactly zero gradient, every other coordinate the finite difference.
TEST_P(GradCheck, BidirectionalAttentionWithKeyPadding) {
  ThreadPool pool(GetParam());
  Rng rng(17);
  const int64_t B = 2, T = 5, H = 4, D = 4;
  const std::vector<uint8_t> mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  for (int64_t kv : {4, 2}) {
    Tensor q = randn({B * T, H * D}, rng), k = randn({B * T, kv * D}, rng),
           v = randn({B * T, kv * D}, rng);
    auto fn = [&](Tape& t, const std::vector<Var>& in) {
      return bidirectional_attention(t, in[0], in[1], in[2], B, T, H, kv, D, mask.data());
    };
    expect_ok(check_gradients(pool, {&q, &k, &v}, fn, {.max_coords = 40}));
    Tape t(pool);
    Tensor gq = Tensor::zeros(q.shape()), gk = Tensor::zeros(k.shape()),
           gv = Tensor::zeros(v.shape());
    std::vector<Var> in = {t.leaf(q.view(), gq.view()), t.leaf(k.view(), gk.view()),
                           t.leaf(v.view(), gv.view())};
    Var y = fn(t, in);
    std::vector<float> r(static_cast<size_t>(t.shape(y).numel()), 1.0f);
    t.backward(weighted_sum(t, y, r.data()));
    for (int64_t row : {8, 9})
      for (int64_t c = 0; c < kv * D; ++c) {
        EXPECT_EQ(gk.f32()[row * kv * D + c], 0.0f);
        EXPECT_EQ(gv.f32()[row * kv * D + c], 0.0f);
      }
  }
  // A padded key changes nothing: the output of the real rows is independent of its values.
  Tensor q = randn({B * T, H * D}, rng), k = randn({B * T, H * D}, rng),
         v = randn({B * T, H * D}, rng);
  Tape t1(pool), t2(pool);
  const float* y1 =
      t1.data(bidirectional_attention(t1, t1.constant(q.view()), t1.constant(k.view()),
                                      t1.constant(v.view()), B, T, H, H, D, mask.data()));
  for (int64_t c = 0; c < H * D; ++c) k.f32()[9 * H * D + c] += 3.0f;
  const float* y2 =
      t2.data(bidirectional_attention(t2, t2.constant(q.view()), t2.constant(k.view()),
                                      t2.constant(v.view()), B, T, H, H, D, mask.data()));
  for (int64_t i = 0; i < B * T * H * D; ++i) EXPECT_EQ(y1[i], y2[i]) << i;
}

// T5's attention options: an additive (Tq*Tk, H) bias with scale 1, causal self-attention with
// a decoder key mask, and cross-attention (Tq != Tk) over a padded encoder output. Every input's
// gradient, the bias's included, against finite differences.
TEST_P(GradCheck, AttentionWithBiasScaleAndCrossKeys) {
  ThreadPool pool(GetParam());
  Rng rng(19);
  const int64_t B = 2, H = 2, D = 4;
  const std::vector<uint8_t> enc_mask = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};  // Tk 6: 6, 1
  const std::vector<uint8_t> dec_mask = {1, 1, 1, 1, 1, 1, 1, 0};              // Tq 4: 4, 3
  struct Case {
    int64_t tq, tk;
    bool causal;
    const uint8_t* mask;
    bool bias;
  };
  for (const Case& c :
       {Case{4, 4, true, dec_mask.data(), true}, Case{4, 6, false, enc_mask.data(), false},
        Case{6, 6, false, enc_mask.data(), true}}) {
    Tensor q = randn({B * c.tq, H * D}, rng), k = randn({B * c.tk, H * D}, rng),
           v = randn({B * c.tk, H * D}, rng), bias = randn({c.tq * c.tk, H}, rng);
    const AttentionOptions o{B, c.tq, c.tk, H, H, D, c.causal, c.mask, 1.0f};
    std::vector<Tensor*> in = {&q, &k, &v};
    if (c.bias) in.push_back(&bias);
    expect_ok(check_gradients(pool, in,
                              [&](Tape& t, const std::vector<Var>& x) {
                                return attention(t, x[0], x[1], x[2], o, c.bias ? x[3] : Var{});
                              },
                              {.max_coords = 40}));
  }
}

TEST_P(GradCheck, Tanh) {
  ThreadPool pool(GetParam());
  Rng rng(18);
  Tensor x = randn({3, 7}, rng, 1.5f);
  expect_ok(check_gradients(pool, {&x},
                            [](Tape& t, const std::vector<Var>& v) { return nn::tanh(t, v[0]); }));
}

// relu away from its kink (|x| > 0.1 so a ±h step never crosses 0), mul and scale.
TEST_P(GradCheck, ReluMulScale) {
  ThreadPool pool(GetParam());
  Rng rng(20);
  Tensor x = randn({3, 7}, rng, 1.5f), a = randn({3, 7}, rng), b = randn({3, 7}, rng);
  for (int64_t i = 0; i < x.numel(); ++i)
    if (std::fabs(x.f32()[i]) < 0.1f) x.f32()[i] = 0.5f;
  expect_ok(check_gradients(pool, {&x},
                            [](Tape& t, const std::vector<Var>& v) { return nn::relu(t, v[0]); }));
  expect_ok(check_gradients(pool, {&a, &b}, [](Tape& t, const std::vector<Var>& v) {
    return nn::scale_by(t, nn::mul(t, v[0], v[1]), 0.25f);
  }));
  expect_ok(check_gradients(pool, {&a}, [](Tape& t, const std::vector<Var>& v) {
    return nn::mul(t, v[0], v[0]);  // both inputs one Var: the two gradients add
  }));
}

TEST_P(GradCheck, CrossEntropyWithIgnore) {
  ThreadPool pool(GetParam());
  Rng rng(8);
  Tensor logits = randn({6, 11}, rng, 2.0f);
  std::vector<int32_t> tg = {3, -100, 10, 0, -100, 7};
  expect_ok(check_gradients(
      pool, {&logits},
      [&](Tape& t, const std::vector<Var>& v) { return cross_entropy(t, v[0], tg.data(), 6); },
      {.max_coords = 66}));
}

// The checker itself must fail on a wrong backward: y = 2x with a backward of 3·dy.
TEST(GradCheckSelf, CatchesAWrongGradient) {
  ThreadPool pool(1);
  Rng rng(9);
  Tensor x = randn({3, 4}, rng);
  auto twice = [](Tape& t, Var in, float back) {
    Var y = t.node(t.shape(in), {in});
    for (int64_t i = 0; i < t.shape(in).numel(); ++i) t.data(y)[i] = 2 * t.data(in)[i];
    t.on_backward(y, [&t, in, y, back] {
      for (int64_t i = 0; i < t.shape(in).numel(); ++i) t.grad(in)[i] += back * t.grad(y)[i];
    });
    return y;
  };
  auto good = check_gradients(
      pool, {&x}, [&](Tape& t, const std::vector<Var>& v) { return twice(t, v[0], 2.0f); });
  EXPECT_TRUE(good.ok) << good.worst;
  auto bad = check_gradients(
      pool, {&x}, [&](Tape& t, const std::vector<Var>& v) { return twice(t, v[0], 3.0f); });
  EXPECT_FALSE(bad.ok);
  EXPECT_GT(bad.worst_excess, 5.0);
}

INSTANTIATE_TEST_SUITE_P(Threads, GradCheck, ::testing::Values(1, 3));

}  // namespace
}  // namespace loom::nn
