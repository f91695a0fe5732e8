// Packing for SFT: examples laid greedily into rows, and a packed batch (block-diagonal causal
// mask, positions restarting per example) giving every example the loss and the gradients it has
// when run alone, for the Llama (RoPE) and GPT-2 (learned positions) layouts, all weights and LoRA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "core/rng.h"
#include "core/threads.h"
#include "tiny_decoder.h"
#include "train/sft_trainer.h"
#include "train/trainer.h"

namespace loom::train {
namespace {

// Examples of 3..9 tokens (each a prompt, masked, then a response), varied ids.
std::vector<SftExample> varied_data(int n) {
  std::vector<SftExample> out;
  for (int32_t k = 0; k < n; ++k) {
    SftExample e;
    const int32_t len = 3 + (k * 5) % 7, prompt = 1 + k % 2;
    for (int32_t i = 0; i < len; ++i) {
      e.ids.push_back(1 + (k * 7 + i * 3) % 23);
      e.labels.push_back(i < prompt ? kIgnoreLabel : e.ids.back());
    }
    e.line = k + 1;
    out.push_back(e);
  }
  return out;
}

// Two layers of tiny_decoder (Llama: grouped-query attention, 2 heads over 1 kv head).
models::DecoderConfig small(const std::string& arch) {
  models::DecoderConfig c = test::tiny_decoder(arch, 24, 16);
  c.n_layers = 2;
  return c;
}

nn::LoraConfig lora_of(const std::string& arch) {
  nn::LoraConfig l;
  l.rank = 2;
  l.alpha = 4;
  l.targets = arch == "llama" ? std::vector<std::string>{"q", "k", "v", "o", "down"}
                              : std::vector<std::string>{"qkv", "o", "fc"};
  return l;
}

TEST(SftPack, RowsAreFilledGreedilyInOrder) {
  const auto data = varied_data(6);  // lengths 3, 8, 6, 4, 9, 7
  const auto rows = pack_rows(data, {0, 1, 2, 3, 4, 5}, 16);
  EXPECT_EQ(rows, (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4, 5}}));
  EXPECT_EQ(pack_rows(data, {4, 0, 2, 1}, 16), (std::vector<std::vector<int64_t>>{{4, 0}, {2, 1}}));
}

TEST(SftPack, BatchLaysExamplesEndToEndWithSegments) {
  const auto data = varied_data(2);  // 3 tokens (1 masked) and 8 tokens (2 masked)
  std::vector<int32_t> ids(12), targets(12), segments(12);
  sft_packed_batch(data, {{0, 1}}, {0}, 12, 0, ids.data(), targets.data(), segments.data());
  const int32_t m = kIgnoreLabel;
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 4, 7, 8, 11, 14, 17, 20, 23, 3, 6, 0}));
  EXPECT_EQ(targets, (std::vector<int32_t>{4, 7, m, m, 14, 17, 20, 23, 3, 6, m, m}));
  EXPECT_EQ(segments, (std::vector<int32_t>{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, -1}));
}

struct PackCase {
  const char* name;
  std::string arch;
  bool lora;
};

class PackedEqualsAlone : public ::testing::TestWithParam<PackCase> {
 protected:
  void SetUp() override {
    const PackCase& c = GetParam();
    model_ = std::make_unique<models::CausalLm>(small(c.arch),
                                                c.lora ? lora_of(c.arch) : nn::LoraConfig{});
    model_->init(7, 0.3f);
    Rng rng(11);  // LoRA B starts at 0; give it values so the adapters' gradients are not trivial
    for (const models::LoraSite& s : model_->lora_sites()) {
      nn::Parameter& b = model_->params().get(s.b);
      for (int64_t i = 0; i < b.numel(); ++i) b.value.f32()[i] = 0.2f * (rng.uniform() - 0.5f);
    }
    data_ = varied_data(7);
    std::vector<int64_t> order(data_.size());
    std::iota(order.begin(), order.end(), 0);
    rows_ = pack_rows(data_, order, kSeq);
    pick_.resize(rows_.size());
    std::iota(pick_.begin(), pick_.end(), 0);
    const size_t n = rows_.size() * kSeq;
    ids_.resize(n);
    targets_.resize(n);
    segments_.resize(n);
    sft_packed_batch(data_, rows_, pick_, kSeq, 0, ids_.data(), targets_.data(), segments_.data());
  }

  // Example e alone, no padding: its mean loss; backward with seed `scale` when scale != 0.
  float alone(size_t e, float scale) {
    const std::vector<int32_t> t = shift_labels(data_[e].labels);
    nn::Tape tape(pool_);
    const models::TokenBatch in{
        .ids = data_[e].ids.data(), .batch = 1, .seq = static_cast<int64_t>(t.size())};
    const nn::Var loss = sft_loss(*model_, tape, in, t.data());
    if (scale != 0) tape.backward(loss, scale);
    return tape.data(loss)[0];
  }

