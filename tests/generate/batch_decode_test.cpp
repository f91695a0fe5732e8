// Batched decode against each sequence decoded alone (greedy, f32): stories260K (GQA, tied head,
// a hidden size that is no multiple of the SIMD width), the random Hugging Face Llama (GQA,
// untied head, RoPE scaling) and GPT-2 (learned positions, biases, fused QKV). Tokens and logits
// must be bit-identical: every projection row is the single-row decode kernel over the same
// grouping of weight rows (models/linear_rows.h, same pool size), attention the same per-head
// kernel, the elementwise kernels run row by row.
#include "generate/batch_decode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/rng.h"
#include "test_util.h"

namespace loom::generate {
namespace {

struct Alone {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // per generated token: the logits it was chosen from
};

// Greedy decode of one sequence by itself, one token per forward.
Alone decode_alone(const models::Model& m, ThreadPool& pool, const std::vector<int32_t>& prompt,
                   int64_t steps) {
  models::Session s(m);
  m.forward(s, pool, prompt.data(), static_cast<int64_t>(prompt.size()));
  Alone a;
  for (int64_t i = 0; i < steps; ++i) {
    a.logits.push_back(s.logits());
    a.tokens.push_back(argmax(s.logits()));
    if (i + 1 < steps) m.forward(s, pool, &a.tokens.back(), 1);
  }
  return a;
}

std::vector<int32_t> random_prompt(Rng& rng, int64_t n, int64_t vocab) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = static_cast<int32_t>(1 + rng.next_u64() % static_cast<uint64_t>(vocab - 1));
  return p;
}

std::string model_path(const std::string& which) {
  if (which == "stories260K") return test::data_path("models/stories260K/stories260K.gguf");
  return test::golden_path("models/infer_models/" + which);
}

// Sessions at different positions advanced by forward_batch: every row's logits against the
// same sequence's alone run, on the same pool.
void check_forward_batch(const std::string& which, std::vector<int64_t> lengths, int64_t steps) {
  SCOPED_TRACE(which);
  auto m = models::load_model(model_path(which));
  ThreadPool pool(2);
  Rng rng(7);
  const int64_t B = static_cast<int64_t>(lengths.size()), V = m->vocab_size();
  std::vector<std::vector<int32_t>> prompts;
  std::vector<Alone> alone;
  std::vector<std::unique_ptr<models::Session>> sessions;
  std::vector<models::Session*> ptrs;
  for (int64_t n : lengths) {
    prompts.push_back(random_prompt(rng, n, V));
    alone.push_back(decode_alone(*m, pool, prompts.back(), steps));
    sessions.push_back(std::make_unique<models::Session>(*m));
    m->forward(*sessions.back(), pool, prompts.back().data(), n);
    ptrs.push_back(sessions.back().get());
  }
  std::vector<float> logits(static_cast<size_t>(B * V));
  float worst = 0;
  for (int64_t step = 1; step < steps; ++step) {
    std::vector<int32_t> feed;
    for (const Alone& a : alone) feed.push_back(a.tokens[static_cast<size_t>(step - 1)]);
    m->forward_batch(ptrs.data(), B, pool, feed.data(), logits.data());
    for (int64_t b = 0; b < B; ++b) {
      const float* row = logits.data() + b * V;
      const std::vector<float>& want = alone[static_cast<size_t>(b)].logits[step];
      EXPECT_EQ(argmax({row, static_cast<size_t>(V)}), alone[b].tokens[step]) << b << " " << step;
      for (int64_t v = 0; v < V; ++v) worst = std::max(worst, std::fabs(row[v] - want[v]));
    }
  }
  EXPECT_EQ(worst, 0.0f);  // bit-identical
  EXPECT_EQ(ptrs[0]->position(), lengths[0] + steps - 1);
}

TEST(ForwardBatch, MatchesEachSequenceAloneStories260K) {
  LOOM_REQUIRE_DATA(model_path("stories260K"));
  check_forward_batch("stories260K", {1, 5, 17, 40, 3}, 24);
}

TEST(ForwardBatch, MatchesEachSequenceAloneLlamaAndGpt2) {
  check_forward_batch("llama_hf", {2, 9, 20}, 16);
  check_forward_batch("gpt2_hf", {1, 3, 6}, 8);  // context 16
}

// Quantised and half-precision weights take the same kernels per row: still bit-identical.
TEST(ForwardBatch, MatchesEachSequenceAloneQ8AndF16) {
  check_forward_batch("llama_q8_0.gguf", {2, 9, 20}, 12);
  check_forward_batch("llama_f16.gguf", {3, 11}, 12);
}

// B == 1 is exactly forward().
TEST(ForwardBatch, OneSequenceIsExactlyForward) {
  LOOM_REQUIRE_DATA(model_path("stories260K"));
  auto m = models::load_model(model_path("stories260K"));
  ThreadPool pool(2);
  models::Session a(*m), b(*m);
  const std::vector<int32_t> p = {1, 40, 77, 300};
  m->forward(a, pool, p.data(), 4);
  m->forward(b, pool, p.data(), 4);
  models::Session* one[] = {&b};
  std::vector<float> row(static_cast<size_t>(m->vocab_size()));
  const int32_t t = 99;
  m->forward(a, pool, &t, 1);
  m->forward_batch(one, 1, pool, &t, row.data());
  EXPECT_EQ(row, a.logits());
}

TEST(ForwardBatch, RejectsAFullSession) {
  auto m = models::load_model(model_path("gpt2_hf"));
  ThreadPool pool(1);
  models::Session s(*m, 4);
  const std::vector<int32_t> p = {1, 2, 3, 4};
  m->forward(s, pool, p.data(), 4);
  models::Session* one[] = {&s};
  std::vector<float> row(static_cast<size_t>(m->vocab_size()));
  EXPECT_NE(test::error_of([&] {
              m->forward_batch(one, 1, pool, p.data(), row.data());
            }).find("exceeds the context"),
            std::string::npos);
}

// The decoder with sequences joining, leaving and being cancelled mid-way: every sequence's
// tokens are its alone run's, up to its stop token or length.
TEST(BatchDecoder, SequencesJoiningAndLeavingDecodeAsAlone) {
  LOOM_REQUIRE_DATA(model_path("stories260K"));
  auto m = models::load_model(model_path("stories260K"));
  ThreadPool pool(2);
  Rng rng(11);
  BatchDecoder dec(*m, pool);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<Alone> alone;
  std::vector<SequenceId> ids;
  auto add = [&](int64_t len, int64_t max_new, std::vector<int32_t> stops = {}) {
    prompts.push_back(random_prompt(rng, len, m->vocab_size()));
    alone.push_back(decode_alone(*m, pool, prompts.back(), 30));
    SequenceRequest r{prompts.back(), {}, max_new, std::move(stops)};
    r.sampler.temperature = 0;
    ids.push_back(dec.add(r));
  };
  add(3, 30);
  add(12, 10);
  add(30, 30);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(dec.step().size(), 3u);
  add(1, 30);
  add(5, 30);
  dec.remove(ids[4]);                // cancelled before it ever ran
  add(7, 30, {alone[0].tokens[6]});  // another prompt; its stop token may or may not occur
  for (int i = 0; i < 8; ++i) dec.step();
  dec.remove(ids[2]);  // cancelled while live
  while (dec.live() > 0) dec.step();
  for (size_t k : {size_t{0}, size_t{1}, size_t{3}}) {
    const auto got = dec.tokens(ids[k]);
    const int64_t n = k == 1 ? 10 : 30;
    EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()),
              std::vector<int32_t>(alone[k].tokens.begin(), alone[k].tokens.begin() + n))
        << k;
    EXPECT_EQ(dec.finish_reason(ids[k]), FinishReason::Length);
  }
  const std::vector<int32_t>& a5 = alone[5].tokens;
  const int32_t stop = alone[0].tokens[6];
  const auto end = std::find(a5.begin(), a5.end(), stop);
  const auto got = dec.tokens(ids[5]);
  EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()),
            std::vector<int32_t>(a5.begin(), end == a5.end() ? end : end + 1));
  EXPECT_EQ(dec.finish_reason(ids[5]), end == a5.end() ? FinishReason::Length : FinishReason::Stop);
  EXPECT_NE(test::error_of([&] { dec.tokens(ids[2]); }).find("no sequence"), std::string::npos);
}

