// Supervised fine-tuning with masked labels: batches token by token, an example's loss
// independent of its batch-mates and padding, and training that lowers the response loss while
// the prompt tokens, never trained, stay out of the loss.
#include "train/sft_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/threads.h"
#include "tiny_decoder.h"

namespace loom::train {
namespace {

// Prompt tokens (masked) then response tokens (trained): "question" q -> "answer" q + 10.
std::vector<SftExample> toy_data() {
  std::vector<SftExample> out;
  for (int32_t q = 1; q <= 8; ++q) {
    SftExample e;
    e.ids = {1, q, 2, q + 10, q + 10, 3};
    e.labels = {kIgnoreLabel, kIgnoreLabel, kIgnoreLabel, q + 10, q + 10, 3};
    e.line = q;
    out.push_back(e);
  }
  return out;
}

TrainConfig cfg() {
  TrainConfig c;
  c.batch = 4;
  c.seq = 8;
  c.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 2, .total_steps = 60};
  c.seed = 5;
  return c;
}

TEST(SftTrainer, BatchesArePaddedAndShifted) {
  const auto data = toy_data();
  std::vector<int32_t> ids(16), targets(16);
  sft_batch(data, {2, 0}, 8, 0, ids.data(), targets.data());
  const int32_t m = kIgnoreLabel;
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 3, 2, 13, 13, 3, 0, 0, 1, 1, 2, 11, 11, 3, 0, 0}));
  EXPECT_EQ(targets, (std::vector<int32_t>{m, m, 13, 13, 3, m, m, m, m, m, 11, 11, 3, m, m, m}));
}

TEST(SftTrainer, LossOfAnExampleDoesNotDependOnItsBatch) {
  ThreadPool pool(2);
  models::CausalLm model(test::tiny_decoder("llama", 24, 16));
  model.init(3, 0.2f);
  const auto data = toy_data();
  TrainConfig one = cfg();
  one.batch = 1;
  SftTrainer alone(model, data, one, pool), batched(model, data, cfg(), pool);
  double sum = 0;
  int64_t tokens = 0;
  for (const SftExample& e : data) {
    sum += alone.evaluate({e}) * 3.0;  // three trained targets per example
    tokens += 3;
  }
  EXPECT_NEAR(batched.evaluate(data), sum / tokens, 1e-5);
}

TEST(SftTrainer, TrainingLowersTheResponseLoss) {
  ThreadPool pool(2);
  models::CausalLm model(test::tiny_decoder("llama", 24, 16));
  model.init(3);
  const auto data = toy_data();
  SftTrainer tr(model, data, cfg(), pool);
  const float before = tr.evaluate(data);
  float last = 0;
  for (int s = 0; s < 60; ++s) last = tr.step().loss;
  const float after = tr.evaluate(data);
  EXPECT_LT(after, 0.3f * before) << "before " << before << " after " << after;
  std::printf("SFT response loss %.3f -> %.3f after 60 steps\n", before, after);
  EXPECT_TRUE(std::isfinite(last));
}

TEST(SftTrainer, RefusesExamplesThatDoNotFit) {
  ThreadPool pool(1);
  models::CausalLm model(test::tiny_decoder("llama", 24, 16));
  auto data = toy_data();
  data[3].ids.resize(12, 1);
  data[3].labels.resize(12, 1);
  EXPECT_THROW(SftTrainer(model, data, cfg(), pool), Error);
  data = toy_data();
  data[1].ids[1] = 99;
  EXPECT_THROW(SftTrainer(model, data, cfg(), pool), Error);
}

}  // namespace
}  // namespace loom::train
