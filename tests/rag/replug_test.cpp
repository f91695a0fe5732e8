// REPLUG's ensembled log-probabilities against tests/reference/rag/replug_golden.py (PyTorch,
// float64, the random-weight Llama): weights and every token within 1e-5.
#include "rag/replug.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::rag {
namespace {

TEST(Replug, EnsembledLogProbsMatchPyTorch) {
  const nlohmann::json g = test::load_golden_json("rag/replug.json");
  auto model = models::load_model(test::golden_path(g.at("model").get<std::string>()));
  ThreadPool pool(1);
  std::vector<ReplugDocument> docs;
  std::vector<double> scores;
  for (const auto& d : g.at("docs")) {
    docs.push_back({d.at("tokens").get<std::vector<int32_t>>(), d.at("score").get<double>()});
    scores.push_back(docs.back().score);
  }
  const auto context = g.at("context").get<std::vector<int32_t>>();
  const auto cont = g.at("continuation").get<std::vector<int32_t>>();
  for (const auto& c : g.at("cases")) {
    const double tau = c.at("tau").get<double>();
    SCOPED_TRACE(tau);
    const auto w = replug_weights(scores, tau);
    const auto want_w = c.at("weights").get<std::vector<double>>();
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], want_w[i], 1e-12);
    const auto got = replug_logprobs(*model, pool, docs, tau, context, cont);
    const auto want = c.at("logprobs").get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t t = 0; t < got.size(); ++t)
      EXPECT_NEAR(got[t], want[t], 1e-5 * std::max(1.0, std::fabs(want[t]))) << "token " << t;
  }
}

// One document: REPLUG is the LM on document + context.
TEST(Replug, OneDocumentIsThePlainLm) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<ReplugDocument> one = {{{1, 12, 40}, 3.0}};
  const std::vector<int32_t> context = {7, 9}, cont = {4, 30};
  const auto got = replug_logprobs(*model, pool, one, 1.0, context, cont);
  models::Session s(*model);
  const std::vector<int32_t> seq = {1, 12, 40, 7, 9, 4};
  model->forward(s, pool, seq.data(), 6, true);
  const int64_t V = model->vocab_size();
  for (int t = 0; t < 2; ++t) {
    const float* row = s.logits().data() + (4 + t) * V;
    double mx = *std::max_element(row, row + V), z = 0;
    for (int64_t i = 0; i < V; ++i) z += std::exp(row[i] - mx);
    EXPECT_NEAR(got[static_cast<size_t>(t)], row[cont[static_cast<size_t>(t)]] - mx - std::log(z),
                1e-9);
  }
}

TEST(Replug, BadInput) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<int32_t> cont = {4};
  EXPECT_THROW(replug_weights({}, 1.0), Error);
  EXPECT_THROW(replug_weights(std::vector<double>{1.0}, 0.0), Error);
  const std::vector<ReplugDocument> empty_doc = {{{}, 1.0}};
  EXPECT_THROW(replug_logprobs(*model, pool, empty_doc, 1.0, {}, cont), Error);
}

}  // namespace
}  // namespace loom::rag
