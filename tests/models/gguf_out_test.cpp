// GGUF export (models/gguf_out.h): the random-weight goldens of
// tests/reference/models/infer_models.py and infer_rope_scaling.py through HF -> GGUF and
// GGUF -> HF -> GGUF. The layout changes (q/k row permutation, Conv1D transposes) are exact, so
// tensors compare byte for byte; logits of the same tensors compare exactly.
#include "models/gguf_out.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "golden_json.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "models/model.h"
#include "test_util.h"

namespace loom::models {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& tag) {
  return (fs::temp_directory_path() /
          ("loom_gguf_out_" + tag + "_" + std::to_string(::getpid()) + ".gguf"))
      .string();
}

std::vector<float> logits_of(const Model& m, const std::vector<int32_t>& ids) {
  ThreadPool pool(1);
  Session s(m);
  m.forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
  return s.logits();
}

double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num = std::max(num, static_cast<double>(std::fabs(a[i] - b[i])));
    den = std::max(den, static_cast<double>(std::fabs(b[i])));
  }
  return num / den;
}

std::vector<std::vector<int32_t>> prompts() {
  auto g = test::load_golden_json("models/infer_models/logits.json");
  std::vector<std::vector<int32_t>> out;
  for (const auto& p : g["prompts"]) out.push_back(p.get<std::vector<int32_t>>());
  return out;
}

// Every tensor of `want` is in `got` with the same dtype, shape and bytes, and nothing else is.
void expect_same_tensors(const io::TensorMap& got, const io::TensorMap& want) {
  EXPECT_EQ(got.size(), want.size());
  for (const std::string& name : want.names()) {
    SCOPED_TRACE(name);
    const Tensor* g = got.find(name);
    ASSERT_NE(g, nullptr);
    const Tensor& w = want.get(name);
    ASSERT_EQ(g->dtype(), w.dtype());
    ASSERT_EQ(g->shape(), w.shape());
    EXPECT_EQ(std::memcmp(g->data(), w.data(), w.nbytes()), 0);
  }
}

void expect_same_config(const DecoderConfig& a, const DecoderConfig& b) {
  EXPECT_EQ(a.describe(), b.describe());
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.rope.theta, b.rope.theta);
  EXPECT_EQ(a.rope.rot_dim, b.rope.rot_dim);
  EXPECT_EQ(a.rope.freq_factors, b.rope.freq_factors);
  EXPECT_EQ(a.tied_head, b.tied_head);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_id, b.eos_token_id);
}

// (a) + (d): an HF golden saved as GGUF re-reads through read_gguf (the fuzzed reader), builds
// with build_model, holds exactly the HF tensors once converted back, and gives the HF load's
// logits (to float rounding: RoPE's pair order changes the order of the q.k sums).
void check_hf_to_gguf(const std::string& rel, double tol) {
  SCOPED_TRACE(rel);
  const std::string dir = test::golden_path(rel);
  HfModel hf = read_hf_model(dir);
  const std::string path = temp_path("hf");
  save_gguf(path, hf);
  io::TensorMap back = io::read_gguf(path);
  EXPECT_EQ(back.meta_string("general.architecture"), hf.config.arch);
  EXPECT_EQ(back.find_meta("general.alignment")->u, 32u);
  HfModel again = to_hf(io::read_gguf(path));
  expect_same_tensors(again.tensors, hf.tensors);
  auto from_gguf = build_model(std::move(back));
  auto from_hf = load_model(dir);
  for (const auto& ids : prompts())
    EXPECT_LE(rel_err(logits_of(*from_gguf, ids), logits_of(*from_hf, ids)), tol);
  fs::remove(path);
}

// Measured 6.1e-7 (q.k summed in GGUF's pair order rather than HF's half-split order).
TEST(GgufOut, LlamaHfToGguf) { check_hf_to_gguf("models/infer_models/llama_hf", 1e-6); }
// No RoPE: the same weights in the same inference layout, so the logits are bit-identical.
TEST(GgufOut, Gpt2HfToGguf) { check_hf_to_gguf("models/infer_models/gpt2_hf", 0); }

