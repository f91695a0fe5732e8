// Generator's logprobs: each generated token's log-probability and its alternatives equal an
// independent log-softmax (float64) of the logits one batched forward over prompt + generated
// tokens gives at that position; greedy tokens are the top alternative.
#include <gtest/gtest.h>

#include <cmath>

#include "generate/codec.h"
#include "generate/generator.h"
#include "models/model.h"
#include "test_util.h"

namespace loom::generate {
namespace {

TEST(GeneratorLogprobs, MatchIndependentLogSoftmax) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.gguf");
  auto model = models::load_model(dir + "stories260K.gguf");
  auto codec = load_codec(*model, "");
  ThreadPool pool(1);
  Generator gen(*model, *codec, pool);
  GenerateOptions opt;
  opt.max_new_tokens = 12;
  opt.logprobs = 3;
  opt.stop_at_eos = false;
  SamplerConfig sc;
  sc.temperature = 0;
  GenerateResult r = gen.generate("Once upon a time", opt, sc, auto_sampler_kind(sc));
  ASSERT_EQ(r.tokens.size(), 12u);
  ASSERT_EQ(r.logprobs.size(), 12u);

  std::vector<int32_t> all = r.prompt;
  all.insert(all.end(), r.tokens.begin(), r.tokens.end());
  models::Session s(*model);
  model->forward(s, pool, all.data(), static_cast<int64_t>(all.size()), true);
  const int64_t V = model->vocab_size();
  double worst = 0;
  for (size_t t = 0; t < r.tokens.size(); ++t) {
    const float* row = s.logits().data() + (r.prompt.size() - 1 + t) * V;
    double mx = row[0], sum = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
    for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
    const double lse = mx + std::log(sum);
    const TokenLogprobs& lp = r.logprobs[t];
    worst = std::max(worst, std::abs(lp.logprob - (row[r.tokens[t]] - lse)));
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].first, r.tokens[t]) << "greedy token is not the most likely, step " << t;
    for (size_t k = 0; k < lp.top.size(); ++k) {
      worst = std::max(worst, std::abs(lp.top[k].second - (row[lp.top[k].first] - lse)));
      if (k > 0) EXPECT_GE(lp.top[k - 1].second, lp.top[k].second);
    }
  }
  // Incremental decode vs one batched pass differ by float rounding only.
  EXPECT_LT(worst, 1e-4) << "worst log-probability error";
  std::printf("logprobs vs batched forward: worst |error| %.3g\n", worst);
}

}  // namespace
}  // namespace loom::generate
