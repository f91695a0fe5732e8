// In-context RALM and REPLUG over a retriever: the stride layout, the document's truncation and
// the ensemble against a direct per-token computation with the same model; without documents the
// scores equal loom eval ppl's; on stories260K a corpus holding the scored story lowers its
// perplexity.
#include "rag/ralm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/mapped_file.h"
#include "eval/perplexity.h"
#include "generate/codec.h"
#include "rag/fixed_retriever.h"
#include "rag/token_logprob.h"
#include "test_util.h"

namespace loom::rag {
namespace {

std::vector<int32_t> pseudo_text(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 17 + 5 + (i * i) % 7) % vocab;
  return t;
}

// log p(target | seq) with the model run on seq alone.
double direct_logprob(const models::LanguageModel& m, ThreadPool& pool,
                      const std::vector<int32_t>& seq, int32_t target) {
  models::Session s(m);
  m.forward(s, pool, seq.data(), static_cast<int64_t>(seq.size()));
  return token_logprob(s.logits().data(), m.vocab_size(), target);
}

// Token t with window W, context C, stride s: its stride ends at e (s j + s, or the text's end),
// the text part starts at b = s j + s - C (or 0),
// each document is cut to W - (e - 1 - b) tokens and prepended to tokens [b, t).
double expected_logprob(const models::LanguageModel& m, ThreadPool& pool,
                        const std::vector<int32_t>& x, int64_t t, const RalmOptions& o,
                        const std::vector<ReplugDocument>& docs) {
  const int64_t grid_end = (t / o.stride + 1) * o.stride;
  const int64_t e = std::min<int64_t>(static_cast<int64_t>(x.size()), grid_end);
  const int64_t b = std::max<int64_t>(0, grid_end - o.context);
  const int64_t room = o.window - (e - 1 - b);
  std::vector<double> scores;
  for (const auto& d : docs) scores.push_back(d.score);
  const std::vector<double> w = replug_weights(scores, o.tau);
  double p = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    const auto keep = std::min<int64_t>(room, static_cast<int64_t>(docs[i].tokens.size()));
    std::vector<int32_t> seq(docs[i].tokens.begin(), docs[i].tokens.begin() + keep);
    seq.insert(seq.end(), x.begin() + b, x.begin() + t);
    p += w[i] * std::exp(direct_logprob(m, pool, seq, x[static_cast<size_t>(t)]));
  }
  return std::log(p);
}

TEST(Ralm, StrideLayoutTruncationAndEnsembleMatchADirectComputation) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<int32_t> x = pseudo_text(42, 61);
  const std::vector<ReplugDocument> docs = {{pseudo_text(20, 59), 2.0}, {pseudo_text(9, 13), 0.5}};
  FixedRetriever retriever(docs);
  for (int64_t k : {1, 2}) {
    SCOPED_TRACE(k);
    RalmOptions o;
    o.window = 24, o.context = 12, o.stride = 4, o.query_tokens = 5, o.k = k, o.tau = 0.7;
    retriever.queries.clear();
    const RalmScores r = score_with_retrieval(*model, pool, x, &retriever, o);
    ASSERT_EQ(r.scored(), 41);
    EXPECT_EQ(r.strides, 11);  // [1,4), [4,8), ..., [40,42)
    EXPECT_EQ(r.augmented, 11);
    const std::vector<ReplugDocument> used(docs.begin(), docs.begin() + k);
    for (int64_t t = 1; t < 42; ++t)
      EXPECT_NEAR(r.logprob[static_cast<size_t>(t - 1)],
                  expected_logprob(*model, pool, x, t, o, used), 1e-5)
          << "token " << t;
    // Stride j's query: the text's last 5 tokens before 4 j (only BOS-side tokens at the start).
    ASSERT_EQ(retriever.queries.size(), 11u);
    EXPECT_EQ(retriever.queries[0], std::vector<int32_t>(x.begin(), x.begin() + 1));
    EXPECT_EQ(retriever.queries[3], std::vector<int32_t>(x.begin() + 7, x.begin() + 12));
  }
}

// Without documents (no retriever, or one that finds nothing) the scores are loom eval ppl's
// with window = context and stride = s: the same count and the same sum to float32 rounding.
TEST(Ralm, WithoutDocumentsItIsPlainPerplexity) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<int32_t> x = pseudo_text(50, 61);
  RalmOptions o;
  o.window = 32, o.context = 16, o.stride = 4;
  const RalmScores none = score_with_retrieval(*model, pool, x, nullptr, o);
  FixedRetriever empty({});
  const RalmScores found_nothing = score_with_retrieval(*model, pool, x, &empty, o);
  const eval::PerplexityResult plain = eval::perplexity(*model, pool, x, {16, 4});
  ASSERT_EQ(none.scored(), plain.scored);
  EXPECT_EQ(none.logprob, found_nothing.logprob);
  EXPECT_EQ(found_nothing.augmented, 0);
  const double nll = -std::accumulate(none.logprob.begin(), none.logprob.end(), 0.0);
  // The same tokens with the same prefixes; only float32 rounding differs (eval runs a window
  // once for all its tokens, RALM once per stride): 1e-7 relative.
  EXPECT_NEAR(nll, plain.nll_sum, 1e-7 * plain.nll_sum);
  EXPECT_NEAR(none.perplexity(), plain.perplexity(), 1e-7 * plain.perplexity());
}

