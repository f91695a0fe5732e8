// prompt_logprobs (the server's echo): scoring prompt + generated tokens in one batched pass gives
// each generated token the log-probability and alternatives the step-by-step decoder recorded.
#include <gtest/gtest.h>

#include <cmath>

#include "generate/codec.h"
#include "generate/generator.h"
#include "models/model.h"
#include "test_util.h"

namespace loom::generate {
namespace {

TEST(PromptLogprobs, EqualTheDecodersForTheSameTokens) {
  const std::string path = test::data_path("models/stories260K/stories260K.gguf");
  LOOM_REQUIRE_DATA(path);
  auto model = models::load_model(path);
  auto codec = load_codec(*model, "");
  ThreadPool pool(1);
  Generator gen(*model, *codec, pool);
  GenerateOptions opt;
  opt.max_new_tokens = 10;
  opt.logprobs = 2;
  opt.stop_at_eos = false;
  SamplerConfig sc;
  sc.seed = 7;
  const GenerateResult r = gen.generate("The cat sat", opt, sc, auto_sampler_kind(sc));
  ASSERT_EQ(r.tokens.size(), 10u);
  std::vector<int32_t> all = r.prompt;
  all.insert(all.end(), r.tokens.begin(), r.tokens.end());
  const std::vector<TokenLogprobs> lp = prompt_logprobs(*model, pool, all, 2);
  ASSERT_EQ(lp.size(), all.size() - 1);
  for (size_t t = 0; t < r.tokens.size(); ++t) {
    const TokenLogprobs& batched = lp[r.prompt.size() - 1 + t];
    EXPECT_NEAR(batched.logprob, r.logprobs[t].logprob, 1e-4) << t;
    ASSERT_EQ(batched.top.size(), 2u);
    EXPECT_EQ(batched.top[0].first, r.logprobs[t].top[0].first) << t;
    EXPECT_NEAR(batched.top[0].second, r.logprobs[t].top[0].second, 1e-4) << t;
  }
  EXPECT_TRUE(prompt_logprobs(*model, pool, std::vector<int32_t>{1}, 2).empty());
}

}  // namespace
}  // namespace loom::generate
