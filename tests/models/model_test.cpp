// Random-weight Llama (GQA, untied head) and GPT-2 in safetensors (+config.json, Hugging Face
// names) and GGUF: logits equal PyTorch's (tests/reference/models/infer_models.py) within 2e-6
// relative (max |diff| / max |logit|; measured 7.7e-7 GPT-2, 4.2e-7 Llama, both paths).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "models/model.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::models {
namespace {

nlohmann::json logits_golden(const std::string& file = "models/infer_models/logits.json") {
  return test::load_golden_json(file);
}

// max |a - b| / max |b| over one prompt's logits.
double rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::fabs(a[i] - b[i]));
    den = std::max(den, std::fabs(b[i]));
  }
  return num / den;
}

void check_model(const std::string& path, const std::string& key, double tol, int threads,
                 const std::string& golden = "models/infer_models/logits.json") {
  SCOPED_TRACE(path);
  auto g = logits_golden(golden);
  auto m = load_model(path);
  ThreadPool pool(threads);
  for (size_t p = 0; p < g["prompts"].size(); ++p) {
    auto ids = g["prompts"][p].get<std::vector<int32_t>>();
    auto want = g[key][p].get<std::vector<double>>();
    Session s(*m);
    m->forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
    ASSERT_EQ(s.logits().size(), want.size());
    EXPECT_LT(rel_err(s.logits(), want), tol) << "prompt " << p;
    // Decode path (one token at a time) against the same golden.
    Session one(*m);
    std::vector<float> all;
    for (int32_t id : ids) {
      m->forward(one, pool, &id, 1);
      all.insert(all.end(), one.logits().begin(), one.logits().end());
    }
    EXPECT_LT(rel_err(all, want), tol) << "prompt " << p << " step by step";
  }
}

TEST(Golden, LlamaSafetensorsMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/llama_hf"), "llama", 2e-6, 1);
}
TEST(Golden, LlamaGgufMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/llama.gguf"), "llama", 2e-6, 2);
}
TEST(Golden, Gpt2SafetensorsMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/gpt2_hf/model.safetensors"), "gpt2", 2e-6, 2);
}
TEST(Golden, Gpt2GgufMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/gpt2.gguf"), "gpt2", 2e-6, 1);
}

// A Hugging Face sharded checkpoint: the same Llama split over two safetensors files listed by
// model.safetensors.index.json loads as one model and matches PyTorch; a broken index is an error.
TEST(Golden, LlamaShardedSafetensorsMatchesPyTorch) {
  const std::string src = test::golden_path("models/infer_models/llama_hf");
  char tmpl[] = "/tmp/loom_shards_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  io::TensorMap all = io::read_safetensors(src + "/model.safetensors");
  io::TensorMap a(dir + "/a"), b(dir + "/b");
  nlohmann::json wm = nlohmann::json::object();
  for (size_t i = 0; i < all.names().size(); ++i) {
    const std::string& n = all.names()[i];
    (i % 2 ? b : a).add(n, all.get(n));
    wm[n] = i % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
  }
  io::write_safetensors(dir + "/model-00001-of-00002.safetensors", a);
  io::write_safetensors(dir + "/model-00002-of-00002.safetensors", b);
  write_file_atomic(dir + "/config.json", read_file(src + "/config.json"));
  nlohmann::json idx = {{"metadata", {{"total_size", 0}}}, {"weight_map", wm}};
  write_file_atomic(dir + "/model.safetensors.index.json", idx.dump());
  check_model(dir, "llama", 2e-6, 1);
  EXPECT_EQ(io::read_model_file(dir).size(), all.size());

  // A tensor the index lists but its shard lacks, and a shard outside the folder, are errors.
  nlohmann::json bad = idx;
  bad["weight_map"]["not.a.tensor"] = "model-00001-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", bad.dump());
  try {
    io::read_model_file(dir);
    ADD_FAILURE() << "missing tensor accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not.a.tensor"), std::string::npos) << e.what();
  }
  bad = idx;
  bad["weight_map"][all.names()[0]] = "../model-00001-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", bad.dump());
  EXPECT_THROW(io::read_model_file(dir), Error);
  // A shard tensor the index does not list.
  bad = idx;
  bad["weight_map"].erase(all.names()[0]);
  write_file_atomic(dir + "/model.safetensors.index.json", bad.dump());
  EXPECT_THROW(io::read_model_file(dir), Error);
  std::filesystem::remove_all(dir);
}

