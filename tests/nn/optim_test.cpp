// Schedules, clipping, gradient accumulation, parameter groups and frozen rows.
#include "nn/optim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"
#include "nn/causal_lm.h"

namespace loom::nn {
namespace {

CausalLmConfig tiny(Arch arch) {
  CausalLmConfig c;
  c.arch = arch;
  c.vocab_size = 40;
  c.max_seq = 16;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = arch == Arch::Llama ? 2 : 4;
  c.d_ff = 32;
  return c;
}

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

// Two micro-batches with backward seeds 1/2 accumulate the gradient of the full batch.
TEST(GradAccumulation, MicroBatchesEqualTheFullBatch) {
  ThreadPool pool(2);
  CausalLm model(tiny(Arch::Llama));
  model.init(1, 0.1f);
  const int64_t B = 4, T = 8;
  auto ids = random_ids(B * T, 40, 2), tg = random_ids(B * T, 40, 3);
  Tape tape(pool);
  model.params().zero_grad();
  tape.backward(model.loss(tape, ids.data(), tg.data(), B, T));
  std::vector<float> full(model.params().grads(), model.params().grads() + model.params().numel());
  model.params().zero_grad();
  for (int micro = 0; micro < 2; ++micro) {
    tape.reset();
    const int64_t off = micro * 2 * T;
    tape.backward(model.loss(tape, ids.data() + off, tg.data() + off, 2, T), 0.5f);
  }
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < model.params().numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(model.params().grads()[i] - full[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(full[i])));
  }
  EXPECT_GT(scale, 0.0);
  EXPECT_LE(diff, 1e-5 * scale);
}

// Frozen rows (tied GPT-2 head and untied Llama) and a frozen parameter stay bit-identical under
// AdamW with weight decay; their optimiser state never moves; the other rows do train.
TEST(FrozenRows, StayBitIdenticalUnderAdamWAndSgd) {
  ThreadPool pool(2);
  for (Arch arch : {Arch::Gpt2, Arch::Llama}) {
    for (int use_sgd = 0; use_sgd < 2; ++use_sgd) {
      CausalLm model(tiny(arch));
      model.init(5, 0.1f);
      Parameter& emb = model.params().get(arch == Arch::Gpt2 ? "transformer.wte.weight"
                                                             : "model.embed_tokens.weight");
      emb.frozen_rows.assign(40, 0);
      for (int r = 0; r < 30; ++r) emb.frozen_rows[static_cast<size_t>(r)] = 1;  // "original" rows
      Parameter& frozen =
          model.params().get(arch == Arch::Gpt2 ? "transformer.h.0.mlp.c_fc.weight"
                                                : "model.layers.0.mlp.up_proj.weight");
      frozen.trainable = false;
      std::vector<float> emb0(emb.value.f32(), emb.value.f32() + emb.numel());
      std::vector<float> fr0(frozen.value.f32(), frozen.value.f32() + frozen.numel());
      AdamW adam(model.params(), {.weight_decay = 0.1f});
      Sgd sgd(model.params(), {.momentum = 0.9f, .weight_decay = 0.1f});
      Tape tape(pool);
      auto ids = random_ids(2 * 8, 40, 6), tg = random_ids(2 * 8, 40, 7);
      for (int step = 0; step < 5; ++step) {
        tape.reset();
        model.params().zero_grad();
        tape.backward(model.loss(tape, ids.data(), tg.data(), 2, 8));
        for (int64_t i = 0; i < 30 * 16; ++i) ASSERT_EQ(emb.grad.f32()[i], 0.0f);
        clip_grad_norm(model.params(), 1.0f);
        if (use_sgd)
          sgd.step(0.1f, pool);
        else
          adam.step(0.01f, pool);
      }
      EXPECT_EQ(std::memcmp(emb.value.data(), emb0.data(), 30 * 16 * sizeof(float)), 0);
      EXPECT_EQ(std::memcmp(frozen.value.data(), fr0.data(), fr0.size() * sizeof(float)), 0);
      EXPECT_NE(
          std::memcmp(emb.value.f32() + 30 * 16, emb0.data() + 30 * 16, 10 * 16 * sizeof(float)),
          0);
      const float* m = use_sgd ? sgd.state().data() : adam.m().data();
      for (int64_t i = 0; i < 30 * 16; ++i) ASSERT_EQ(m[emb.offset + i], 0.0f);
      for (int64_t i = 0; i < frozen.numel(); ++i) ASSERT_EQ(m[frozen.offset + i], 0.0f);
    }
  }
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
