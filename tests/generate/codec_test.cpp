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

}  // namespace
}  // namespace loom::generate
