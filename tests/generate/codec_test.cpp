// Generation end to end with the real tokenizers: llama2.c's three stories260K texts
// (expected.json) from the .bin + tok512.bin and from the .gguf's embedded vocabulary; beam search.
#include "generate/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "generate/generator.h"
#include "test_util.h"

namespace loom::generate {
namespace {

std::string stories(const char* f) {
  return test::data_path(std::string("models/stories260K/") + f);
}

TEST(Generate, Stories260KReproducesLlama2c) {
  LOOM_REQUIRE_DATA(stories("expected.json"));
  auto expected = nlohmann::json::parse(read_file(stories("expected.json")));
  ThreadPool pool(1);
  for (auto [model_file, tok_file] :
       {std::pair{"stories260K.bin", "tok512.bin"}, {"stories260K.gguf", ""}}) {
    auto model = models::load_model(stories(model_file));
    auto codec = load_codec(*model, *tok_file ? stories(tok_file) : "");
    Generator gen(*model, *codec, pool);
    for (const auto& c : expected["cases"]) {
      const auto& a = c["args"];
      SamplerConfig sc;
      sc.temperature = a["temperature"].get<float>();
      sc.top_p = a["topp"].get<float>();
      sc.seed = a["seed"].is_null() ? 0 : a["seed"].get<uint64_t>();
      GenerateOptions opt;
      opt.steps = a["steps"].get<int64_t>();
      std::string streamed;
      auto r = gen.generate(a["prompt"].get<std::string>(), opt, sc, SamplerKind::Llama2c,
                            [&](std::string_view s) { streamed += s; });
      EXPECT_EQ(r.text, c["expected_text"].get<std::string>()) << model_file << " " << c["name"];
      EXPECT_EQ(streamed, r.text);
      EXPECT_EQ(r.prompt, std::vector<int32_t>{1});
    }
  }
}

TEST(Generate, GgufVocabularyEncodesLikeTok512) {
  auto model = models::load_model(stories("stories260K.gguf"));
  auto from_gguf = load_codec(*model, "");
  auto from_bin = load_codec(*model, stories("tok512.bin"));
  for (const char* text : {"Once upon a time, Lily  had a dog.", "Tom said: \"Hi!\"\nMom smiled.",
                           "caf\xC3\xA9 \xE2\x9C\x93 123"}) {
    EXPECT_EQ(from_gguf->encode(text, true), from_bin->encode(text, true)) << text;
  }
  EXPECT_EQ(from_gguf->bos_id(), 1);
  EXPECT_EQ(from_gguf->eos_id(), 2);
}

TEST(Generate, CodecErrors) {
  auto model = models::load_model(stories("stories260K.bin"));
  try {
    load_codec(*model, "");
    FAIL() << "no tokenizer error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pass --tokenizer"), std::string::npos);
  }
  auto big = models::load_model(test::golden_path("models/infer_models/llama.gguf"));  // vocab 61
  EXPECT_THROW(load_codec(*big, stories("tok512.bin")), Error);
}

TEST(BeamSearch, OneBeamIsGreedyAndScoresAreLogProbs) {
  auto model = models::load_model(stories("stories260K.bin"));
  ThreadPool pool(1);
  std::vector<int32_t> prompt = {1, 403, 407};
  auto one = beam_search(*model, pool, prompt, 1, 12, {}, 0.0f);
  ASSERT_EQ(one.size(), 1u);
  models::Session s(*model);
  model->forward(s, pool, prompt.data(), 3);
  std::vector<int32_t> greedy;
  for (int i = 0; i < 12; ++i) {
    int32_t t = argmax(s.logits());
    greedy.push_back(t);
    model->forward(s, pool, &t, 1);
  }
  EXPECT_EQ(one[0].tokens, greedy);
  auto four = beam_search(*model, pool, prompt, 4, 12, {}, 0.0f);
  ASSERT_EQ(four.size(), 4u);
  for (size_t i = 1; i < four.size(); ++i) EXPECT_GE(four[i - 1].score, four[i].score);
  // The reported log-probability is the sequence's own.
  models::Session t(*model);
  model->forward(t, pool, prompt.data(), 3);
  double lp = 0;
  for (int32_t tok : four[0].tokens) {
    const auto& l = t.logits();
    double mx = *std::max_element(l.begin(), l.end()), z = 0;
    for (float v : l) z += std::exp(v - mx);
    lp += l[static_cast<size_t>(tok)] - mx - std::log(z);
    model->forward(t, pool, &tok, 1);
  }
  EXPECT_NEAR(four[0].logprob, lp, 1e-3);
  EXPECT_GE(four[0].logprob, one[0].logprob - 1e-6);
}

}  // namespace
}  // namespace loom::generate