TEST(BatchDecoder, StopTokenEndsTheSequenceAndContextLimits) {
  auto m = models::load_model(model_path("llama_hf"));  // context 64
  ThreadPool pool(1);
  const std::vector<int32_t> p = {1, 5, 9};
  const Alone a = decode_alone(*m, pool, p, 8);
  BatchDecoder dec(*m, pool);
  SequenceRequest stop{p, {}, 50, {a.tokens[3]}};
  stop.sampler.temperature = 0;
  const SequenceId s = dec.add(stop);
  SequenceRequest ctx{std::vector<int32_t>(60, 4), {}, 100, {}};
  ctx.sampler.temperature = 0;
  const SequenceId c = dec.add(ctx);
  while (dec.live() > 0) dec.step();
  const int64_t first = std::find(a.tokens.begin(), a.tokens.end(), a.tokens[3]) - a.tokens.begin();
  EXPECT_EQ(dec.tokens(s).size(), static_cast<size_t>(first + 1));
  EXPECT_EQ(dec.finish_reason(s), FinishReason::Stop);
  EXPECT_EQ(dec.tokens(c).size(), 5u);  // positions 60..63, then the 5th sampled token
  EXPECT_EQ(dec.finish_reason(c), FinishReason::Context);
}

TEST(BatchDecoder, BadRequestsAreErrors) {
  auto m = models::load_model(model_path("llama_hf"));
  ThreadPool pool(1);
  BatchDecoder dec(*m, pool);
  auto err = [&](SequenceRequest r) { return test::error_of([&] { dec.add(r); }); };
  EXPECT_NE(err({{}, {}, 5, {}}).find("no tokens"), std::string::npos);
  EXPECT_NE(err({{1, 61}, {}, 5, {}}).find("prompt token 1: id 61 outside"), std::string::npos);
  EXPECT_NE(err({std::vector<int32_t>(64, 1), {}, 5, {}}).find("context"), std::string::npos);
  EXPECT_NE(err({{1}, {}, 0, {}}).find("max_new_tokens"), std::string::npos);
  EXPECT_NE(test::error_of([&] { dec.remove(42); }).find("no sequence 42"), std::string::npos);
}

}  // namespace
}  // namespace loom::generate