  // The packed batch with only example e's targets kept (all of them when e < 0).
  float packed(int64_t e, bool with_segments, bool backward) {
    std::vector<int32_t> t = targets_;
    const int64_t first = static_cast<int64_t>(first_index(e));
    for (size_t i = 0; i < t.size(); ++i)
      if (e >= 0 && !in_example(i, first, data_[static_cast<size_t>(e)].ids.size()))
        t[i] = kIgnoreLabel;
    nn::Tape tape(pool_);
    const models::TokenBatch in{.ids = ids_.data(),
                                .batch = static_cast<int64_t>(rows_.size()),
                                .seq = kSeq,
                                .segments = with_segments ? segments_.data() : nullptr};
    const nn::Var loss = with_segments ? sft_loss(*model_, tape, in, t.data())
                                       : model_->loss(tape, in.ids, t.data(), in.batch, kSeq);
    if (backward) tape.backward(loss);
    return tape.data(loss)[0];
  }

  // Where example e starts in the packed batch.
  size_t first_index(int64_t e) const {
    for (size_t r = 0; r < rows_.size(); ++r) {
      size_t at = r * kSeq;
      for (int64_t x : rows_[r]) {
        if (x == e) return at;
        at += data_[static_cast<size_t>(x)].ids.size();
      }
    }
    return 0;
  }
  static bool in_example(size_t i, int64_t first, size_t len) {
    return static_cast<int64_t>(i) >= first &&
           static_cast<int64_t>(i) < first + static_cast<int64_t>(len);
  }

  std::vector<float> grads() const {
    const nn::ParamStore& p = model_->params();
    return std::vector<float>(p.grads(), p.grads() + p.numel());
  }

  static constexpr int64_t kSeq = 16;
  ThreadPool pool_{2};
  std::unique_ptr<models::CausalLm> model_;
  std::vector<SftExample> data_;
  std::vector<std::vector<int64_t>> rows_;
  std::vector<int64_t> pick_;
  std::vector<int32_t> ids_, targets_, segments_;
};

TEST_P(PackedEqualsAlone, PerExampleLossesAndGradients) {
  ASSERT_LT(rows_.size(), data_.size());  // some row holds two examples or more
  int differs_unmasked = 0;
  float worst_loss = 0;
  for (size_t e = 0; e < data_.size(); ++e) {
    const float a = alone(e, 0), p = packed(static_cast<int64_t>(e), true, false);
    EXPECT_NEAR(p, a, 1e-5) << "example " << e;
    worst_loss = std::max(worst_loss, std::fabs(p - a));
    // Without the segments an example after another in its row sees it: its loss changes.
    differs_unmasked += std::fabs(packed(static_cast<int64_t>(e), false, false) - a) > 1e-3f;
  }
  EXPECT_GT(differs_unmasked, 0);

  // The packed batch's mean loss over all trained tokens vs Σ_e (n_e / N) · the loss of e alone.
  std::vector<int64_t> trained(data_.size());
  int64_t total = 0;
  for (size_t e = 0; e < data_.size(); ++e) {
    const std::vector<int32_t> t = shift_labels(data_[e].labels);
    trained[e] = std::count_if(t.begin(), t.end(), [](int32_t x) { return x != kIgnoreLabel; });
    total += trained[e];
  }
  model_->params().zero_grad();
  packed(-1, true, true);
  const std::vector<float> g_packed = grads();
  model_->params().zero_grad();
  for (size_t e = 0; e < data_.size(); ++e)
    alone(e, static_cast<float>(trained[e]) / static_cast<float>(total));
  const std::vector<float> g_alone = grads();
  float worst = 0, largest = 0;
  for (size_t i = 0; i < g_alone.size(); ++i) {
    worst = std::max(worst, std::fabs(g_packed[i] - g_alone[i]));
    largest = std::max(largest, std::fabs(g_alone[i]));
  }
  EXPECT_LT(worst, 1e-5f) << "largest gradient " << largest;
  EXPECT_GT(largest, 1e-3f);
  std::printf("%s: %zu examples in %zu rows; max |loss diff| %.2e, max |grad diff| %.2e\n",
              GetParam().name, data_.size(), rows_.size(), worst_loss, worst);
}

INSTANTIATE_TEST_SUITE_P(Layouts, PackedEqualsAlone,
                         ::testing::Values(PackCase{"llama_full", "llama", false},
                                           PackCase{"llama_lora", "llama", true},
                                           PackCase{"gpt2_full", "gpt2", false},
                                           PackCase{"gpt2_lora", "gpt2", true}),
                         [](const auto& info) { return std::string(info.param.name); });

// A packed trainer covers the same examples in fewer rows, and training still lowers the loss.
TEST(SftPack, PackedTrainerLearns) {
  ThreadPool pool(2);
  models::CausalLm model(small("llama"));
  model.init(3);
  const auto data = varied_data(12);
  TrainConfig c;
  c.batch = 2;
  c.seq = 16;
  c.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 2, .total_steps = 40};
  SftTrainer packed(model, data, c, pool, true);
  EXPECT_LT(packed.sequences(), static_cast<int64_t>(data.size()));
  const float before = packed.evaluate(data);
  for (int s = 0; s < 40; ++s) packed.step();
  EXPECT_GT(packed.last_step_tokens(), 0);
  EXPECT_LT(packed.evaluate(data), 0.7f * before);
}

}  // namespace
}  // namespace loom::train
