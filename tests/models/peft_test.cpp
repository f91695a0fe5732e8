// PEFT adapter directories (models/peft.h): an adapter written by PEFT's layout rules
// (tests/reference/adapt/peft_adapter_golden.py) applied to its base gives PyTorch's merged-model
// logits; an adapter Loom saves from a trained model, applied to the base, gives exactly the
// logits of the merged model the run saves (Llama untied, GPT-2 tied with Conv1D layouts); bad
// adapters are one loom::Error naming the file and field.
#include "models/peft.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::models {
namespace {

// Per process: ctest runs each test of this suite in its own process, two at a time.
std::string temp_dir(const std::string& name) {
  const std::string d =
      ::testing::TempDir() + "loom_peft_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(d);
  ::mkdir(d.c_str(), 0755);
  return d;
}

// Logits (n, vocab) of every position of ids.
std::vector<float> logits(const Model& m, const std::vector<int32_t>& ids) {
  ThreadPool pool(1);
  Session s(m);
  m.forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
  return s.logits();
}

TEST(PeftAdapter, PeftWrittenAdapterGivesPyTorchMergedLogits) {
  HfModel base = read_hf_model(test::golden_path("models/infer_models/llama_hf"));
  const PeftAdapter a = read_peft_adapter(test::golden_path("adapt/peft_adapter"));
  EXPECT_EQ(a.rank, 4);
  EXPECT_EQ(a.token_indices.at("embed_tokens").size(), 4u);
  apply_peft_adapter(base, a);
  EXPECT_EQ(base.config.vocab_size, 64);
  EXPECT_EQ(base.config.base_vocab_size, 61);
  auto m = build_hf_model(base);
  const auto g = test::load_golden_json("adapt/peft_adapter/logits.json");
  double worst = 0;
  for (size_t p = 0; p < g["prompts"].size(); ++p) {
    const auto want = g["llama"][p].get<std::vector<double>>();
    const auto got = logits(*m, g["prompts"][p].get<std::vector<int32_t>>());
    ASSERT_EQ(got.size(), want.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      num = std::max(num, std::fabs(got[i] - want[i]));
      den = std::max(den, std::fabs(want[i]));
    }
    worst = std::max(worst, num / den);
  }
  EXPECT_LT(worst, 1e-5);
  std::printf("PEFT-layout adapter on llama_hf: max |logit - torch| / max |logit| %.2e\n", worst);
}

// The base grown by `extra` rows (random, as an extension would initialise them) for embedding and
// untied head: the model a domain-adaptation run starts from.
HfModel extended(const HfModel& base, int64_t extra) {
  HfModel h = base;
  io::TensorMap t(base.source, "safetensors");
  Rng rng(7);
  for (const std::string& name : base.tensors.names()) {
    Tensor v = base.tensors.get(name).to(DType::F32);
    if (name == base.embed_name() || (name == base.head_name() && !base.config.tied_head)) {
      const int64_t rows = v.shape()[0], cols = v.shape()[1];
      Tensor g = Tensor::empty(Shape{rows + extra, cols});
      std::memcpy(g.f32(), v.f32(), static_cast<size_t>(rows * cols) * sizeof(float));
      for (int64_t i = rows * cols; i < (rows + extra) * cols; ++i) g.f32()[i] = rng.normal();
      v = g;
    }
    t.add(name, v);
  }
  h.tensors = std::move(t);
  h.config.vocab_size += extra;
  h.config.base_vocab_size = base.config.vocab_size;
  h.config_json = config_json(h.config, base.config_json);
  return h;
}

// A "trained" model: the extended base with LoRA whose B is random (as after training) and new
// rows moved; saved as the merged model and as an adapter.
void save_trained(const HfModel& base, const std::string& dir) {
  const HfModel ext = extended(base, 3);
  nn::LoraConfig lora;
  lora.rank = 2;
  lora.alpha = 5;
  lora.targets = architecture(base.config.arch).default_lora_targets();
  CausalLm m(ext.config, lora);
  load_hf_weights(m, ext.tensors);
  m.init_lora(3);
  Rng rng(11);
  for (const LoraSite& s : m.lora_sites()) {
    nn::Parameter& b = m.params().get(s.b);
    for (int64_t i = 0; i < b.numel(); ++i) b.value.f32()[i] = 0.1f * rng.normal();
  }
  float* e = m.param(Wt{0, 0})->value.f32();
  for (int64_t i = base.config.vocab_size * base.config.dim;
       i < ext.config.vocab_size * base.config.dim; ++i)
    e[i] += 0.5f;
  save_hf_model(m, dir + "/merged", ext.config_json);
  save_peft_adapter(
      m, dir + "/adapter",
      {base.config.vocab_size, embedding_rows_sha256(base, base.config.vocab_size), "base"});
}

class PeftRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(PeftRoundTrip, BasePlusAdapterEqualsTheMergedModelBitForBit) {
  const std::string arch = GetParam();
  const std::string base_dir = test::golden_path("models/infer_models/" + arch + "_hf");
  const std::string dir = temp_dir(arch);
  save_trained(read_hf_model(base_dir), dir);
  HfModel base = read_hf_model(base_dir);
  apply_peft_adapter(base, read_peft_adapter(dir + "/adapter"));
  auto adapted = build_hf_model(base);
  auto merged = load_model(dir + "/merged");
  const std::vector<int32_t> ids = {1, 61, 5, 63, 62, 9, 2, 61};
  const auto x = logits(*adapted, ids), y = logits(*merged, ids);
  ASSERT_EQ(x.size(), y.size());
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0);
  std::printf(
      "%s: adapter %lld bytes, base + adapter logits equal the merged model's bit for bit\n",
      arch.c_str(),
      static_cast<long long>(
          std::filesystem::file_size(dir + "/adapter/adapter_model.safetensors") +
          std::filesystem::file_size(dir + "/adapter/adapter_config.json")));
}

