// Every case of llama.cpp's tokenizer tests (ids produced by Hugging Face tokenizers, no special
// tokens) must give identical ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace {

using loom::test::data_path;

void check_cases(const std::string& tokenizer_file, const std::string& cases_file) {
  LOOM_REQUIRE_DATA(tokenizer_file);
  LOOM_REQUIRE_DATA(cases_file);
  auto tok = loom::text::load_tokenizer(tokenizer_file);
  auto j = nlohmann::json::parse(loom::read_file(cases_file));
  int n = 0, bad = 0;
  for (const auto& c : j["cases"]) {
    std::string text = c["text"];
    std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    loom::text::Encoding e = tok->encode(text, false);
    if (e.ids != want) ++bad;
    EXPECT_EQ(e.ids, want) << "text: " << nlohmann::json(text).dump();
    ++n;
  }
  EXPECT_GE(n, 40);
  std::printf("%s: %d cases, %d mismatches\n", cases_file.c_str(), n, bad);
}

TEST(LlamacppVocab, Gpt2EncoderJson) {
  check_cases(data_path("tokenizers/gpt2/encoder.json"),
              data_path("tokenizers/gpt2/llamacpp_vocab_test.json"));
}

TEST(LlamacppVocab, Llama3TokenizerJson) {
  check_cases(data_path("tokenizers/llama3/tokenizer.json"),
              data_path("tokenizers/llama3/llamacpp_vocab_test.json"));
}

TEST(LlamacppVocab, BertTokenizerJson) {
  check_cases(data_path("tokenizers/bert-base-uncased/tokenizer.json"),
              data_path("tokenizers/bert-base-uncased/llamacpp_vocab_test.json"));
}

TEST(LlamacppVocab, BertVocabTxt) {
  check_cases(data_path("tokenizers/bert-base-uncased/vocab.txt"),
              data_path("tokenizers/bert-base-uncased/llamacpp_vocab_test.json"));
}

}  // namespace
