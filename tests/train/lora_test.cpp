// LoRA and the training modes: forward/backward against a PyTorch golden
// (tests/reference/train/train_lora_golden.py), merged saves, and frozen rows that never change.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "models/model.h"
#include "models/causal_lm.h"
#include "golden_tensors.h"
#include "test_util.h"
#include "models/hf.h"
#include "train/train_mode.h"
#include "train/trainer.h"

namespace loom::train {
namespace {

using models::CausalLm;

// A model config with the LoRA settings beside it, and a CausalLm built from the pair.
struct DecoderConfig : models::DecoderConfig {
  nn::LoraConfig lora;
};
struct TestLm : CausalLm {
  explicit TestLm(const DecoderConfig& c) : CausalLm(c, c.lora) {}
};
using nn::Tape;
using nn::Var;

using test::Golden;
using test::load_golden;

DecoderConfig config_of(const Golden& g, std::string arch, bool with_lora) {
  DecoderConfig c;
  c.arch = arch;
  auto i = [&](const char* k) { return std::stoll(g.config.at(k)); };
  c.vocab_size = i("vocab");
  c.dim = i("d");
  c.n_layers = i("layers");
  c.n_heads = i("heads");
  c.hidden_dim = i("ff");
  c.norm_eps = std::stof(g.config.at("eps"));
  if (arch == "gpt2") {
    c.context_length = i("max_seq");
    c.n_kv_heads = c.n_heads;
  } else {
    c.context_length = 64;
    c.n_kv_heads = i("kv_heads");
    c.rope.theta = std::stof(g.config.at("theta"));
  }
  if (with_lora) {
    c.lora.rank = i("rank");
    c.lora.alpha = std::stof(g.config.at("alpha"));
    c.lora.targets = arch == "llama"
                         ? std::vector<std::string>{"q", "k", "v", "o", "gate", "up", "down"}
                         : std::vector<std::string>{"qkv", "o", "fc", "down"};
  }
  return c;
}

void load_params(CausalLm& m, const Golden& g) {
  for (const auto& p : m.params().params()) {
    const std::vector<float>& v = g.at("param." + p->name);
    ASSERT_EQ(static_cast<int64_t>(v.size()), p->numel()) << p->name;
    std::copy(v.begin(), v.end(), p->value.f32());
  }
}

double rel_err(const float* a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

std::vector<int32_t> ids_of(const std::vector<float>& v) {
  std::vector<int32_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<int32_t>(v[i]);
  return out;
}

struct Case {
  const char* stem;
  std::string arch;
  const char* embedding;
};

class LoraGolden : public ::testing::TestWithParam<Case> {};

// Loss and the gradients of every A, B (and of the token embedding, through the adapters) within
// 2e-6 relative of PyTorch (float64), base weights frozen.
TEST_P(LoraGolden, LossAndGradientsMatchPyTorch) {
  const Golden g = load_golden("train", GetParam().stem);
  TestLm m(config_of(g, GetParam().arch, true));
  load_params(m, g);
  for (const auto& p : m.params().params())
    p->trainable = m.is_lora_param(p->name) || p->name == GetParam().embedding;
  const auto ids = ids_of(g.at("ids")), targets = ids_of(g.at("targets"));
  const int64_t B = 2, T = static_cast<int64_t>(ids.size()) / 2;
  ThreadPool pool(2);
  Tape t(pool);
  m.params().zero_grad();
  Var loss = m.loss(t, ids.data(), targets.data(), B, T);
  t.backward(loss);
  const float want = g.at("loss")[0];
  EXPECT_NEAR(t.data(loss)[0], want, 1e-6 * std::fabs(want));
  double worst = 0;
  int checked = 0;
  for (const auto& p : m.params().params()) {
    if (!p->trainable) continue;
    const double e = rel_err(p->grad.f32(), g.at("grad." + p->name));
    EXPECT_LT(e, 2e-6) << p->name;  // measured 6.9e-7 (Llama), 6.4e-7 (GPT-2) vs float64
    worst = std::max(worst, e);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(m.lora_sites().size()) * 2 + 1);
  std::printf("%s LoRA: loss %.7f (torch %.7f), worst gradient error %.2e over %d tensors\n",
              GetParam().stem, t.data(loss)[0], want, worst, checked);
}

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "loom_lora_" + name;
  ::mkdir(d.c_str(), 0755);
  return d;
}

// A LoRA model saved merged (HF directory) gives the logits of the unmerged model, through our
// trainable model and through the inference engine (`loom generate`'s loader).
TEST_P(LoraGolden, MergedSaveGivesTheSameLogits) {
  const Golden g = load_golden("train", GetParam().stem);
  TestLm m(config_of(g, GetParam().arch, true));
  load_params(m, g);
  const auto ids = ids_of(g.at("ids"));
  const int64_t T = static_cast<int64_t>(ids.size()) / 2;
  ThreadPool pool(2);
  Tape t(pool);
  t.set_grad_enabled(false);
  Var lg = m.logits(t, ids.data(), 1, T);
  const int64_t V = m.config().vocab_size;
  std::vector<float> want(t.data(lg), t.data(lg) + T * V);

  const std::string dir = temp_dir(GetParam().stem);
  models::save_hf_model(m, dir, nlohmann::ordered_json::object());
  models::HfModel hf = models::read_hf_model(dir);
  EXPECT_EQ(hf.config.vocab_size, V);
  EXPECT_FALSE(hf.tensors.has(m.lora_sites()[0].a));
  CausalLm merged(hf.config);
  models::load_hf_weights(merged, hf.tensors);
  Tape t2(pool);
  t2.set_grad_enabled(false);
  Var lg2 = merged.logits(t2, ids.data(), 1, T);
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < T * V; ++i) {
    worst = std::max(
        worst, static_cast<double>(std::fabs(t2.data(lg2)[i] - want[static_cast<size_t>(i)])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[static_cast<size_t>(i)])));
  }
  EXPECT_LT(worst, 1e-5 * std::max(1.0, scale));
  // The LoRA update is not negligible: the base model's logits differ.
  for (const models::LoraSite& s : m.lora_sites())
    std::fill(m.params().get(s.b).value.f32(),
              m.params().get(s.b).value.f32() + m.params().get(s.b).numel(), 0.0f);
  Tape t3(pool);
  t3.set_grad_enabled(false);
  Var lg3 = m.logits(t3, ids.data(), 1, T);
  double base_diff = 0;
  for (int64_t i = 0; i < T * V; ++i)
    base_diff = std::max(
        base_diff, static_cast<double>(std::fabs(t3.data(lg3)[i] - want[static_cast<size_t>(i)])));
  EXPECT_GT(base_diff, 1e-3);