// Rope scaling (tests/reference/models/infer_rope_scaling.py): Llama 3's per-frequency factors from
// config.json and from GGUF's rope_freqs tensor, and linear scaling, all match PyTorch.
TEST(RopeScaling, Llama3ConfigMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/llama3_hf"), "llama3", 2e-6, 1,
              "models/infer_models/rope_scaling_logits.json");
}
TEST(RopeScaling, Llama3GgufRopeFreqsMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/llama3.gguf"), "llama3", 2e-6, 2,
              "models/infer_models/rope_scaling_logits.json");
}
TEST(RopeScaling, LinearMatchesPyTorch) {
  check_model(test::golden_path("models/infer_models/linear_hf"), "linear", 2e-6, 1,
              "models/infer_models/rope_scaling_logits.json");
}
TEST(RopeScaling, UnsupportedKindsAreRefused) {
  io::TensorMap m = io::read_model_file(test::golden_path("models/infer_models/llama3_hf"));
  m.set_meta("config.rope_scaling.rope_type", io::MetaValue::of_string("yarn"));
  try {
    build_model(std::move(m));
    FAIL() << "yarn accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("yarn"), std::string::npos) << e.what();
  }
  // The llama3 divisors: 1 for short wavelengths, the factor for long ones.
  auto f = llama3_rope_factors(500.0f, 8, 8.0, 1.0, 4.0, 32.0);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_GT(f[1], 1.0f);
  EXPECT_LT(f[1], 8.0f);
  EXPECT_FLOAT_EQ(f[2], 8.0f);
  EXPECT_FLOAT_EQ(f[3], 8.0f);
}

TEST(Golden, LlamaConfigFromFiles) {
  auto a = load_model(test::golden_path("models/infer_models/llama_hf"));
  auto b = load_model(test::golden_path("models/infer_models/llama.gguf"));
  EXPECT_EQ(a->config().describe(), "llama dim=32 layers=2 heads=4/2 hidden=64 vocab=61 ctx=64");
  EXPECT_EQ(b->config().describe(), a->config().describe());
  EXPECT_FALSE(a->config().tied_head);
  EXPECT_FALSE(b->config().tied_head);
  auto g = load_model(test::golden_path("models/infer_models/gpt2.gguf"));
  EXPECT_TRUE(g->config().tied_head);
  EXPECT_EQ(g->config().describe(), "gpt2 dim=32 layers=2 heads=4/4 hidden=128 vocab=61 ctx=16");
}

// Quantised copies made by Loom's own quantiser and GGUF writer hold the blocks
// tests/reference/models/infer_quantised.py writes from the format (ggml's reference rounding), so
// their logits equal PyTorch's on those blocks (quantised_logits.json; bounds as in
// QuantisedGgufMatchesPyTorchOnTheSameBlocks below); the decode and prompt paths agree.
TEST(Golden, QuantisedGgufCopies) {
  auto g = logits_golden();
  auto qg = test::load_golden_json("models/infer_models/quantised_logits.json");
  auto ids = g["prompts"][2].get<std::vector<int32_t>>();
  io::TensorMap src = io::read_gguf(test::golden_path("models/infer_models/llama.gguf"));
  // (type, key of its logits in quantised_logits.json, bound of the prompt path, of the decode
  // path (activations quantised to q8_0 for Q8_0/Q4_0), between the two paths).
  struct Case {
    DType dt;
    const char* kind;
    double prompt, decode, vs_paths;
  };
  for (auto [dt, kind, tol_prompt, tol_decode, paths] :
       {Case{DType::F16, "f16", 2e-6, 2e-6, 1e-5}, Case{DType::Q8_0, "q8_0", 2e-6, 0.06, 0.03},
        Case{DType::Q4_0, "q4_0", 2e-6, 0.06, 0.05}}) {
    SCOPED_TRACE(dtype_name(dt));
    auto want = qg[kind][2].get<std::vector<double>>();
    io::TensorMap q("quantised", "gguf");
    for (const auto& [k, v] : src.meta()) q.set_meta(k, v);
    for (const auto& name : src.names()) {
      const Tensor& t = src.get(name);
      q.add(name, t.shape().rank() == 2 ? t.to(dt) : t);
    }
    std::string path = ::testing::TempDir() + "/loom_q.gguf";
    io::write_gguf(path, q);
    auto m = load_model(path);
    ThreadPool pool(2);
    Session s(*m), one(*m);
    m->forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
    EXPECT_LT(rel_err(s.logits(), want), tol_prompt);
    std::vector<float> all;
    for (int32_t id : ids) {
      m->forward(one, pool, &id, 1);
      all.insert(all.end(), one.logits().begin(), one.logits().end());
    }
    EXPECT_LT(rel_err(all, want), tol_decode);
    std::vector<double> batched(s.logits().begin(), s.logits().end());
    EXPECT_LT(rel_err(all, batched), paths);
    std::remove(path.c_str());
  }
}

