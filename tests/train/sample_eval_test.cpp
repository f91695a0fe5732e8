// Sampled completions and their KL to a reference (train/sample_eval.h): seeded and repeatable,
// stopped at EOS, and the batched KL equal to the k1 estimator recomputed sample by sample.
#include "train/sample_eval.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tiny_decoder.h"

namespace loom::train {
namespace {

const std::vector<std::vector<int32_t>> kPrompts = {{1, 2, 3}, {4, 5}, {6}};

SampleEvalOptions options() {
  SampleEvalOptions o;
  o.samples_per_prompt = 3;
  o.max_new = 6;
  o.seed = 9;
  return o;
}

// Σ over the sample's tokens of log π(y_t) − log π_ref(y_t), the sequence run alone.
double kl_sum_alone(models::CausalLm& p, models::CausalLm& r, std::vector<int32_t> ids,
                    const std::vector<int32_t>& tokens, ThreadPool& pool) {
  const size_t start = ids.size();
  ids.insert(ids.end(), tokens.begin(), tokens.end());
  const int64_t T = static_cast<int64_t>(ids.size()), V = p.config().vocab_size;
  nn::Tape tp(pool), tr(pool);
  const float* lp = tp.data(p.logits(tp, ids.data(), 1, T));
  const float* lr = tr.data(r.logits(tr, ids.data(), 1, T));
  double sum = 0;
  for (size_t t = start; t < ids.size(); ++t)
    for (const auto& [logits, sign] : {std::pair{lp, 1.0}, std::pair{lr, -1.0}}) {
      const float* row = logits + (static_cast<int64_t>(t) - 1) * V;
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]));
      sum += sign * (static_cast<double>(row[ids[t]]) - std::log(z));
    }
  return sum;
}

TEST(SampleEval, SeededSamplesStopAtEosAndKlToItselfIsZero) {
  ThreadPool pool(2);
  models::CausalLm m(test::tiny_decoder("llama", 12, 16));
  m.init(3, 0.5f);
  // EOS: the first token the first sample draws, so at least that sample stops at once (the
  // first step draws every row in order, before any row has stopped).
  SampleEvalOptions o = options();
  o.eos = sample_completions(m, nullptr, kPrompts, o, pool).samples[0].tokens[0];
  const SampleEval a = sample_completions(m, &m, kPrompts, o, pool);
  const SampleEval b = sample_completions(m, nullptr, kPrompts, o, pool);
  ASSERT_EQ(a.samples.size(), 9u);
  int64_t tokens = 0, ended = 0;
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const SampledCompletion& s = a.samples[i];
    EXPECT_EQ(s.prompt, static_cast<int64_t>(i / 3));
    EXPECT_EQ(s.tokens, b.samples[i].tokens);  // the same seed draws the same tokens
    EXPECT_EQ(s.ended, !s.tokens.empty() && s.tokens.back() == o.eos);
    if (!s.ended) EXPECT_EQ(s.tokens.size(), 6u);
    for (size_t t = 0; t + 1 < s.tokens.size(); ++t) EXPECT_NE(s.tokens[t], o.eos);
    tokens += static_cast<int64_t>(s.tokens.size());
    ended += s.ended;
  }
  EXPECT_EQ(a.tokens, tokens);
  EXPECT_TRUE(a.samples[0].ended);
  EXPECT_EQ(a.samples[0].tokens.size(), 1u);
  EXPECT_LT(ended, 9);  // and the rest go on
  EXPECT_EQ(a.kl, 0.0);
  EXPECT_TRUE(std::isnan(b.kl));
}

TEST(SampleEval, BatchedKlEqualsTheEstimatorSampleBySample) {
  ThreadPool pool(2);
  models::CausalLm policy(test::tiny_decoder("gpt2", 12, 16)),
      ref(test::tiny_decoder("gpt2", 12, 16));
  policy.init(3, 0.5f);
  ref.init(4, 0.5f);
  const SampleEval e = sample_completions(policy, &ref, kPrompts, options(), pool);
  double sum = 0;
  for (const SampledCompletion& s : e.samples)
    sum += kl_sum_alone(policy, ref, kPrompts[static_cast<size_t>(s.prompt)], s.tokens, pool);
  EXPECT_NEAR(e.kl, sum / static_cast<double>(e.tokens), 1e-5);
  EXPECT_GT(std::fabs(e.kl), 1e-3);
}

}  // namespace
}  // namespace loom::train
