// The prefix cache: a prompt whose prefix is cached gives the logits and greedy tokens of a full
// prefill, reuses >= 90 % of a repeated 1,000-token prefix, reuses a shorter cached prefix of a
// longer prompt, and stays under its byte budget by evicting the least recently used blocks.
#include "generate/prefix_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/rng.h"
#include "generate/batch_decode.h"
#include "generate/sampler.h"
#include "io/tensor_map.h"
#include "test_util.h"

namespace loom::generate {
namespace {

// The random-weight test Llama (GQA, 2 layers) with its context raised to 2048 (RoPE needs no
// table, so the weights fit any context): room for a 1,000-token prefix.
std::shared_ptr<const models::Model> long_llama() {
  io::TensorMap m = io::read_gguf(test::golden_path("models/infer_models/llama.gguf"));
  m.set_meta("llama.context_length", io::MetaValue::of_uint(2048));
  return models::build_model(std::move(m));
}

std::vector<int32_t> random_ids(uint64_t seed, int64_t n, int64_t vocab) {
  Rng rng(seed);
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(vocab));
  return p;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST(PrefixCache, RepeatedPrefixIsReusedWithFullPrefillResults) {
  auto m = long_llama();
  ThreadPool pool(2);
  const auto prefix = random_ids(1, 1000, m->vocab_size());
  PrefixCache cache(*m, size_t{64} << 20, 64);
  models::Session s(*m);
  const auto first = concat(prefix, random_ids(2, 20, m->vocab_size()));
  cache.prefill(s, pool, first.data(), static_cast<int64_t>(first.size()));
  EXPECT_EQ(cache.stats().reused, 0);
  const auto second = concat(prefix, random_ids(3, 37, m->vocab_size()));
  const int64_t n = static_cast<int64_t>(second.size());
  cache.prefill(s, pool, second.data(), n);
  const int64_t reused = cache.stats().reused;
  EXPECT_GE(reused, 900);  // >= 90 % of the 1,000-token prefix skipped
  EXPECT_EQ(reused, 960);  // every whole block of the prefix: 15 x 64
  EXPECT_EQ(cache.stats().prefilled, static_cast<int64_t>(first.size()) + n - reused);
  models::Session full(*m);
  m->forward(full, pool, second.data(), n);
  EXPECT_LE(max_diff(s.logits(), full.logits()), 1e-5f);
  std::printf("cached vs full prefill: max |logit diff| %.3g\n",
              max_diff(s.logits(), full.logits()));
  // Decoding on from either session gives the same greedy tokens.
  for (int i = 0; i < 10; ++i) {
    const int32_t a = argmax(s.logits()), b = argmax(full.logits());
    ASSERT_EQ(a, b) << i;
    m->forward(s, pool, &a, 1);
    m->forward(full, pool, &b, 1);
  }
  EXPECT_LE(max_diff(s.logits(), full.logits()), 1e-5f);
}

TEST(PrefixCache, LongerPromptReusesAShorterCachedPrefix) {
  auto m = long_llama();
  ThreadPool pool(1);
  PrefixCache cache(*m, size_t{16} << 20, 16);
  const auto shorter = random_ids(4, 40, m->vocab_size());  // blocks [0,16), [16,32) stored
  models::Session s(*m);
  cache.prefill(s, pool, shorter.data(), 40);
  EXPECT_EQ(cache.stats().blocks, 2);
  const auto longer = concat(shorter, random_ids(5, 60, m->vocab_size()));
  EXPECT_EQ(cache.restore(s, longer.data(), 99), 32);
  EXPECT_EQ(s.position(), 32);
  // A prompt that differs in its first block reuses nothing.
  auto other = longer;
  other[3] = (other[3] + 1) % static_cast<int32_t>(m->vocab_size());
  EXPECT_EQ(cache.restore(s, other.data(), 99), 0);
  // A block-aligned prompt still runs its last token: at most n - 1 tokens are reused.
  const std::vector<int32_t> aligned(shorter.begin(), shorter.begin() + 32);
  cache.prefill(s, pool, aligned.data(), 32);
  EXPECT_EQ(cache.stats().reused, 16);
}

TEST(PrefixCache, EvictsLeastRecentlyUsedUnderItsBudget) {
  auto m = long_llama();
  ThreadPool pool(1);
  models::Session s(*m);
  const int64_t block = 16;
  const size_t per_block = sizeof(float) * static_cast<size_t>(s.kv_floats(block));
  // Room for five blocks' rows and ids (ids of a block hold its whole prefix: <= 48 tokens).
  PrefixCache cache(*m, 5 * per_block + 5 * 48 * sizeof(int32_t), block);
  const auto a = random_ids(6, 49, m->vocab_size()), b = random_ids(7, 49, m->vocab_size());
  cache.prefill(s, pool, a.data(), 49);  // 3 blocks of a
  cache.prefill(s, pool, b.data(), 49);  // 3 blocks of b: a's deepest block goes
  EXPECT_EQ(cache.stats().evictions, 1);
  EXPECT_LE(cache.stats().bytes, cache.max_bytes());
  EXPECT_EQ(cache.restore(s, a.data(), 48), 32);
  EXPECT_EQ(cache.restore(s, b.data(), 48), 48);
  const auto c = random_ids(8, 33, m->vocab_size());
  cache.prefill(s, pool, c.data(), 33);  // 2 blocks of c: evicts a's (least recently used)
  EXPECT_EQ(cache.restore(s, b.data(), 48), 48);
  EXPECT_EQ(cache.restore(s, a.data(), 48), 0);
  EXPECT_EQ(cache.restore(s, c.data(), 32), 32);
  EXPECT_EQ(cache.stats().blocks, 5);
}

// Sequences of the batch decoder prefilled through the cache decode as without it.
TEST(PrefixCache, BatchDecoderThroughTheCacheDecodesAsWithout) {
  auto m = long_llama();
  ThreadPool pool(2);
  const auto system = random_ids(9, 300, m->vocab_size());
  PrefixCache cache(*m, size_t{32} << 20, 32);
  std::vector<std::vector<int32_t>> with, without;
  for (PrefixCache* pc : {static_cast<PrefixCache*>(nullptr), &cache}) {
    BatchDecoder dec(*m, pool, {512, pc});
    std::vector<SequenceId> ids;
    for (uint64_t k = 0; k < 4; ++k) {
      SequenceRequest r{concat(system, random_ids(20 + k, 5 + 7 * k, m->vocab_size())), {}, 12, {}};
      r.sampler.temperature = 0;
      ids.push_back(dec.add(r));
      dec.step();
    }
    while (dec.live() > 0) dec.step();
    auto& out = pc ? with : without;
    for (SequenceId id : ids) out.emplace_back(dec.tokens(id).begin(), dec.tokens(id).end());
  }
  EXPECT_EQ(with, without);
  EXPECT_EQ(cache.stats().reused, 3 * 288);  // sequences 2..4 reuse the 9 whole blocks
}

TEST(PrefixCache, BadSettingsAreErrors) {
  auto m = long_llama();
  EXPECT_NE(test::error_of([&] { PrefixCache(*m, 1024, 0); }).find("block size"),
            std::string::npos);
  ThreadPool pool(1);
  PrefixCache cache(*m, 1024, 4);
  models::Session s(*m);
  EXPECT_NE(test::error_of([&] { cache.prefill(s, pool, nullptr, 0); }).find("no tokens"),
            std::string::npos);
}

}  // namespace
}  // namespace loom::generate
