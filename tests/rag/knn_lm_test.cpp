// kNN-LM against tests/reference/rag/knn_lm_golden.py (PyTorch, float64) on a fixed tiny case,
// and its effect on stories260K: memorising a text lowers the text's perplexity.
#include "rag/knn_lm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/mapped_file.h"
#include "generate/codec.h"
#include "golden_json.h"
#include "index/flat_index.h"
#include "test_util.h"

namespace loom::rag {
namespace {

TEST(KnnLm, DistributionAndInterpolationMatchPyTorch) {
  const nlohmann::json g = test::load_golden_json("rag/knn_lm.json");
  const auto keys = g.at("keys").get<std::vector<float>>();
  const auto queries = g.at("queries").get<std::vector<float>>();
  const auto logits = g.at("logits").get<std::vector<double>>();
  const int64_t V = g.at("vocab").get<int64_t>(), k = g.at("k").get<int64_t>();
  const float T = g.at("temperature").get<float>();
  KnnDatastore ds;
  ds.dim = static_cast<int64_t>(queries.size() / g.at("cases").size());
  ds.keys = keys;
  ds.values = g.at("values").get<std::vector<int32_t>>();
  ThreadPool pool(1);
  auto idx = index_datastore(ds, "flat", pool);
  const auto& cases = g.at("cases");
  const index::SearchResults r = idx->search(queries.data(), static_cast<int64_t>(cases.size()), k);
  for (size_t q = 0; q < cases.size(); ++q) {
    SCOPED_TRACE(q);
    const auto& c = cases[q];
    const std::span<const uint64_t> ids(r.ids.data() + q * k, static_cast<size_t>(k));
    for (size_t i = 0; i < ids.size(); ++i)
      EXPECT_EQ(ids[i], c.at("neighbours")[i].get<uint64_t>()) << "neighbour " << i;
    const int32_t y = c.at("target").get<int32_t>();
    const double p =
        knn_probability(ids, {r.distances.data() + q * k, static_cast<size_t>(k)}, ds, y, T);
    EXPECT_NEAR(p, c.at("p_knn").get<double>(), 1e-5);
    double mx = -INFINITY, z = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, logits[q * V + v]);
    for (int64_t v = 0; v < V; ++v) z += std::exp(logits[q * V + v] - mx);
    const double lm = logits[q * V + y] - mx - std::log(z);
    for (const auto& [lambda, want] : c.at("logprob").items()) {
      const double got = interpolated_logprob(lm, p, std::stod(lambda));
      if (want.is_null())  // log 0
        EXPECT_TRUE(std::isinf(got) && got < 0) << "lambda " << lambda;
      else
        EXPECT_NEAR(got, want.get<double>(), 1e-5) << "lambda " << lambda;
    }
  }
}

// A datastore built from a text knows what follows each of its contexts: on that text, kNN-LM
// gives a lower perplexity than the LM alone and the chosen lambda is above 0.
TEST(KnnLm, MemorisingATextLowersItsPerplexity) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.bin");
  auto model = models::load_model(dir + "stories260K.bin");
  auto codec = generate::load_codec(*model, dir + "tok512.bin");
  const std::string text = read_file(test::data_path("corpora/tinystories/tinystories_sample.txt"));
  const std::vector<int32_t> tokens = codec->encode(text.substr(0, 1500), true);
  ThreadPool pool(2);
  const KnnDatastore ds = build_datastore(*model, pool, tokens, 128);
  EXPECT_EQ(ds.size(), static_cast<int64_t>(tokens.size()) - 1);
  for (const char* kind : {"flat", "hnsw"}) {
    SCOPED_TRACE(kind);
    auto idx = index_datastore(ds, kind, pool);
    const KnnScores s = score_text(*model, pool, tokens, 128, *idx, ds, {16, 10.0f, 0});
    ASSERT_EQ(s.lm_logprob.size(), tokens.size() - 1);
    const double lambda = best_lambda(s);
    EXPECT_GT(lambda, 0.0);
    EXPECT_LT(s.perplexity(lambda), 0.9 * s.perplexity(0));
  }
}

TEST(KnnLm, BadInput) {
  KnnDatastore ds;
  EXPECT_THROW(
      build_datastore(*models::load_model(test::golden_path("models/infer_models/llama_hf")),
                      *std::make_unique<ThreadPool>(1), std::vector<int32_t>{1}, 0),
      Error);
  EXPECT_DOUBLE_EQ(interpolated_logprob(std::log(0.5), 0.0, 0.0), std::log(0.5));
  EXPECT_DOUBLE_EQ(interpolated_logprob(std::log(0.5), 1.0, 0.5), std::log(0.75));
}

}  // namespace
}  // namespace loom::rag