TEST(GgufOut, LlamaKeysAreLlamaCpps) {
  HfModel hf = read_hf_model(test::golden_path("models/infer_models/llama_hf"));
  io::TensorMap g = to_gguf(hf);
  for (const char* key :
       {"llama.embedding_length", "llama.feed_forward_length", "llama.block_count",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.context_length",
        "llama.rope.dimension_count", "general.alignment"}) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(g.has_meta(key));
    EXPECT_EQ(g.find_meta(key)->gguf_type, 4u);  // u32
  }
  for (const char* key : {"llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon"})
    EXPECT_EQ(g.find_meta(key)->gguf_type, 6u) << key;  // f32
  EXPECT_EQ(g.meta_int("llama.attention.head_count_kv"), 2);
  EXPECT_TRUE(g.has("output.weight"));
  EXPECT_FALSE(g.has("rope_freqs.weight"));
}

// (b) + (d): a GGUF golden -> HF -> GGUF file holds the original's tensors byte for byte, the
// same hyperparameters, and its model's logits equal the original's exactly.
void check_gguf_round_trip(const std::string& rel) {
  SCOPED_TRACE(rel);
  const std::string src = test::golden_path(rel);
  io::TensorMap orig = io::read_gguf(src);
  HfModel hf = to_hf(io::read_gguf(src));
  const std::string path = temp_path("rt");
  save_gguf(path, hf);
  io::TensorMap back = io::read_gguf(path);
  expect_same_tensors(back, orig);
  const Architecture& a = architecture_of(orig);
  expect_same_config(read_config(a, back), read_config(a, orig));
  auto m1 = build_model(std::move(back));
  auto m0 = load_model(src);
  for (const auto& ids : prompts()) EXPECT_EQ(logits_of(*m1, ids), logits_of(*m0, ids));
  fs::remove(path);
}

TEST(GgufOut, LlamaGgufHfGguf) { check_gguf_round_trip("models/infer_models/llama.gguf"); }
TEST(GgufOut, Gpt2GgufHfGguf) { check_gguf_round_trip("models/infer_models/gpt2.gguf"); }
TEST(GgufOut, Llama3GgufHfGguf) { check_gguf_round_trip("models/infer_models/llama3.gguf"); }

// The F16 and Q8_0 copies of infer_quantised.py hold the blocks Loom's quantiser writes.
TEST(GgufOut, TypesMatchTheQuantisedGoldens) {
  HfModel hf = read_hf_model(test::golden_path("models/infer_models/llama_hf"));
  for (auto [type, file] :
       {std::pair{DType::F16, "llama_f16.gguf"}, std::pair{DType::Q8_0, "llama_q8_0.gguf"}}) {
    SCOPED_TRACE(file);
    GgufSaveOptions o;
    o.type = type;
    io::TensorMap g = to_gguf(hf, o);
    expect_same_tensors(g, io::read_gguf(test::golden_path("models/infer_models/") + file));
    EXPECT_EQ(g.meta_int("general.file_type"), type == DType::F16 ? 1 : 7);
  }
  EXPECT_THROW(gguf_save_type("q4_k"), Error);
}

// config.json's rope_scaling is llama3 with low_freq_factor 1 and high_freq_factor 4.
void expect_llama3_scaling(const nlohmann::ordered_json& config, double factor, double orig) {
  const auto& rs = config["rope_scaling"];
  EXPECT_EQ(rs["rope_type"], "llama3");
  EXPECT_EQ(rs["factor"], factor);
  EXPECT_EQ(rs["low_freq_factor"], 1.0);
  EXPECT_EQ(rs["high_freq_factor"], 4.0);
  EXPECT_EQ(rs["original_max_position_embeddings"], orig);
}

