#include "embed/embedder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "golden_json.h"
#include "io/tensor_map.h"
#include "models/model.h"
#include "test_util.h"
#include "text/sentencepiece.h"

namespace loom::embed {
namespace {

struct Stories {
  std::shared_ptr<const models::Model> model;
  std::shared_ptr<text::SentencePieceTokenizer> tok;
  EncodeFn encode() const {
    auto t = tok;
    return [t](std::string_view s) { return t->encode_ids(s, true); };
  }
};

Stories load_stories(const std::string& model_file = "stories260K.bin") {
  const std::string dir = test::data_path("models/stories260K/");
  Stories s;
  s.model = models::load_model(dir + model_file);
  s.tok = std::make_shared<text::SentencePieceTokenizer>(
      text::SentencePieceTokenizer::load(dir + "tok512.model"));
  return s;
}

nlohmann::json golden() { return test::load_golden_json("embed/embed_golden.json"); }

void expect_near(const float* got, const nlohmann::json& want, double tol,
                 const std::string& what) {
  ASSERT_TRUE(want.is_array());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i].get<double>(), tol) << what << " [" << i << "]";
  }
}

// Every pooling of stories260K's hidden states equals the PyTorch (float64) forward: unit vectors
// within 1e-6 (measured 5.0e-7), the unnormalised mean within 1e-5 (measured 4.9e-6).
TEST(Embedder, MatchesPyTorchGoldenForEveryPooling) {
  LOOM_REQUIRE_DATA(test::data_path("models/stories260K/stories260K.bin"));
  Stories s = load_stories();
  auto g = golden();
  std::vector<std::string> texts;
  for (const auto& c : g["cases"]) texts.push_back(c["text"].get<std::string>());
  ThreadPool pool(2);
  for (const char* mode : {"mean", "weighted-mean", "last", "cls"}) {
    EmbedConfig cfg;
    cfg.pooling = pooling_from_name(mode);
    Embedder e(s.model, s.encode(), cfg);
    EXPECT_EQ(e.dim(), 64);
    EmbedStats st;
    std::vector<float> out = e.embed(texts, pool, &st);
    EXPECT_EQ(st.texts, 5);
    EXPECT_EQ(st.truncated, 0);
    int64_t tokens = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto& c = g["cases"][i];
      EXPECT_EQ(e.tokens(texts[i]), c["ids"].get<std::vector<int32_t>>()) << texts[i];
      tokens += static_cast<int64_t>(c["ids"].size());
      expect_near(out.data() + i * 64, c[mode], 1e-6, std::string(mode) + " " + texts[i]);
    }
    EXPECT_EQ(st.tokens, tokens);
  }
  // Unnormalised mean and Matryoshka truncation to 16 dims (re-normalised).
  EmbedConfig raw;
  raw.normalize = false;
  std::vector<float> out = Embedder(s.model, s.encode(), raw).embed(texts, pool);
  for (size_t i = 0; i < texts.size(); ++i)
    expect_near(out.data() + i * 64, g["cases"][i]["mean_raw"], 1e-5, "raw mean");
  EmbedConfig m16;
  m16.dims = 16;
  Embedder e16(s.model, s.encode(), m16);
  EXPECT_EQ(e16.dim(), 16);
  out = e16.embed(texts, pool);
  ASSERT_EQ(out.size(), texts.size() * 16);
  for (size_t i = 0; i < texts.size(); ++i)
    expect_near(out.data() + i * 16, g["cases"][i]["mean_dims16"], 1e-6, "dims16");
}

// The GGUF copy of the model gives the same vectors as the .bin.
TEST(Embedder, GgufAndBinAgree) {
  Stories bin = load_stories(), gguf = load_stories("stories260K.gguf");
  std::vector<std::string> texts = {"The cat sat on the mat.", "Lily liked to play."};
  ThreadPool pool(1);
  auto a = Embedder(bin.model, bin.encode(), {}).embed(texts, pool);
  auto b = Embedder(gguf.model, gguf.encode(), {}).embed(texts, pool);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
}

// Same vectors, bit for bit, whatever the thread count; truncation counted and applied.
TEST(Embedder, ThreadCountInvariantAndTruncates) {
  Stories s = load_stories();
  std::vector<std::string> texts;
  for (int i = 0; i < 23; ++i) {
    std::string t = "Once upon a time";
    for (int j = 0; j < i; ++j) t += " there was a dog";
    texts.push_back(t);
  }
  ThreadPool one(1), three(3);
  Embedder e(s.model, s.encode(), {}, 20);
  EmbedStats st1, st3;
  auto a = e.embed(texts, one, &st1);
  auto b = e.embed(texts, three, &st3);
  EXPECT_EQ(a, b);
  EXPECT_EQ(st1.tokens, st3.tokens);
  EXPECT_GT(st1.truncated, 0);
  EXPECT_EQ(st1.truncated, st3.truncated);
  // A truncated text embeds exactly as its first 20 tokens would.
  bool cut = false;
  auto ids = e.tokens(texts.back(), &cut);
  EXPECT_TRUE(cut);
  EXPECT_EQ(ids.size(), 20u);
  auto first20 = s.tok->encode_ids(texts.back(), true);
  first20.resize(20);
  auto fixed = [&](std::string_view) { return first20; };
  auto c = Embedder(s.model, fixed, {}, 20).embed(std::vector<std::string>{"?"}, one);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(c[j], a[(texts.size() - 1) * 64 + j]);
}