INSTANTIATE_TEST_SUITE_P(Archs, PeftRoundTrip, ::testing::Values("llama", "gpt2"));

// A copy of the saved llama adapter with its config text changed by edit.
class PeftBadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("bad");
    save_trained(read_hf_model(base_dir()), dir_);
  }
  static std::string base_dir() { return test::golden_path("models/infer_models/llama_hf"); }
  static std::string edited(const std::string& from, const std::string& to) {
    const std::string d = temp_dir("edit");
    std::string cfg = read_file(dir_ + "/adapter/adapter_config.json");
    const size_t at = cfg.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) cfg.replace(at, from.size(), to);
    write_file_atomic(d + "/adapter_config.json", cfg);
    std::filesystem::copy_file(dir_ + "/adapter/adapter_model.safetensors",
                               d + "/adapter_model.safetensors");
    return d;
  }
  // Applying the adapter in `adapter` to the llama base fails with one message holding every
  // needle.
  static void expect_error(const std::string& adapter, std::vector<std::string> needles,
                           HfModel* base = nullptr) {
    HfModel b = read_hf_model(base_dir());
    try {
      apply_peft_adapter(base ? *base : b, read_peft_adapter(adapter));
      ADD_FAILURE() << "no error; expected " << needles[0];
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
    }
  }
  static inline std::string dir_;
};

TEST_F(PeftBadInput, AnotherBaseIsRefusedBySha256) {
  HfModel other = read_hf_model(base_dir());
  Tensor e = other.tensors.get(other.embed_name()).to(DType::F32);
  e.f32()[3] += 1e-3f;
  io::TensorMap t(other.source, "safetensors");
  for (const std::string& n : other.tensors.names())
    t.add(n, n == other.embed_name() ? e : other.tensors.get(n));
  other.tensors = std::move(t);
  expect_error(dir_ + "/adapter", {"adapter_config.json", "loom.base_rows_sha256", "another base"},
               &other);
}

TEST_F(PeftBadInput, UnknownTargetModuleIsNamed) {
  expect_error(edited("\"q_proj\"", "\"qq_proj\""),
               {"adapter_config.json", "target_modules: unknown module 'qq_proj'", "q_proj"});
}

TEST_F(PeftBadInput, WrongShapesNameTheTensor) {
  expect_error(edited("\"r\": 2", "\"r\": 3"), {"adapter_model.safetensors", "lora_A.weight"});
}

TEST_F(PeftBadInput, TensorsTheConfigDoesNotDescribeAreNamed) {
  expect_error(edited("\"v_proj\"", "\"o_proj\""), {"o_proj.lora_A.weight"});
  expect_error(edited("\"q_proj\",", ""), {"adapter_model.safetensors", "q_proj.lora_A.weight",
                                           "not one adapter_config.json describes"});
}

TEST_F(PeftBadInput, IndicesThatLeaveANewRowUndefinedAreRefused) {
  expect_error(edited("\"vocab_size\": 64", "\"vocab_size\": 65"),
               {"adapter_config.json", "token ids [61, 65) are new rows but only 3"});
  expect_error(edited("    63\n", "    5\n"),
               {"adapter_config.json", "token id 63", "not among the indices"});
  expect_error(edited("\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\""), {"peft_type \"IA3\""});
  expect_error(edited("\"use_dora\": false", "\"use_dora\": true"), {"use_dora true"});
  expect_error(edited("{", "["), {"adapter_config.json", "not a JSON object"});
}

TEST_F(PeftBadInput, TruncatedSafetensorsIsNamed) {
  const std::string d = edited("\"peft_type\"", "\"peft_type\"");
  const std::string f = d + "/adapter_model.safetensors";
  const std::string bytes = read_file(f);
  for (size_t keep : {size_t{5}, size_t{60}, bytes.size() - 7}) {
    write_file_atomic(f, bytes.substr(0, keep));
    expect_error(d, {"adapter_model.safetensors"});
  }
}

}  // namespace
}  // namespace loom::models
