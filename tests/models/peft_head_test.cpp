// A LoRA reward model's head in its PEFT adapter (models/peft.h): score.weight saved as PEFT's
// modules_to_save (base_model.model.score.weight, modules_to_save ["score"], task_type SEQ_CLS),
// so base + adapter gives the reward scores of the merged model the run saves, bit for bit; a
// modules_to_save that is not a classification head, or a head missing from the file, is one
// loom::Error naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "hf_dir_util.h"
#include "models/peft.h"
#include "test_util.h"

namespace loom::models {
namespace {

std::string temp_dir(const std::string& name) {
  const std::string d = test::temp_dir("loom_peft_head", name);
  std::filesystem::create_directories(d);
  return d;
}

std::string base_dir(const std::string& arch) {
  return test::golden_path("models/infer_models/" + arch + "_hf");
}

const std::vector<int32_t> kIds = {1, 7, 5, 9, 2, 11, 3, 4, 8, 6, 10, 12};  // 2 sequences of 6
const std::vector<int32_t> kLast = {5, 3};                                  // read rows

// Reward scores (2, 1) of kIds from a CausalLm with a one-label head.
std::vector<float> scores(CausalLm& m) {
  ThreadPool pool(1);
  nn::Tape t(pool);
  const nn::Var s = m.score(t, kIds.data(), 2, 6, kLast.data());
  return {t.data(s)[0], t.data(s)[1]};
}

// The same from Hugging Face tensors (a model folder, or a base with an adapter applied).
std::vector<float> scores(const HfModel& h) {
  CausalLm m(h.config, {}, 1);
  load_hf_weights(m, h.tensors);
  return scores(m);
}

// A trained LoRA reward model on the golden base: B random, the head initialised; saved as the
// merged model and as an adapter. Returns its own (LoRA, unmerged) scores.
std::vector<float> save_reward_model(const std::string& arch, const std::string& dir) {
  const HfModel base = read_hf_model(base_dir(arch));
  nn::LoraConfig lora;
  lora.rank = 2;
  lora.alpha = 4;
  lora.targets = architecture(base.config.arch).default_lora_targets();
  CausalLm m(base.config, lora, 1);
  load_hf_weights(m, base.tensors);
  m.init_lora(3);
  m.init_score(5, 0.5f);
  Rng rng(11);
  for (const LoraSite& s : m.lora_sites()) {
    nn::Parameter& b = m.params().get(s.b);
    for (int64_t i = 0; i < b.numel(); ++i) b.value.f32()[i] = 0.1f * rng.normal();
  }
  save_hf_model(m, dir + "/merged", base.config_json);
  const int64_t v = base.config.vocab_size;
  save_peft_adapter(m, dir + "/adapter", {v, embedding_rows_sha256(base, v), "base"});
  return scores(m);
}

class PeftHead : public ::testing::TestWithParam<const char*> {};

TEST_P(PeftHead, RewardScoresFromBasePlusAdapterEqualTheMergedModelsBitForBit) {
  const std::string arch = GetParam(), dir = temp_dir(arch);
  const std::vector<float> trained = save_reward_model(arch, dir);
  const auto cfg = nlohmann::json::parse(read_file(dir + "/adapter/adapter_config.json"));
  EXPECT_EQ(cfg["modules_to_save"], nlohmann::json::array({"score"}));
  EXPECT_EQ(cfg["task_type"], "SEQ_CLS");
  const PeftAdapter a = read_peft_adapter(dir + "/adapter");
  EXPECT_TRUE(a.tensors.has("base_model.model.score.weight"));

  HfModel adapted = read_hf_model(base_dir(arch));
  EXPECT_FALSE(adapted.tensors.has("score.weight"));
  apply_peft_adapter(adapted, a);
  const std::vector<float> x = scores(adapted), y = scores(read_hf_model(dir + "/merged"));
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0)
      << x[0] << " vs " << y[0] << ", " << x[1] << " vs " << y[1];
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(x[i], trained[i], 1e-5f * std::max(1.0f, std::fabs(trained[i])));
    EXPECT_GT(std::fabs(x[i]), 1e-3f);  // a head of zeros would make the comparison empty
  }
  std::printf("%s reward scores %.6f %.6f: base + adapter == merged bit for bit\n", arch.c_str(),
              x[0], x[1]);
}

INSTANTIATE_TEST_SUITE_P(Archs, PeftHead, ::testing::Values("llama", "gpt2"));

// The saved llama reward adapter with its config text edited; applying it fails with one line
// holding every needle.
void expect_edit_error(const std::string& from, const std::string& to,
                       const std::vector<std::string>& needles) {
  const std::string dir = temp_dir("edit");
  save_reward_model("llama", dir);
  std::string cfg = read_file(dir + "/adapter/adapter_config.json");
  const size_t at = cfg.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  cfg.replace(at, from.size(), to);
  write_file_atomic(dir + "/adapter/adapter_config.json", cfg);
  HfModel base = read_hf_model(base_dir("llama"));
  try {
    apply_peft_adapter(base, read_peft_adapter(dir + "/adapter"));
    ADD_FAILURE() << "no error; expected " << needles[0];
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
}

TEST(PeftHeadBadInput, ModulesToSaveOtherThanAHeadIsRefused) {
  expect_edit_error("\"score\"", "\"lm_head\"",
                    {"adapter_config.json", "modules_to_save", "lm_head", "classification head"});
}

TEST(PeftHeadBadInput, HeadMissingFromTheFileIsNamed) {
  expect_edit_error("\"score\"", "\"classifier\"",
                    {"adapter_config.json", "modules_to_save", "base_model.model.classifier"});
}

}  // namespace
}  // namespace loom::models