TEST(Embedder, EmptyTextIsZeroAndBadLimitsAreErrors) {
  Stories s = load_stories();
  auto nothing = [](std::string_view) { return std::vector<int32_t>{}; };
  ThreadPool pool(1);
  EmbedStats st;
  auto v = Embedder(s.model, nothing, {}).embed(std::vector<std::string>{""}, pool, &st);
  EXPECT_EQ(st.empty, 1);
  for (float x : v) EXPECT_EQ(x, 0.0f);
  EXPECT_THROW(Embedder(s.model, s.encode(), {}, 100000), Error);
  EXPECT_THROW(Embedder(s.model, s.encode(), {}, -1), Error);
  auto bad = [](std::string_view) { return std::vector<int32_t>{1, 9999}; };
  EXPECT_THROW(Embedder(s.model, bad, {}).embed(std::vector<std::string>{"a"}, pool), Error);
}

// An encoder-only model (no LM head, no Session): token t at position i has the hidden state
// (t, i, 1). The Embedder needs nothing more than Encoder, and reuses one State per thread.
class ToyEncoder final : public models::Encoder {
 public:
  struct Toy final : State {
    std::vector<float> hidden;
  };
  const io::TensorMap& weights() const override { return weights_; }
  const std::string& architecture_name() const override { return name_; }
  int64_t vocab_size() const override { return 100; }
  int64_t hidden_size() const override { return 3; }
  int64_t context_length() const override { return 8; }
  std::unique_ptr<State> new_state(int64_t max_tokens) const override {
    auto s = std::make_unique<Toy>();
    s->hidden.resize(static_cast<size_t>(max_tokens * 3));
    ++states;
    return s;
  }
  const float* encode(State& state, ThreadPool&, const int32_t* tokens, int64_t n) const override {
    auto& h = static_cast<Toy&>(state).hidden;
    for (int64_t i = 0; i < n; ++i) {
      if (tokens[i] < 0 || tokens[i] >= vocab_size()) throw Error("token out of range");
      h[static_cast<size_t>(i * 3)] = static_cast<float>(tokens[i]);
      h[static_cast<size_t>(i * 3 + 1)] = static_cast<float>(i);
      h[static_cast<size_t>(i * 3 + 2)] = 1.0f;
    }
    return h.data();
  }
  mutable std::atomic<int> states{0};

 private:
  io::TensorMap weights_;
  std::string name_ = "toy";
};

TEST(Embedder, EmbedsAnyEncoder) {
  auto enc = std::make_shared<ToyEncoder>();
  auto ids = [](std::string_view s) {
    std::vector<int32_t> v;
    for (char c : s) v.push_back(c - '0');
    return v;
  };
  EmbedConfig cfg;
  cfg.normalize = false;
  std::vector<std::string> texts = {"1", "23", "456", "7", "89"};
  ThreadPool two(2);
  for (const char* mode : {"mean", "cls", "last"}) {
    cfg.pooling = pooling_from_name(mode);
    enc->states = 0;
    auto v = Embedder(enc, ids, cfg).embed(texts, two);
    EXPECT_LE(enc->states.load(), 2) << "one state per worker, not per text";
    // "456": tokens 4, 5, 6 at positions 0, 1, 2.
    const float* r = v.data() + 2 * 3;
    const std::string m = mode;
    EXPECT_FLOAT_EQ(r[0], m == "mean" ? 5.0f : m == "cls" ? 4.0f : 6.0f) << mode;
    EXPECT_FLOAT_EQ(r[1], m == "mean" ? 1.0f : m == "cls" ? 0.0f : 2.0f) << mode;
    EXPECT_FLOAT_EQ(r[2], 1.0f) << mode;
  }
  EXPECT_FALSE(config_from_model("/nonexistent/model.bin", *enc));
}

class ConfigFromModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("loom_embed_cfg_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "1_Pooling");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ConfigFromModel, SentenceTransformersLayoutAndGguf) {
  Stories s = load_stories();
  // No layout beside the data model, and its GGUF carries no pooling_type.
  EXPECT_FALSE(config_from_model(test::data_path("models/stories260K/stories260K.bin"), *s.model));
  write_file_atomic((dir_ / "1_Pooling/config.json").string(),
                    R"({"word_embedding_dimension": 64, "pooling_mode_cls_token": false,
                        "pooling_mode_mean_tokens": false, "pooling_mode_lasttoken": true})");
  auto c = config_from_model((dir_ / "model.gguf").string(), *s.model);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pooling, Pooling::Last);
  EXPECT_FALSE(c->normalize);  // no Normalize module listed
  write_file_atomic(
      (dir_ / "modules.json").string(),
      R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])");
  c = config_from_model(dir_.string(), *s.model);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->normalize);
  // What save_config writes reads back (Loom's own keys win over modules.json).
  EmbedConfig w;
  w.pooling = Pooling::WeightedMean;
  w.normalize = false;
  w.dims = 32;
  w.max_tokens = 48;
  save_config(dir_.string(), w);
  c = config_from_model(dir_.string(), *s.model);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pooling, Pooling::WeightedMean);
  EXPECT_FALSE(c->normalize);
  EXPECT_EQ(c->dims, 32);
  EXPECT_EQ(c->max_tokens, 48);  // sentence_bert_config.json max_seq_length
  write_file_atomic((dir_ / "sentence_bert_config.json").string(), R"({"max_seq_length": -3})");
  EXPECT_THROW(config_from_model(dir_.string(), *s.model), Error);
  std::filesystem::remove(dir_ / "sentence_bert_config.json");
  write_file_atomic((dir_ / "modules.json").string(), "{not json");
  std::filesystem::remove(dir_ / "1_Pooling/config.json");
  write_file_atomic((dir_ / "1_Pooling/config.json").string(),
                    R"({"pooling_mode_mean_tokens": true})");
  EXPECT_THROW(config_from_model(dir_.string(), *s.model), Error);
  write_file_atomic((dir_ / "1_Pooling/config.json").string(),
                    R"({"pooling_mode_max_tokens": true})");
  EXPECT_THROW(config_from_model(dir_.string(), *s.model), Error);
}

// GGUF metadata <arch>.pooling_type (llama.cpp's numbering) names the pooling.
TEST_F(ConfigFromModel, GgufPoolingType) {
  io::TensorMap g = io::read_gguf(test::data_path("models/stories260K/stories260K.gguf"));
  g.set_meta("llama.pooling_type", io::MetaValue::of_uint(3));
  const std::string path = (dir_ / "cls.gguf").string();
  io::write_gguf(path, g);
  auto model = models::load_model(path);
  auto c = config_from_model(path, *model);
  ASSERT_TRUE(c);  // the fixture's 1_Pooling folder is empty, so the GGUF key decides
  EXPECT_EQ(c->pooling, Pooling::Last);
  EXPECT_TRUE(c->normalize);
  g.set_meta("llama.pooling_type", io::MetaValue::of_uint(4));  // rank: not an embedding
  io::write_gguf(path, g);
  model = models::load_model(path);
  EXPECT_THROW(config_from_model(path, *model), Error);
}

// Token-id inputs: a short input gives exactly embed()'s row; a long one is refused by its index,
// or, chunked, is the token-weighted mean of its windows' pooled vectors (mean pooling: 8 tokens
// in windows of 4 = the average of the two windows).
TEST(Embedder, EmbedTokensRefusesOrChunksLongInputs) {
  LOOM_REQUIRE_DATA(test::data_path("models/stories260K/stories260K.bin"));
  Stories s = load_stories();
  ThreadPool pool(2);
  Embedder full(s.model, s.encode(), EmbedConfig{}, 0);
  const std::vector<std::string> texts = {"Once upon a time", "the cat sat"};
  const std::vector<float> want = full.embed(texts, pool);
  std::vector<std::vector<int32_t>> ids = {full.encode(texts[0]), full.encode(texts[1])};
  std::vector<float> got(want.size());
  full.embed_tokens(ids, pool, got.data(), false);
  EXPECT_EQ(got, want);

  EmbedConfig raw;
  raw.normalize = false;
  Embedder small(s.model, s.encode(), raw, 4);
  const std::vector<int32_t> eight = {1, 403, 407, 261, 378, 130, 20, 31};
  std::vector<std::vector<int32_t>> in = {{1, 2}, eight};
  std::vector<float> out(2 * static_cast<size_t>(small.dim()));
  try {
    small.embed_tokens(in, pool, out.data(), false);
    FAIL() << "an 8-token input passed a 4-token window";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 1: 8 tokens"), std::string::npos) << e.what();
  }
  small.embed_tokens(in, pool, out.data(), true);
  std::vector<std::vector<int32_t>> halves = {{eight.begin(), eight.begin() + 4},
                                              {eight.begin() + 4, eight.end()}};
  std::vector<float> h(out.size());
  small.embed_tokens(halves, pool, h.data(), false);
  const size_t d = static_cast<size_t>(small.dim());
  for (size_t j = 0; j < d; ++j) EXPECT_NEAR(out[d + j], 0.5f * (h[j] + h[d + j]), 1e-6) << j;
}

}  // namespace
}  // namespace loom::embed
