// Hugging Face export: checkpoints in every format `load_model` reads, exported as
// LlamaForCausalLM / GPT2LMHeadModel directories, load back with the same logits; the exported
// stories260K equals PyTorch's hand-written LlamaForCausalLM forward
// (tests/reference/models/hf_export_golden.py) on the same prompt.
#include "models/hf.h"
#include "models/model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "core/rng.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::models {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& tag) {
  fs::path p =
      fs::temp_directory_path() / ("loom_hf_export_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

double rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size() && i < a.size(); ++i) {
    num = std::max(num, std::fabs(a[i] - b[i]));
    den = std::max(den, std::fabs(b[i]));
  }
  return num / den;
}

std::vector<float> logits_of(const Model& m, const std::vector<int32_t>& ids) {
  ThreadPool pool(1);
  Session s(m);
  m.forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
  return s.logits();
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Exports `path`, writes the directory, loads it back; returns the reloaded model.
std::shared_ptr<const Model> round_trip(const std::string& path, const std::string& tag,
                                        HfModel* exported = nullptr) {
  auto m = load_model(path);
  HfModel hf = to_hf(m->weights());
  const std::string dir = temp_dir(tag);
  save_hf_directory(dir, hf.tensors, hf.config_json, {{"tokenizer_config.json", "{}\n"}});
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_TRUE(fs::exists(dir + "/tokenizer_config.json"));
  auto back = load_model(dir);
  // LOOM_HF_EXPORT_KEEP=DIR keeps a copy for tests/reference/models/hf_export_golden.py --check.
  if (const char* keep = std::getenv("LOOM_HF_EXPORT_KEEP"); keep && *keep) {
    fs::remove_all(std::string(keep) + "/" + tag);
    fs::create_directories(keep);
    fs::copy(dir, std::string(keep) + "/" + tag);
  }
  fs::remove_all(dir);
  if (exported != nullptr) *exported = std::move(hf);
  return back;
}

TEST(HfExport, Stories260KBinMatchesOriginalAndPyTorch) {
  const std::string bin = test::data_path("models/stories260K/stories260K.bin");
  LOOM_REQUIRE_DATA(bin);
  auto gold =
      test::load_golden_json("models/hf_export/stories260K_logits.json");
  auto ids = gold["prompt"].get<std::vector<int32_t>>();
  auto want = gold["logits"].get<std::vector<double>>();
  auto orig = load_model(bin);
  HfModel hf;
  auto back = round_trip(bin, "bin", &hf);
  EXPECT_EQ(back->config().rope.style, RopeStyle::HalfSplit);
  EXPECT_TRUE(back->config().tied_head);
  EXPECT_FALSE(hf.tensors.has("lm_head.weight"));
  EXPECT_EQ(hf.config_json["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(hf.config_json["hidden_size"], 64);
  EXPECT_EQ(hf.config_json["intermediate_size"], 172);
  EXPECT_EQ(hf.config_json["num_attention_heads"], 8);
  EXPECT_EQ(hf.config_json["num_key_value_heads"], 4);
  EXPECT_EQ(hf.config_json["num_hidden_layers"], 5);
  EXPECT_EQ(hf.config_json["vocab_size"], 512);
  EXPECT_EQ(hf.config_json["max_position_embeddings"], 512);
  EXPECT_EQ(hf.config_json["rms_norm_eps"], 1e-5);
  EXPECT_EQ(hf.config_json["rope_theta"], 10000.0);
  EXPECT_EQ(hf.config_json["tie_word_embeddings"], true);
  EXPECT_EQ(hf.config_json["bos_token_id"], 1);
  EXPECT_EQ(hf.config_json["eos_token_id"], 2);
  EXPECT_EQ(hf.config_json["torch_dtype"], "float32");
  std::vector<float> a = logits_of(*orig, ids), b = logits_of(*back, ids);
  EXPECT_LT(rel_err(b, to_double(a)), 1e-5);
  EXPECT_LT(rel_err(b, want), 1e-5);
  EXPECT_LT(rel_err(a, want), 1e-5);
}

TEST(HfExport, Stories260KGgufMatchesPyTorch) {
  const std::string gguf = test::data_path("models/stories260K/stories260K.gguf");
  LOOM_REQUIRE_DATA(gguf);
  auto gold =
      test::load_golden_json("models/hf_export/stories260K_logits.json");
  auto ids = gold["prompt"].get<std::vector<int32_t>>();
  auto back = round_trip(gguf, "gguf");
  EXPECT_LT(rel_err(logits_of(*back, ids), gold["logits"].get<std::vector<double>>()), 1e-5);
}

// The random-weight Llama (GQA, untied head) and GPT-2 goldens of tests/reference/models/infer_models.py.
void check_infer_golden(const std::string& rel, const std::string& key, const std::string& tag,
                        bool want_tied) {
  SCOPED_TRACE(rel);
  auto g = test::load_golden_json("models/infer_models/logits.json");
  HfModel hf;
  auto back = round_trip(test::golden_path(rel), tag, &hf);
  EXPECT_EQ(back->config().tied_head, want_tied);
  EXPECT_EQ(hf.tensors.has("lm_head.weight"), !want_tied);
  for (size_t p = 0; p < g["prompts"].size(); ++p) {
    auto ids = g["prompts"][p].get<std::vector<int32_t>>();
    EXPECT_LT(rel_err(logits_of(*back, ids), g[key][p].get<std::vector<double>>()), 1e-4)
        << "prompt " << p;
  }
}

TEST(HfExport, RandomLlamaGgufUntiedGqa) {
  check_infer_golden("models/infer_models/llama.gguf", "llama", "llama_gguf", false);
}
TEST(HfExport, RandomLlamaSafetensorsPassThrough) {
  check_infer_golden("models/infer_models/llama_hf", "llama", "llama_hf", false);
}
TEST(HfExport, RandomGpt2Gguf) {
  check_infer_golden("models/infer_models/gpt2.gguf", "gpt2", "gpt2_gguf", true);
}
TEST(HfExport, RandomGpt2Safetensors) {
  check_infer_golden("models/infer_models/gpt2_hf", "gpt2", "gpt2_hf", true);
}

TEST(HfExport, Gpt2ConfigAndConv1DLayout) {
  auto m = load_model(test::golden_path("models/infer_models/gpt2.gguf"));
  HfModel hf = to_hf(m->weights());
  EXPECT_EQ(hf.config_json["architectures"][0], "GPT2LMHeadModel");
  EXPECT_EQ(hf.config_json["n_embd"], 32);
  EXPECT_EQ(hf.config_json["n_layer"], 2);
  EXPECT_EQ(hf.config_json["n_head"], 4);
  EXPECT_EQ(hf.config_json["n_inner"], 128);
  EXPECT_EQ(hf.config_json["vocab_size"], 61);
  // Conv1D weights are (in, out).
  EXPECT_EQ(hf.tensors.get("transformer.h.0.attn.c_attn.weight").shape(), Shape({32, 96}));
  EXPECT_EQ(hf.tensors.get("transformer.h.0.mlp.c_fc.weight").shape(), Shape({32, 128}));
  EXPECT_EQ(hf.embed_name(), "transformer.wte.weight");
}

TEST(HfExport, RopePermutationInvertsAndMatchesLayout) {
  // 2 heads of size 4, 3 columns: row r holds r in every column.
  Tensor w = Tensor::empty(Shape({8, 3}));
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 3; ++c) w.f32()[r * 3 + c] = static_cast<float>(r);
  Tensor h = permute_rope_rows(w.view(), 2, true);
  // Interleaved pairs (0,1),(2,3) -> half-split: rows 0,2 | 1,3 per head.
  const float want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int r = 0; r < 8; ++r) EXPECT_EQ(h.f32()[r * 3 + 1], want[r]) << r;
  Tensor back = permute_rope_rows(h.view(), 2, false);
  EXPECT_EQ(std::memcmp(back.data(), w.data(), w.nbytes()), 0);
}

TEST(HfExport, SaveRefusesNonEmptyFolderAndLeavesNothingOnError) {
  auto m = load_model(test::golden_path("models/infer_models/llama_hf"));
  HfModel hf = to_hf(m->weights());
  const std::string dir = temp_dir("busy");
  fs::create_directories(dir);
  write_file_atomic(dir + "/keep.txt", "mine");
  EXPECT_THROW(save_hf_directory(dir, hf.tensors, hf.config_json), Error);
  EXPECT_EQ(read_file(dir + "/keep.txt"), "mine");
  EXPECT_FALSE(fs::exists(dir + "/config.json"));
  fs::remove_all(dir);

  // A bad extra file name fails before anything is written.
  const std::string dir2 = temp_dir("badname");
  EXPECT_THROW(save_hf_directory(dir2, hf.tensors, hf.config_json, {{"../x.json", "{}"}}), Error);
  EXPECT_FALSE(fs::exists(dir2));

  // An empty existing folder is replaced; no temporary folder is left beside it.
  const std::string dir3 = temp_dir("empty");
  fs::create_directories(dir3);
  save_hf_directory(dir3, hf.tensors, hf.config_json);
  EXPECT_TRUE(fs::exists(dir3 + "/model.safetensors"));
  for (const auto& e : fs::directory_iterator(fs::path(dir3).parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(".loom_hf_export_empty_"), std::string::npos)
        << e.path();
  }
  fs::remove_all(dir3);
}

}  // namespace
}  // namespace loom::models