// (c) Llama 3 rope scaling keeps its factors both ways: config.json's rope_scaling becomes
// llama.cpp's rope_freqs tensor (no scaling type key), and that tensor becomes rope_scaling again.
TEST(GgufOut, Llama3RopeScalingBothWays) {
  auto g = test::load_golden_json("models/infer_models/rope_scaling_logits.json");
  HfModel hf = read_hf_model(test::golden_path("models/infer_models/llama3_hf"));
  io::TensorMap out = to_gguf(hf);
  EXPECT_FALSE(out.has_meta("llama.rope.scaling.type"));
  const Tensor& f = out.get("rope_freqs.weight");
  const std::vector<float> want = llama3_rope_factors(500.0f, 8, 8.0, 1.0, 4.0, 32.0);
  ASSERT_EQ(f.numel(), 4);
  EXPECT_EQ(std::vector<float>(f.f32(), f.f32() + 4), want);
  const std::string path = temp_path("l3");
  io::write_gguf(path, out);
  auto m = load_model(path);
  for (size_t p = 0; p < g["prompts"].size(); ++p) {
    auto ids = g["prompts"][p].get<std::vector<int32_t>>();
    auto ref = g["llama3"][p].get<std::vector<double>>();
    EXPECT_LT(rel_err(logits_of(*m, ids), std::vector<float>(ref.begin(), ref.end())), 2e-6);
  }
  fs::remove(path);
  HfModel back = to_hf(io::read_gguf(test::golden_path("models/infer_models/llama3.gguf")));
  expect_llama3_scaling(back.config_json, 8, 32);
}

// A GGUF like llama3.gguf whose rope_freqs tensor holds `factors` and whose theta is `theta`.
io::TensorMap with_rope_freqs(const std::vector<float>& factors, float theta) {
  io::TensorMap src = io::read_gguf(test::golden_path("models/infer_models/llama3.gguf"));
  io::TensorMap m(src.source(), "gguf");
  for (const auto& [k, v] : src.meta()) m.set_meta(k, v);
  m.set_meta("llama.rope.freq_base", io::MetaValue::of_float(theta));
  for (const std::string& name : src.names())
    if (name != "rope_freqs.weight") m.add(name, src.get(name));
  Tensor t = Tensor::empty(Shape({4}));
  std::memcpy(t.data(), factors.data(), 4 * sizeof(float));
  m.add("rope_freqs.weight", std::move(t));
  return m;
}

// Llama 3.2's published set (factor 32, 1, 4, 8192) is recognised from its divisors alone;
// divisors no llama3 set gives are refused, naming the file, rather than exported without them.
TEST(GgufOut, RopeFreqsWithoutScalingType) {
  const auto l32 = llama3_rope_factors(500000.0f, 8, 32.0, 1.0, 4.0, 8192.0);
  ASSERT_EQ(l32.front(), 1.0f);
  ASSERT_EQ(l32.back(), 32.0f);
  HfModel hf = to_hf(with_rope_freqs(l32, 500000.0f));
  expect_llama3_scaling(hf.config_json, 32, 8192);

  try {
    to_hf(with_rope_freqs({1.0f, 1.5f, 3.0f, 7.0f}, 500.0f));
    ADD_FAILURE() << "non-llama3 rope_freqs exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("llama3.gguf"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not Llama 3's"), std::string::npos) << e.what();
  }
  // The model itself still loads and runs with its stored divisors; only its config.json has
  // no form, and GGUF keeps them as they are.
  io::TensorMap odd = with_rope_freqs({1.0f, 1.5f, 3.0f, 7.0f}, 500.0f);
  DecoderConfig c = read_config(architecture_of(odd), odd);
  EXPECT_TRUE(c.rope.scaling.empty());
  EXPECT_THROW(config_json(c), Error);
}

// A trainable model saves as the GGUF its HF tensors make.
TEST(GgufOut, CausalLmSaves) {
  const std::string dir = test::golden_path("models/infer_models/llama_hf");
  HfModel hf = read_hf_model(dir);
  CausalLm lm(hf.config);
  load_hf_weights(lm, hf.tensors);
  const std::string a = temp_path("lm"), b = temp_path("hfm");
  save_gguf(a, lm);
  save_gguf(b, hf);
  expect_same_tensors(io::read_gguf(a), io::read_gguf(b));
  fs::remove(a);
  fs::remove(b);
}

}  // namespace
}  // namespace loom::models
