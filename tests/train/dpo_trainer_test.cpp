// DPO against cached reference log-probabilities: with the policy equal to the reference the
// first loss is ln 2 and every reward 0; training raises the margin and the preference accuracy.
#include "train/dpo_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tiny_decoder.h"

namespace loom::train {
namespace {

// Prompt (1, q) then a response: chosen "q+5 q+5", rejected "q+10 q+10" (trained tokens only).
std::vector<PreferenceExample> toy_pairs() {
  std::vector<PreferenceExample> out;
  for (int32_t q = 1; q <= 4; ++q) {
    PreferenceExample p;
    const int32_t m = kIgnoreLabel;
    p.chosen.ids = {1, q, q + 5, q + 5};
    p.chosen.labels = {m, m, q + 5, q + 5};
    p.rejected.ids = {1, q, q + 10, q + 10};
    p.rejected.labels = {m, m, q + 10, q + 10};
    p.line = q;
    out.push_back(p);
  }
  return out;
}

TEST(DpoTrainer, StartsAtLn2AndLearnsThePreference) {
  ThreadPool pool(2);
  models::CausalLm model(test::tiny_decoder("llama", 16, 8));
  model.init(4, 0.1f);
  const auto pairs = toy_pairs();
  const RefLogprobs ref = compute_ref_logprobs(model, pairs, 4, 8, pool);
  TrainConfig cfg;
  cfg.batch = 2;
  cfg.seq = 8;
  cfg.grad_accum = 2;
  cfg.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 1, .total_steps = 30};
  DpoTrainer tr(model, pairs, ref, nn::DpoOptions{0.5f}, cfg, pool);
  const DpoStepStats first = tr.step();
  EXPECT_NEAR(first.step.loss, std::log(2.0f), 1e-5);
  EXPECT_NEAR(first.margin, 0.0f, 1e-5);
  for (int s = 1; s < 30; ++s) tr.step();
  const DpoStepStats after = tr.evaluate(pairs, ref);
  EXPECT_EQ(after.accuracy, 1.0f);
  EXPECT_GT(after.margin, 1.0f);
  EXPECT_GT(after.chosen_reward, after.rejected_reward);
  std::printf("DPO toy: accuracy %.2f, margin %.3f (chosen %.3f, rejected %.3f) after 30 steps\n",
              after.accuracy, after.margin, after.chosen_reward, after.rejected_reward);
}

// The loss evaluate() reports (from the rewards) is the loss the step trained (nn::dpo_loss on the
// tape) on the same pairs, once the policy has moved off the reference; sigmoid with label
// smoothing and IPO.
TEST(DpoTrainer, MetricLossEqualsTheTrainedLoss) {
  ThreadPool pool(1);
  const auto pairs = toy_pairs();
  for (const nn::DpoOptions o :
       {nn::DpoOptions{0.5f, 0.1f, false}, nn::DpoOptions{0.3f, 0, true}}) {
    models::CausalLm model(test::tiny_decoder("llama", 16, 8));
    model.init(4, 0.1f);
    const RefLogprobs ref = compute_ref_logprobs(model, pairs, 4, 8, pool);
    TrainConfig cfg;
    cfg.batch = 4;
    cfg.seq = 8;
    cfg.schedule = {.lr = 5e-2f, .min_lr = 5e-2f, .warmup = 0, .total_steps = 3};
    DpoTrainer tr(model, pairs, ref, o, cfg, pool);
    tr.step();
    const DpoStepStats second = tr.step();  // all 4 pairs, policy != reference
    EXPECT_GT(std::fabs(second.margin), 1e-3f);
    EXPECT_NEAR(second.loss, second.step.loss, 1e-5f) << "ipo " << o.ipo;
  }
}

TEST(DpoTrainer, RefusesMismatchedReferences) {
  ThreadPool pool(1);
  models::CausalLm model(test::tiny_decoder("llama", 16, 8));
  const auto pairs = toy_pairs();
  RefLogprobs ref;
  ref.chosen = {0, 0};
  ref.rejected = {0, 0};
  TrainConfig cfg;
  cfg.batch = 2;
  cfg.seq = 8;
  EXPECT_THROW(DpoTrainer(model, pairs, ref, {}, cfg, pool), Error);
}

}  // namespace
}  // namespace loom::train
