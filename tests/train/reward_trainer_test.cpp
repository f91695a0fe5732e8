// Reward model: the scoring head read at each sequence's last token and the Bradley–Terry loss
// on right-padded batches equal PyTorch (tests/reference/train/reward_model_golden.py: each
// sequence run alone, float64) for the loss, the rewards and every gradient, head and model;
// training separates a toy preference; a language model's weights load without a head.
#include "train/reward_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "models/hf.h"
#include "tiny_decoder.h"

namespace loom::train {
namespace {

struct Case {
  const char* stem;
  std::string arch;
};

class RewardGolden : public ::testing::TestWithParam<Case> {};

// The golden's k sequences ("chosen", "rejected"), unpadded.
std::vector<std::vector<int32_t>> golden_seqs(const test::Golden& g, const std::string& k) {
  std::vector<std::vector<int32_t>> out;
  const auto& ids = g.at(k + ".ids");
  size_t off = 0;
  for (float len : g.at(k + ".lens")) {
    out.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(off),
                     ids.begin() + static_cast<std::ptrdiff_t>(off + static_cast<size_t>(len)));
    off += static_cast<size_t>(len);
  }
  return out;
}

TEST_P(RewardGolden, LossRewardsAndEveryGradientEqualTorch) {
  const test::Golden g = test::load_golden("train", GetParam().stem);
  models::CausalLm model(test::golden_decoder(g, GetParam().arch), {}, 1);
  for (auto& p : model.params().params()) {
    const auto& v = g.at("param." + p->name);
    ASSERT_EQ(static_cast<int64_t>(v.size()), p->numel()) << p->name;
    std::memcpy(p->value.data(), v.data(), v.size() * 4);
  }
  const auto chosen = golden_seqs(g, "chosen"), rejected = golden_seqs(g, "rejected");
  std::vector<PreferenceExample> pairs(chosen.size());
  for (size_t k = 0; k < pairs.size(); ++k) {
    pairs[k].chosen.ids = chosen[k];
    pairs[k].rejected.ids = rejected[k];
  }
  TrainConfig cfg;
  cfg.batch = static_cast<int64_t>(pairs.size());
  cfg.seq = 16;  // longer than every sequence: right padding the reference does not have
  ThreadPool pool(2);
  RewardTrainer tr(model, pairs, cfg, pool);
  model.params().zero_grad();
  RewardStats st;
  const float loss = tr.compute_gradients(pairs, {0, 1, 2, 3}, 1.0f, &st);
  const float want = g.at("loss")[0];
  EXPECT_NEAR(loss, want, 1e-5);
  EXPECT_NEAR(st.loss / 4, want, 1e-5);  // the metric loss (a sum over the 4 pairs here)
  double worst = 0;
  for (auto& p : model.params().params()) {
    // Relative to the tensor's largest gradient, and to 1 for a gradient that is zero in exact
    // arithmetic (GPT-2's ln_f.bias: chosen and rejected add +w and -w), where only rounding is
    // left on either side.
    const auto& want_g = g.at("grad." + p->name);
    double diff = 0, scale = 1;
    for (size_t k = 0; k < want_g.size(); ++k) {
      diff = std::max(diff, std::fabs(static_cast<double>(p->grad.f32()[k]) - want_g[k]));
      scale = std::max(scale, std::fabs(static_cast<double>(want_g[k])));
    }
    const double e = std::min(test::rel_err(p->grad.f32(), want_g), diff / scale);
    EXPECT_LE(e, 1e-5) << p->name;
    worst = std::max(worst, e);
  }
  const auto& gs = g.at("grad.score.weight");
  double head_max = 0;
  for (float x : gs) head_max = std::max(head_max, static_cast<double>(std::fabs(x)));
  EXPECT_GT(head_max, 1e-3);  // the head really carries gradient
  std::printf("%s: loss %.7f (torch %.7f), worst gradient error %.2e (score head |g| %.3f)\n",
              GetParam().stem, loss, want, worst, head_max);
}

INSTANTIATE_TEST_SUITE_P(Models, RewardGolden,
                         ::testing::Values(Case{"reward_llama", "llama"},
                                           Case{"reward_gpt2", "gpt2"}),
                         [](const auto& info) { return std::string(info.param.stem).substr(7); });

TEST(RewardTrainer, LearnsAToyPreferenceAndNeedsAHead) {
  ThreadPool pool(2);
  models::CausalLm model(test::tiny_decoder("llama", 16, 8), {}, 1);
  model.init(3, 0.1f);
  std::vector<PreferenceExample> pairs;
  for (int32_t q = 1; q <= 4; ++q) {  // chosen ends in q+5, rejected in q+10
    PreferenceExample p;
    p.chosen.ids = {1, q, q + 5};
    p.rejected.ids = {1, q, q + 10, q + 10};
    pairs.push_back(p);
  }
  TrainConfig cfg;
  cfg.batch = 2;
  cfg.seq = 8;
  cfg.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 1, .total_steps = 20};
  RewardTrainer tr(model, pairs, cfg, pool);
  const RewardStats before = tr.evaluate(pairs);
  for (int s = 0; s < 20; ++s) tr.step();
  const RewardStats after = tr.evaluate(pairs);
  EXPECT_EQ(after.accuracy, 1.0f);
  EXPECT_LT(after.loss, before.loss);
  std::printf("reward toy: accuracy %.2f -> %.2f, loss %.3f -> %.3f, margin %.3f\n",
              before.accuracy, after.accuracy, before.loss, after.loss, after.margin);
  models::CausalLm lm(test::tiny_decoder("llama", 16, 8));
  EXPECT_THROW(RewardTrainer(lm, pairs, cfg, pool), Error);
}

}  // namespace
}  // namespace loom::train