  auto inf = models::load_model(dir);
  models::Session s(*inf);
  inf->forward(s, pool, ids.data(), T, true);
  double worst_inf = 0;
  for (int64_t i = 0; i < T * V; ++i)
    worst_inf =
        std::max(worst_inf, static_cast<double>(std::fabs(s.logits()[static_cast<size_t>(i)] -
                                                          want[static_cast<size_t>(i)])));
  EXPECT_LT(worst_inf, 1e-4 * std::max(1.0, scale));
  std::printf("%s merged save: max logit difference %.2e (trainer), %.2e (inference); base %.2e\n",
              GetParam().stem, worst, worst_inf, base_diff);
}

INSTANTIATE_TEST_SUITE_P(Archs, LoraGolden,
                         ::testing::Values(Case{"lora_llama", "llama",
                                                "model.embed_tokens.weight"},
                                           Case{"lora_gpt2", "gpt2", "transformer.wte.weight"}),
                         [](const auto& info) { return std::string(info.param.stem); });

// ---- training modes: original rows bit-identical, new rows learn ----

DecoderConfig tiny(std::string arch, bool lora) {
  DecoderConfig c;
  c.arch = arch;
  c.vocab_size = 50;
  c.context_length = 16;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.hidden_dim = 64;
  if (lora) {
    c.lora.rank = 4;
    c.lora.alpha = 8;
    c.lora.targets = arch == "llama" ? std::vector<std::string>{"q", "v", "down"}
                                         : std::vector<std::string>{"qkv", "fc"};
  }
  return c;
}

struct ModeCase {
  const char* mode;
  std::string arch;
};

class Modes : public ::testing::TestWithParam<ModeCase> {};

