// Hugging Face directories into training: the random-weight Llama and GPT-2 directories of the
// inference goldens (tests/reference/models/infer_models.py) give PyTorch's float64 logits through the
// trainable model; a save reloads bit-identically; config/weight mismatches are named errors.
#include "models/causal_lm.h"
#include "models/hf.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::train {
namespace {

using models::CausalLm;
using models::HfModel;
using models::load_hf_weights;
using models::read_hf_model;
using models::save_hf_model;
using nn::Tape;
using nn::Var;

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "loom_hf_" + name;
  ::mkdir(d.c_str(), 0755);
  return d;
}

class HfDirs : public ::testing::TestWithParam<const char*> {};

TEST_P(HfDirs, TrainableModelGivesPyTorchLogitsAndSavesLosslessly) {
  const std::string arch = GetParam();
  const std::string dir = test::golden_path("models/infer_models/" + arch + "_hf");
  HfModel hf = read_hf_model(dir);
  CausalLm m(hf.config);
  load_hf_weights(m, hf.tensors);
  const auto golden =
      test::load_golden_json("models/infer_models/logits.json");
  ThreadPool pool(2);
  double worst = 0;
  for (size_t i = 0; i < golden["prompts"].size(); ++i) {
    const auto ids = golden["prompts"][i].get<std::vector<int32_t>>();
    const auto want = golden[arch][i].get<std::vector<double>>();
    const int64_t T = static_cast<int64_t>(ids.size());
    Tape t(pool);
    t.set_grad_enabled(false);
    Var lg = m.logits(t, ids.data(), 1, T);
    ASSERT_EQ(want.size(), static_cast<size_t>(T * hf.config.vocab_size));
    for (size_t j = 0; j < want.size(); ++j)
      worst = std::max(worst, std::fabs(static_cast<double>(t.data(lg)[j]) - want[j]));
  }
  EXPECT_LT(worst, 1e-4);
  std::printf("%s HF directory through the trainable model: max |logit - torch| %.2e\n",
              arch.c_str(), worst);

  const std::string out = temp_dir(arch);
  save_hf_model(m, out, hf.config_json);
  HfModel back = read_hf_model(out);
  CausalLm m2(back.config);
  load_hf_weights(m2, back.tensors);
  EXPECT_EQ(std::memcmp(m.params().values(), m2.params().values(),
                        static_cast<size_t>(m.params().numel()) * sizeof(float)),
            0);
  // Same fields and values (key order aside).
  EXPECT_EQ(nlohmann::json::parse(models::config_json(back.config, back.config_json).dump()),
            nlohmann::json::parse(models::config_json(hf.config, hf.config_json).dump()));
}

INSTANTIATE_TEST_SUITE_P(Archs, HfDirs, ::testing::Values("llama", "gpt2"));

void expect_error(const std::string& dir, const std::string& needle) {
  try {
    HfModel hf = read_hf_model(dir);
    CausalLm m(hf.config);
    load_hf_weights(m, hf.tensors);
    ADD_FAILURE() << "accepted " << dir << " (" << needle << ")";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(HfCheckpoint, MismatchedOrBrokenConfigsAreNamedErrors) {
  const std::string src = test::golden_path("models/infer_models/llama_hf");
  const std::string weights = read_file(src + "/model.safetensors");
  const auto config = nlohmann::json::parse(read_file(src + "/config.json"));
  auto variant = [&](const std::string& name, const nlohmann::json& cfg) {
    const std::string d = temp_dir(name);
    write_file_atomic(d + "/model.safetensors", weights);
    write_file_atomic(d + "/config.json", cfg.dump());
    return d;
  };
  auto c = config;
  c["hidden_size"] = 48;
  c["num_attention_heads"] = 4;
  expect_error(variant("hidden", c), "model.embed_tokens.weight");
  c = config;
  c["vocab_size"] = 70;
  expect_error(variant("vocab", c), "vocab_size 70");
  c = config;
  c["intermediate_size"] = 65;
  expect_error(variant("ff", c), "mlp.gate_proj.weight");
  c = config;
  c["architectures"] = {"BertModel"};
  c.erase("model_type");
  expect_error(variant("arch", c), "BertModel");
  c = config;
  c.erase("num_hidden_layers");
  expect_error(variant("layers", c), "num_hidden_layers");
  c = config;
  c["loom_extension"] = {{"base_vocab_size", 100}};
  expect_error(variant("base", c), "base_vocab_size");
  c = config;
  c["loom_extension"] = {{"base_vocab_size", 50}};
  EXPECT_EQ(read_hf_model(variant("base_ok", c)).config.base_vocab_size, 50);
  // Rope scaling: linear and llama3 train as they infer (models/causal_lm_test.cpp checks the
  // gradients); other kinds are refused by name, never run as plain RoPE.
  c = config;
  c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  EXPECT_EQ(read_hf_model(variant("rope", c)).config.rope.scaling, "llama3");
  c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 8.0}};
  expect_error(variant("rope_yarn", c), "rope scaling 'yarn'");
  c["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_NO_THROW(read_hf_model(variant("rope_default", c)));
  // A Llama whose MLP activation is not SiLU would run as SwiGLU silently: refused by name.
  c = config;
  c["hidden_act"] = "gelu";
  expect_error(variant("act", c), "hidden_act 'gelu'");
  const std::string d = temp_dir("noconfig");
  write_file_atomic(d + "/model.safetensors", weights);
  expect_error(d, "config.json");
  const std::string bad = variant("badjson", config);
  write_file_atomic(bad + "/config.json", "{\"architectures\": [");
  expect_error(bad, "invalid JSON");
}

}  // namespace
}  // namespace loom::train
