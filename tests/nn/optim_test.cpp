// Schedules, clipping, gradient accumulation, parameter groups and frozen rows.
#include "nn/optim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"

namespace loom::nn {
namespace {

std::vector<int32_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab)));
  return v;
}

TEST(Schedule, WarmupThenCosineOrLinear) {
  Schedule s{.lr = 1.0f, .min_lr = 0.1f, .warmup = 10, .total_steps = 110, .decay = Decay::Cosine};
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);  // (step + 1) / warmup
  EXPECT_FLOAT_EQ(s.at(4), 0.5f);
  EXPECT_FLOAT_EQ(s.at(10), 1.0f);     // decay starts at its peak
  EXPECT_NEAR(s.at(60), 0.55f, 1e-6);  // half way: (lr + min_lr) / 2
  EXPECT_NEAR(s.at(110), 0.1f, 1e-6);
  EXPECT_NEAR(s.at(500), 0.1f, 1e-6);  // stays at min_lr after the end
  s.decay = Decay::Linear;
  EXPECT_NEAR(s.at(35), 1.0f - 0.9f * 0.25f, 1e-6);
  s.decay = Decay::Constant;
  EXPECT_FLOAT_EQ(s.at(90), 1.0f);
}

TEST(Clip, ScalesToMaxNormAndSkipsFrozen) {
  ParamStore ps;
  Parameter& a = ps.add("a", Shape{2, 2});
  Parameter& b = ps.add("b", Shape{3});
  ps.finalize();
  float ga[] = {3, 0, 0, 100}, gb[] = {0, 4, 0};
  std::memcpy(a.grad.data(), ga, sizeof ga);
  std::memcpy(b.grad.data(), gb, sizeof gb);
  a.frozen_rows = {0, 1};  // row 1 (the 100) does not count
  EXPECT_FLOAT_EQ(clip_grad_norm(ps, 1.0f), 5.0f);
  EXPECT_NEAR(a.grad.f32()[0], 0.6f, 1e-6);
  EXPECT_NEAR(b.grad.f32()[1], 0.8f, 1e-6);
  EXPECT_EQ(a.grad.f32()[3], 100.0f);
  EXPECT_FLOAT_EQ(clip_grad_norm(ps, 10.0f), 1.0f);  // below the bound: unchanged
  EXPECT_NEAR(a.grad.f32()[0], 0.6f, 1e-6);
  // The threaded form gives the same norm and the same scaling.
  ThreadPool pool(3);
  std::memcpy(a.grad.data(), ga, sizeof ga);
  std::memcpy(b.grad.data(), gb, sizeof gb);
  EXPECT_FLOAT_EQ(clip_grad_norm(ps, 1.0f, pool), 5.0f);
  EXPECT_NEAR(a.grad.f32()[0], 0.6f, 1e-6);
  EXPECT_NEAR(b.grad.f32()[1], 0.8f, 1e-6);
  EXPECT_EQ(a.grad.f32()[3], 100.0f);
}

TEST(ParamGroups, NoDecayAndLrScale) {
  ThreadPool pool(1);
  ParamStore ps;
  Parameter& a = ps.add("a", Shape{4});
  Parameter& b = ps.add("b", Shape{4});
  Parameter& c = ps.add("c", Shape{4});
  ps.finalize();
  for (int i = 0; i < 4; ++i) a.value.f32()[i] = b.value.f32()[i] = c.value.f32()[i] = 1.0f;
  b.decay = false;
  c.lr_scale = 0.0f;
  AdamW opt(ps, {.weight_decay = 0.5f});
  opt.step(0.1f, pool);  // zero gradients: only decay moves a
  EXPECT_FLOAT_EQ(a.value.f32()[0], 1.0f * (1.0f - 0.1f * 0.5f));
  EXPECT_EQ(b.value.f32()[0], 1.0f);
  EXPECT_EQ(c.value.f32()[0], 1.0f);
}

}  // namespace
}  // namespace loom::nn