TEST_P(Modes, OriginalRowsStayBitIdenticalAndNewRowsLearn) {
  const TrainMode mode = parse_train_mode(GetParam().mode);
  const std::string arch = GetParam().arch;
  const int64_t base = 40;
  TestLm m(tiny(arch, mode.lora));
  m.init(5);
  const int64_t trainable = apply_train_mode(m, mode, base);
  EXPECT_GT(trainable, 0);
  std::map<std::string, std::vector<float>> before;
  for (const auto& p : m.params().params())
    before[p->name].assign(p->value.f32(), p->value.f32() + p->numel());
  // Data that uses every id, new ones (>= base) included.
  std::vector<int32_t> data(3000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int32_t>((i * 7 + i / 5) % 50);
  TrainConfig cfg;
  cfg.batch = 4;
  cfg.seq = 16;
  cfg.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 1, .total_steps = 6};
  cfg.adamw.weight_decay = 0.1f;  // decay must not reach frozen rows either
  ThreadPool pool(2);
  CausalLmTrainer tr(m, data.data(), static_cast<int64_t>(data.size()), cfg, pool);
  for (int i = 0; i < 6; ++i) tr.step();

  const std::vector<float>& mom = tr.optimizer().m();
  const std::vector<float>& var = tr.optimizer().v();
  int changed_new = 0;
  for (const auto& p : m.params().params()) {
    const float* now = p->value.f32();
    const std::vector<float>& old = before[p->name];
    const int64_t C = p->cols();
    for (int64_t r = 0; r < p->rows(); ++r) {
      const bool same = std::memcmp(now + r * C, old.data() + r * C, C * sizeof(float)) == 0;
      bool zero_state = true;
      for (int64_t j = 0; j < C; ++j) {
        const size_t k = static_cast<size_t>(p->offset + r * C + j);
        zero_state =
            zero_state && mom[k] == 0.0f && var[k] == 0.0f && p->grad.f32()[r * C + j] == 0.0f;
      }
      const bool frozen = !p->trainable || p->row_frozen(r);
      if (frozen) {
        ASSERT_TRUE(same) << p->name << " row " << r << " changed under --train " << mode.str();
        ASSERT_TRUE(zero_state) << p->name << " row " << r
                                << ": frozen row has gradient or optimiser state";
      } else if (p->name.find(".lora_A.") == std::string::npos) {
        // Trainable rows move (A may not in step 1 while B = 0, but does after).
        EXPECT_FALSE(same) << p->name << " row " << r << " did not change";
      }
      if (!frozen && !p->frozen_rows.empty() && !same) ++changed_new;
    }
  }
  if (mode.new_embeddings) {
    EXPECT_GE(changed_new, 10);  // the 10 new rows (x2 when untied)
  }
  if (mode.all) {
    const char* emb = arch == "gpt2" ? "transformer.wte.weight" : "model.embed_tokens.weight";
    EXPECT_NE(std::memcmp(m.params().get(emb).value.f32(), before[emb].data(), 32 * sizeof(float)),
              0);
  }
}

INSTANTIATE_TEST_SUITE_P(All, Modes,
                         ::testing::Values(ModeCase{"new-embeddings", "llama"},
                                           ModeCase{"new-embeddings", "gpt2"},
                                           ModeCase{"new-embeddings,lora", "llama"},
                                           ModeCase{"new-embeddings,lora", "gpt2"},
                                           ModeCase{"lora", "llama"},
                                           ModeCase{"lora", "gpt2"},
                                           ModeCase{"all", "llama"}),
                         [](const auto& info) {
                           std::string s = std::string(info.param.mode) +
                                           (info.param.arch == "gpt2" ? "_gpt2" : "_llama");
                           for (char& c : s) {
                             if (c == '-' || c == ',') c = '_';
                           }
                           return s;
                         });

TEST(Modes, BadModesAndBaseSizesAreErrors) {
  EXPECT_THROW(parse_train_mode("embeddings"), Error);
  TestLm m(tiny("llama", false));
  EXPECT_THROW(apply_train_mode(m, parse_train_mode("new-embeddings"), 50), Error);
  EXPECT_THROW(apply_train_mode(m, parse_train_mode("new-embeddings"), 0), Error);
  EXPECT_THROW(apply_train_mode(m, parse_train_mode("lora"), 40), Error);
  TestLm l(tiny("llama", true));
  EXPECT_THROW(apply_train_mode(l, parse_train_mode("all"), 40), Error);
  DecoderConfig bad = tiny("gpt2", true);
  bad.lora.targets = {"q"};
  EXPECT_THROW(TestLm{bad}, Error);
  bad.lora.targets = {"qkv", "c_attn"};
  EXPECT_THROW(TestLm{bad}, Error);
}

// A LoRA model starts equal to its base model (B = 0).
TEST(Lora, FreshAdaptersLeaveTheModelUnchanged) {
  ThreadPool pool(1);
  TestLm base(tiny("llama", false)), lora(tiny("llama", true));
  base.init(3);
  lora.init(3);
  std::vector<int32_t> ids = {1, 4, 9, 16, 25, 36, 49, 0};
  Tape a(pool), b(pool);
  a.set_grad_enabled(false);
  b.set_grad_enabled(false);
  Var la = base.logits(a, ids.data(), 1, 8), lb = lora.logits(b, ids.data(), 1, 8);
  EXPECT_EQ(std::memcmp(a.data(la), b.data(lb), 8 * 50 * sizeof(float)), 0);
  const float* av = lora.params().get(lora.lora_sites()[0].a).value.f32();
  EXPECT_NE(av[0], 0.0f);
  for (int i = 0; i < 4 * 32; ++i) EXPECT_LE(std::fabs(av[i]), 1.0f / std::sqrt(32.0f));
}

}  // namespace
}  // namespace loom::train