TEST(Ralm, BadOptions) {
  auto model = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  ThreadPool pool(1);
  const std::vector<int32_t> x = pseudo_text(20, 61);
  FixedRetriever r({{{1, 2}, 1.0}});
  auto run = [&](auto edit) {
    RalmOptions o;
    o.stride = 4;
    edit(o);
    return score_with_retrieval(*model, pool, x, &r, o);
  };
  EXPECT_THROW(run([](RalmOptions& o) { o.stride = 0; }), Error);
  EXPECT_THROW(run([](RalmOptions& o) { o.k = 0; }), Error);
  EXPECT_THROW(run([](RalmOptions& o) { o.tau = 0; }), Error);
  EXPECT_THROW(run([](RalmOptions& o) { o.window = 65; }), Error);
  EXPECT_THROW(run([](RalmOptions& o) { o.context = 4; }), Error);
  EXPECT_THROW(run([](RalmOptions& o) { o.query_tokens = 0; }), Error);
  EXPECT_THROW(score_with_retrieval(*model, pool, std::vector<int32_t>{1}, &r, {}), Error);
}

std::vector<std::string> tinystories() {
  const std::string text = read_file(test::data_path("corpora/tinystories/tinystories_sample.txt"));
  std::vector<std::string> stories;
  for (size_t b = 0; b < text.size();) {
    size_t e = text.find("<|endoftext|>", b);
    if (e == text.npos) e = text.size();
    std::string s = text.substr(b, e - b);
    s.erase(0, s.find_first_not_of(" \n"));
    s.erase(s.find_last_not_of(" \n") + 1);
    if (!s.empty()) stories.push_back(s);
    b = e + std::string("<|endoftext|>").size();
  }
  return stories;
}

// BM25 over the TinyStories sample's stories, the scored story among them: in-context RALM and
// REPLUG find it and copy from it.
TEST(Ralm, ACorpusHoldingTheAnswerLowersTheLoss) {
  // A measurement of the model's behaviour (34 s under ASan): the Release run makes it; the
  // sanitizer run checks the same code paths in Ralm.StrideLayoutTruncation...'s smaller cases.
  if (test::kSanitizerBuild) GTEST_SKIP() << "behaviour measured by the Release build";
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.bin");
  auto model = models::load_model(dir + "stories260K.bin");
  auto codec = generate::load_codec(*model, dir + "tok512.bin");
  const std::vector<std::string> stories = tinystories();
  ASSERT_GE(stories.size(), 4u);
  retrieval::Bm25Params bp;
  bp.analyzer.stopwords = true;
  Bm25DocRetriever retriever(stories, *codec, bp);
  const std::vector<int32_t> x = codec->encode(stories[2], true);
  ThreadPool pool(2);
  RalmOptions o;
  o.stride = 8, o.query_tokens = 16, o.context = 128;
  std::vector<std::string> others = stories;
  others.erase(others.begin() + 2);
  Bm25DocRetriever without_answer(others, *codec, bp);
  const RalmScores lm = score_with_retrieval(*model, pool, x, nullptr, o);
  const RalmScores ralm = score_with_retrieval(*model, pool, x, &retriever, o);
  const RalmScores ralm_other = score_with_retrieval(*model, pool, x, &without_answer, o);
  o.k = 3;
  const RalmScores replug = score_with_retrieval(*model, pool, x, &retriever, o);
  EXPECT_EQ(ralm.scored(), lm.scored());
  EXPECT_GT(ralm.augmented, ralm.strides / 2);
  EXPECT_LT(ralm.perplexity(), 0.98 * lm.perplexity());
  EXPECT_LT(ralm.perplexity(), 0.98 * ralm_other.perplexity());
  EXPECT_LT(replug.perplexity(), 0.98 * lm.perplexity());
  std::printf("LM %.4f  RALM %.4f (without the story %.4f)  REPLUG(k=3) %.4f  over %lld tokens\n",
              lm.perplexity(), ralm.perplexity(), ralm_other.perplexity(), replug.perplexity(),
              static_cast<long long>(lm.scored()));
}

}  // namespace
}  // namespace loom::rag