// GGUF files quantised by tests/reference/models/infer_quantised.py, which writes the F16, Q8_0
// and Q4_0 block layouts from GGUF's definition and runs PyTorch (float64) on exactly the weights
// they hold. The prompt path dequantises and runs f32 GEMMs; the decode path also quantises
// activations to q8_0 blocks, so its bound is wider. The same files read with a wrong layout
// (Q4_0 nibbles swapped, Q8_0 blocks reversed; the reference's *_wrong_layout logits) land far
// outside both bounds, so a layout bug cannot pass.
TEST(Golden, QuantisedGgufMatchesPyTorchOnTheSameBlocks) {
  auto g = test::load_golden_json("models/infer_models/quantised_logits.json");
  struct Case {
    const char* kind;
    double prompt_tol, decode_tol;
  };
  for (auto [kind, prompt_tol, decode_tol] :
       {Case{"f16", 2e-6, 2e-6}, Case{"q8_0", 2e-6, 0.06}, Case{"q4_0", 2e-6, 0.06}}) {
    SCOPED_TRACE(kind);
    auto m = load_model(test::golden_path(std::string("models/infer_models/llama_") + kind + ".gguf"));
    ThreadPool pool(2);
    double worst_prompt = 0, worst_decode = 0, nearest_wrong = 1e9;
    for (size_t p = 0; p < g["prompts"].size(); ++p) {
      auto ids = g["prompts"][p].get<std::vector<int32_t>>();
      auto want = g[kind][p].get<std::vector<double>>();
      Session s(*m), one(*m);
      m->forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
      std::vector<float> all;
      for (int32_t id : ids) {
        m->forward(one, pool, &id, 1);
        all.insert(all.end(), one.logits().begin(), one.logits().end());
      }
      const double ep = rel_err(s.logits(), want), ed = rel_err(all, want);
      EXPECT_LT(ep, prompt_tol) << "prompt " << p;
      EXPECT_LT(ed, decode_tol) << "prompt " << p << " step by step";
      worst_prompt = std::max(worst_prompt, ep);
      worst_decode = std::max(worst_decode, ed);
      const std::string wrong = std::string(kind) + "_wrong_layout";
      if (g.contains(wrong)) {
        auto bad = g[wrong][p].get<std::vector<double>>();
        const double wp = rel_err(s.logits(), bad), wd = rel_err(all, bad);
        EXPECT_GT(wp, 10 * decode_tol) << "prompt " << p;
        EXPECT_GT(wd, 10 * decode_tol) << "prompt " << p << " step by step";
        nearest_wrong = std::min({nearest_wrong, wp, wd});
      }
    }
    std::printf("%s: prompt path %.2e (bound %.0e), decode path %.2e (bound %.0e)", kind,
                worst_prompt, prompt_tol, worst_decode, decode_tol);
    if (nearest_wrong < 1e9) std::printf(", wrong layout >= %.2e", nearest_wrong);
    std::printf("\n");
  }
}

}  // namespace
}  // namespace loom::models
