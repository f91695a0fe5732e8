// Samplers, penalties, stop strings and beam search.
#include "generate/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "generate/generator.h"
#include "generate/stop.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::generate {
namespace {

std::vector<float> logits_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::vector<double> frequencies(SamplerConfig c, std::vector<double> probs, int draws) {
  Sampler s(c);
  std::vector<double> f(probs.size());
  for (int i = 0; i < draws; ++i) {
    auto l = logits_of(probs);
    f[static_cast<size_t>(s.sample(l, {}))] += 1.0 / draws;
  }
  return f;
}

TEST(Sampler, GreedyAndDegenerateSettingsPickTheArgmax) {
  std::vector<double> p = {0.1, 0.2, 0.4, 0.3};
  for (SamplerConfig c :
       {SamplerConfig{.temperature = 0}, SamplerConfig{.top_k = 1, .seed = 5},
        SamplerConfig{.top_p = 0.01f, .seed = 9}, SamplerConfig{.min_p = 0.99f, .seed = 1}}) {
    for (int i = 0; i < 20; ++i) {
      Sampler s(c);
      auto l = logits_of(p);
      EXPECT_EQ(s.sample(l, {}), 2);
    }
  }
}

TEST(Sampler, FrequenciesFollowTheFilteredDistribution) {
  const int n = 40000;
  auto f = frequencies({.seed = 1}, {0.5, 0.3, 0.2}, n);
  EXPECT_NEAR(f[0], 0.5, 0.015);
  EXPECT_NEAR(f[1], 0.3, 0.015);
  EXPECT_NEAR(f[2], 0.2, 0.015);
  f = frequencies({.top_k = 2, .seed = 2}, {0.5, 0.3, 0.2}, n);  // renormalised over {0, 1}
  EXPECT_NEAR(f[0], 0.625, 0.015);
  EXPECT_EQ(f[2], 0.0);
  f = frequencies({.top_p = 0.7f, .seed = 3}, {0.5, 0.3, 0.2}, n);  // 0.5 < 0.7 <= 0.8
  EXPECT_NEAR(f[0], 0.625, 0.015);
  EXPECT_EQ(f[2], 0.0);
  f = frequencies({.min_p = 0.5f, .seed = 4}, {0.5, 0.3, 0.2}, n);  // keeps p >= 0.25
  EXPECT_NEAR(f[1], 0.375, 0.015);
  EXPECT_EQ(f[2], 0.0);
  f = frequencies({.temperature = 2.0f, .seed = 5}, {0.8, 0.2}, n);  // sqrt: 2/3, 1/3
  EXPECT_NEAR(f[0], 2.0 / 3.0, 0.015);
}

TEST(Sampler, SameSeedSameDraws) {
  Sampler a({.seed = 42}), b({.seed = 42}), c({.seed = 43});
  int same_c = 0;
  for (int i = 0; i < 50; ++i) {
    auto l1 = logits_of({0.25, 0.25, 0.25, 0.25}), l2 = l1, l3 = l1;
    int x = a.sample(l1, {});
    EXPECT_EQ(x, b.sample(l2, {}));
    same_c += x == c.sample(l3, {});
  }
  EXPECT_LT(same_c, 40);
}

TEST(Sampler, Penalties) {
  std::vector<float> l = {2.0f, -2.0f, 1.0f, 0.5f};
  std::vector<int32_t> hist = {0, 1, 0, 3};
  apply_penalties(l, hist, {.repetition_penalty = 2.0f});
  EXPECT_FLOAT_EQ(l[0], 1.0f);   // positive: divided
  EXPECT_FLOAT_EQ(l[1], -4.0f);  // negative: multiplied
  EXPECT_FLOAT_EQ(l[2], 1.0f);   // absent: unchanged
  l = {2.0f, -2.0f, 1.0f, 0.5f};
  apply_penalties(l, hist, {.frequency_penalty = 0.5f, .presence_penalty = 0.25f});
  EXPECT_FLOAT_EQ(l[0], 2.0f - 1.0f - 0.25f);
  EXPECT_FLOAT_EQ(l[3], 0.5f - 0.5f - 0.25f);
  l = {2.0f, -2.0f, 1.0f, 0.5f};
  apply_penalties(l, hist, {.frequency_penalty = 1.0f, .penalty_last_n = 1});  // only token 3
  EXPECT_FLOAT_EQ(l[0], 2.0f);
  EXPECT_FLOAT_EQ(l[3], -0.5f);
}

// The processed distribution equals Hugging Face's logits processors and warpers (repetition
// penalty, temperature, top-k, top-p, min-p; frequency/presence penalties as OpenAI defines them)
// written in PyTorch (tests/reference/generate/logits_processors_golden.py): every token's
// probability to 1e-6, removed tokens exactly absent, over 11 settings on 64 fixed logits with a
// 40-token history (penalty_last_n = 0: Hugging Face penalises the whole history).
TEST(Sampler, DistributionMatchesHuggingFacesLogitsProcessors) {
  const nlohmann::json g = test::load_golden_json("generate/logits_processors.json");
  const auto logits0 = g["logits"].get<std::vector<float>>();
  const auto history = g["history"].get<std::vector<int32_t>>();
  for (const auto& c : g["cases"]) {
    const auto& k = c["config"];
    SamplerConfig sc{.temperature = k["temperature"].get<float>(),
                     .top_k = k.value("top_k", 0),
                     .top_p = k.value("top_p", 1.0f),
                     .min_p = k.value("min_p", 0.0f),
                     .repetition_penalty = k.value("repetition_penalty", 1.0f),
                     .frequency_penalty = k.value("frequency_penalty", 0.0f),
                     .presence_penalty = k.value("presence_penalty", 0.0f),
                     .penalty_last_n = 0};
    Sampler s(sc);
    auto logits = logits0;
    std::vector<double> got(logits.size(), 0.0);
    for (const auto& [p, id] : s.distribution(logits, history)) got[static_cast<size_t>(id)] = p;
    const auto want = c["probs"].get<std::vector<double>>();
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-6) << k.dump() << " token " << i;
      EXPECT_EQ(got[i] == 0.0, want[i] == 0.0) << k.dump() << " token " << i;
    }
  }
}

