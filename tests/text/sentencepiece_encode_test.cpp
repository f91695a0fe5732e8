// SentencePiece encode parity: llama2.c's test.c prompts with the Llama 2 tokenizer (.model and
// .bin), and .bin/.model loaders giving the same vocabulary.
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "test_util.h"
#include "text/sentencepiece.h"

using loom::text::SentencePieceTokenizer;
using loom::text::SpPieceType;

namespace {

std::string llama2(const std::string& f) { return loom::test::data_path("tokenizers/llama2/" + f); }
std::string stories(const std::string& f) {
  return loom::test::data_path("models/stories260K/" + f);
}

void expect_same_vocab(const SentencePieceTokenizer& a, const SentencePieceTokenizer& b) {
  ASSERT_EQ(a.vocab_size(), b.vocab_size());
  for (int32_t i = 0; i < a.vocab_size(); ++i) {
    ASSERT_EQ(a.id_to_piece(i), b.id_to_piece(i)) << "id " << i;
    ASSERT_EQ(a.score(i), b.score(i)) << "id " << i;
    ASSERT_EQ(a.piece_type(i), b.piece_type(i)) << "id " << i;
  }
  EXPECT_EQ(a.bos_id(), b.bos_id());
  EXPECT_EQ(a.eos_id(), b.eos_id());
  EXPECT_EQ(a.unk_id(), b.unk_id());
}

TEST(SentencePieceEncode, Llama2ExpectedEncodings) {
  LOOM_REQUIRE_DATA(llama2("expected_encodings.json"));
  auto cases = nlohmann::json::parse(loom::read_file(llama2("expected_encodings.json")))["cases"];
  ASSERT_EQ(cases.size(), 5u);
  for (const char* file : {"tokenizer.model", "tokenizer.bin"}) {
    auto tok = SentencePieceTokenizer::load(llama2(file));
    EXPECT_EQ(tok.vocab_size(), 32000);
    for (const auto& c : cases) {
      std::string text = c["text"];
      std::vector<int32_t> want = c["expected_ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(tok.encode_ids(text, c["bos"], c["eos"]), want) << file << ": " << text;
      auto e = tok.encode(text, c["bos"], c["eos"]);
      EXPECT_EQ(e.ids, want);
      EXPECT_EQ(tok.decode(e.ids), text) << file;
    }
  }
}

TEST(SentencePieceEncode, BinLoadersMatchModelFiles) {
  expect_same_vocab(SentencePieceTokenizer::load(llama2("tokenizer.model")),
                    SentencePieceTokenizer::load(llama2("tokenizer.bin")));
  expect_same_vocab(SentencePieceTokenizer::load(stories("tok512.model")),
                    SentencePieceTokenizer::load(stories("tok512.bin")));
  auto t = SentencePieceTokenizer::load(stories("tok512.bin"));
  EXPECT_EQ(t.piece_type(0), SpPieceType::kUnknown);
  EXPECT_EQ(t.piece_type(1), SpPieceType::kControl);
  EXPECT_EQ(t.id_to_piece(3), "<0x00>");
  EXPECT_EQ(t.piece_type(258), SpPieceType::kByte);
}

}  // namespace
