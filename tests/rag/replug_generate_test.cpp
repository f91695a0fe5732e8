// REPLUG generation: the ensembled next-token distribution equals REPLUG's scoring of each token
// (first step and after a pushed token) within 1e-5, the float32 rounding between a last-row or
// one-token pass and replug_logprobs' all-rows pass; and with one document greedy decoding is loom
// generate's greedy decoding of document + prompt.
#include "rag/replug_generate.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "generate/codec.h"
#include "rag/fixed_retriever.h"
#include "test_util.h"

namespace loom::rag {
namespace {

TEST(ReplugGenerate, StepDistributionIsReplugScoring) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<ReplugDocument> docs = {{{1, 12, 40, 7}, 1.5}, {{1, 3}, 0.2}, {{1, 50, 9}, -1}};
  const std::vector<int32_t> prompt = {1, 22, 5, 17};
  const double tau = 0.8;
  ReplugEnsemble ens(*model, pool, docs, tau, prompt, 4);
  EXPECT_EQ(ens.documents(), 3u);
  const std::vector<double> first = ens.next_logprobs();
  ASSERT_EQ(first.size(), 61u);
  double total = 0;
  for (int32_t y = 0; y < 61; ++y) {
    const std::vector<int32_t> cont = {y};
    EXPECT_NEAR(first[static_cast<size_t>(y)],
                replug_logprobs(*model, pool, docs, tau, prompt, cont)[0], 1e-5)
        << "token " << y;
    total += std::exp(first[static_cast<size_t>(y)]);
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  ens.push(33);
  const std::vector<double> second = ens.next_logprobs();
  for (int32_t y : {0, 7, 33, 60}) {
    const std::vector<int32_t> cont = {33, y};
    EXPECT_NEAR(second[static_cast<size_t>(y)],
                replug_logprobs(*model, pool, docs, tau, prompt, cont)[1], 1e-5);
  }
  EXPECT_THROW(ReplugEnsemble(*model, pool, docs, tau, prompt, 62), Error);  // 4 + 62 - 1 > 64
  EXPECT_THROW(ReplugEnsemble(*model, pool, docs, 0.0, prompt, 4), Error);
}

TEST(ReplugGenerate, OneDocumentGreedyIsGreedyGenerationAfterTheDocument) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.bin");
  auto model = models::load_model(dir + "stories260K.bin");
  auto codec = generate::load_codec(*model, dir + "tok512.bin");
  ThreadPool pool(1);
  const std::vector<int32_t> doc = codec->encode("Lily had a red ball. She liked to play.", true);
  const std::vector<int32_t> prompt = codec->encode("Once upon a time, Lily", true);
  FixedRetriever retriever({{doc, 3.0}});
  ReplugGenerateOptions o;
  o.max_new_tokens = 24;
  o.k = 1;
  o.query_tokens = 3;
  generate::SamplerConfig greedy;
  greedy.temperature = 0;
  const ReplugGeneration g = replug_generate(*model, *codec, pool, retriever, prompt, o, greedy,
                                             generate::SamplerKind::Standard);
  ASSERT_EQ(retriever.queries.size(), 1u);
  EXPECT_EQ(retriever.queries[0], std::vector<int32_t>(prompt.end() - 3, prompt.end()));
  EXPECT_EQ(g.documents, 1u);
  std::vector<int32_t> both = doc;
  both.insert(both.end(), prompt.begin(), prompt.end());
  generate::Generator gen(*model, *codec, pool);
  generate::GenerateOptions go;
  go.steps = 0;
  go.max_new_tokens = 24;
  const generate::GenerateResult want =
      gen.generate_ids(both, go, greedy, generate::SamplerKind::Standard);
  EXPECT_EQ(g.tokens, want.tokens);
  EXPECT_EQ(g.text, want.text);
  EXPECT_FALSE(g.tokens.empty());
}

}  // namespace
}  // namespace loom::rag