TEST(Llama2cSampler, TopPKeepsTheNucleusAndGreedyAtZero) {
  Llama2cSampler greedy(0.0f, 0.9f, 1);
  auto l = logits_of({0.1, 0.6, 0.3});
  EXPECT_EQ(greedy.sample(l), 1);
  // p = 0.5: the nucleus is {1} alone (0.6 > 0.5), so every draw is 1.
  Llama2cSampler s(1.0f, 0.5f, 133742);
  for (int i = 0; i < 100; ++i) {
    auto x = logits_of({0.1, 0.6, 0.3});
    EXPECT_EQ(s.sample(x), 1);
  }
  // p = 0.95: {1, 2, 0} all kept; the draw follows run.c's coin exactly.
  Llama2cSampler t(1.0f, 0.95f, 7);
  XorShiftRng rng(7);
  for (int i = 0; i < 100; ++i) {
    auto x = logits_of({0.1, 0.6, 0.3});
    float coin = rng.next_f32();
    // sorted (0.6, 0.3, 0.1) cum passes 0.95 only at the end: r = coin * 1.0
    int want = coin < 0.6f ? 1 : (coin < 0.9f ? 2 : 0);
    int got = t.sample(x);
    if (std::fabs(coin - 0.6f) > 1e-4f && std::fabs(coin - 0.9f) > 1e-4f)
      EXPECT_EQ(got, want) << coin;
  }
}

TEST(StopStrings, HoldsBackPartialMatchesAndCutsAtTheFirst) {
  StopStrings s({"\nUser:", "END"});
  std::string out;
  for (const char* piece : {"Hello", " wor", "ld\nUs", "er: more"}) out += s.push(piece);
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), "\nUser:");
  EXPECT_EQ(out, "Hello world");
  StopStrings t({"END"});
  EXPECT_EQ(t.push("aEN"), "a");
  EXPECT_EQ(t.push("x"), "ENx");
  EXPECT_EQ(t.push("E"), "");
  EXPECT_EQ(t.flush(), "E");
  EXPECT_FALSE(t.stopped());
  StopStrings none;
  EXPECT_EQ(none.push("abc"), "abc");
}

}  // namespace
}  // namespace loom::generate
