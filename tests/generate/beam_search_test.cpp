// Beam search against tests/reference/generate/beam_search_golden.py, a re-implementation of
// Hugging Face's beam search run on the same random-weight Llama in float64: token ids exact,
// scores to 1e-5 relative (Loom's logits are float32).
#include "generate/beam_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::generate {
namespace {

BeamSearchOptions options_of(const nlohmann::json& c) {
  BeamSearchOptions o;
  o.num_beams = c.at("num_beams").get<int>();
  o.max_new_tokens = c.at("max_new_tokens").get<int64_t>();
  o.length_penalty = c.value("length_penalty", 1.0f);
  o.early_stopping = parse_early_stopping(c.at("early_stopping").get<std::string>());
  o.no_repeat_ngram_size = c.value("no_repeat_ngram_size", 0);
  o.min_new_tokens = c.value("min_new_tokens", int64_t{0});
  o.num_return_sequences = c.value("num_return_sequences", 1);
  return o;
}

TEST(BeamSearch, MatchesHuggingFaceSemantics) {
  const nlohmann::json g = test::load_golden_json("generate/beam_search.json");
  auto model = models::load_model(test::golden_path(g.at("model").get<std::string>()));
  ThreadPool pool(1);
  int finished_early = 0;
  for (const auto& c : g.at("cases")) {
    SCOPED_TRACE(c.dump());
    const auto prompt = c.at("prompt").get<std::vector<int32_t>>();
    const std::vector<int32_t> eos = {c.at("eos").get<int32_t>()};
    const std::vector<Hypothesis> got = beam_search(*model, pool, prompt, eos, options_of(c));
    const auto& want = c.at("results");
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].tokens, want[i].at("tokens").get<std::vector<int32_t>>()) << "rank " << i;
      EXPECT_EQ(got[i].finished, want[i].at("finished").get<bool>()) << "rank " << i;
      const double score = want[i].at("score").get<double>();
      const double sum = want[i].at("sum_logprobs").get<double>();
      EXPECT_NEAR(got[i].score, score, 1e-5 * std::max(1.0, std::fabs(score))) << "rank " << i;
      EXPECT_NEAR(got[i].sum_logprobs, sum, 1e-5 * std::max(1.0, std::fabs(sum))) << "rank " << i;
      finished_early += got[i].finished;
    }
  }
  EXPECT_GE(finished_early, 5);  // the golden exercises EOS, not only max length
}

// The options change the result where the golden says they should (a guard that the cases
// above tell the settings apart).
TEST(BeamSearch, GoldenCasesTellTheOptionsApart) {
  const nlohmann::json g = test::load_golden_json("generate/beam_search.json");
  std::vector<std::vector<int32_t>> by_penalty, by_stopping;
  for (const auto& c : g.at("cases")) {
    const auto best = c.at("results")[0].at("tokens").get<std::vector<int32_t>>();
    if (c.at("prompt").size() == 3) by_penalty.push_back(best);
    if (c.at("prompt").size() == 4) by_stopping.push_back(best);
  }
  ASSERT_EQ(by_penalty.size(), 4u);
  EXPECT_NE(by_penalty[0], by_penalty[1]);
  EXPECT_NE(by_penalty[0], by_penalty[2]);
  ASSERT_EQ(by_stopping.size(), 4u);
  EXPECT_NE(by_stopping[0], by_stopping[1]);  // true vs false
  EXPECT_NE(by_stopping[2], by_stopping[3]);  // false vs never
}

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(BeamSearch, OneBeamIsGreedyAndScoresAreLogProbs) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<int32_t> prompt = {1, 5, 9};
  BeamSearchOptions o;
  o.num_beams = 1;
  o.max_new_tokens = 12;
  o.length_penalty = 0;
  auto one = beam_search(*model, pool, prompt, {}, o);
  ASSERT_EQ(one.size(), 1u);
  models::Session s(*model);
  model->forward(s, pool, prompt.data(), 3);
  std::vector<int32_t> greedy;
  double lp = 0;
  for (int i = 0; i < 12; ++i) {
    const auto& l = s.logits();
    int32_t t = argmax(l);
    double mx = l[static_cast<size_t>(t)], z = 0;
    for (float v : l) z += std::exp(v - mx);
    lp -= std::log(z);
    greedy.push_back(t);
    model->forward(s, pool, &t, 1);
  }
  EXPECT_EQ(one[0].tokens, greedy);
  EXPECT_NEAR(one[0].sum_logprobs, lp, 1e-4);
  EXPECT_EQ(one[0].score, one[0].sum_logprobs);  // length_penalty 0
  o.num_beams = 4;
  o.num_return_sequences = 4;
  auto four = beam_search(*model, pool, prompt, {}, o);
  ASSERT_EQ(four.size(), 4u);
  for (size_t i = 1; i < four.size(); ++i) EXPECT_GE(four[i - 1].score, four[i].score);
  EXPECT_GE(four[0].sum_logprobs, one[0].sum_logprobs - 1e-9);
}

TEST(BeamSearch, BadOptionsAreErrors) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<int32_t> prompt = {1, 5};
  auto fails = [&](BeamSearchOptions o, std::vector<int32_t> eos, const char* what) {
    try {
      beam_search(*model, pool, prompt, eos, o);
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  BeamSearchOptions o;
  fails(o, {61}, "outside the vocabulary");
  o.num_return_sequences = 5;
  fails(o, {2}, "num_return_sequences");
  o = {};
  o.max_new_tokens = 64;
  fails(o, {2}, "exceed the context");
  o = {};
  o.min_new_tokens = -1;
  fails(o, {2}, "min_new_tokens");
  EXPECT_THROW(parse_early_stopping("maybe"), Error);
}

}  // namespace
}  // namespace loom::generate
