// Generation with any text::Tokenizer (TokenizerCodec): byte-level BPE (GPT-2), the tokenizer.json
// of a converted SentencePiece model, streaming that never splits a UTF-8 character, and greedy
// continuations of the random-weight GPT-2 and Llama reference models against PyTorch
// (tests/reference/generate/generate_gpt2_greedy.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "generate/codec.h"
#include "generate/generator.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/unicode.h"

namespace loom::generate {
namespace {

// Ids only: the reference models have 61-token vocabularies without a tokenizer.
class IdsOnlyCodec : public TokenCodec {
 public:
  explicit IdsOnlyCodec(int32_t n) : n_(n) {}
  std::vector<int32_t> encode(std::string_view, bool) const override { return {}; }
  std::string piece_text(int32_t, int32_t t) const override { return std::to_string(t) + " "; }
  int32_t bos_id() const override { return -1; }
  int32_t eos_id() const override { return -1; }
  int32_t vocab_size() const override { return n_; }

 private:
  int32_t n_;
};

TEST(TokenizerCodec, GreedyContinuationsMatchPyTorch) {
  auto g = test::load_golden_json("generate/generate_gpt2_greedy.json");
  ThreadPool pool(1);
  for (const char* key : {"gpt2", "llama"}) {
    auto model = models::load_model(test::golden_path(g[key]["model"].get<std::string>()));
    IdsOnlyCodec codec(static_cast<int32_t>(model->vocab_size()));
    Generator gen(*model, codec, pool);
    for (const auto& c : g[key]["cases"]) {
      auto prompt = c["prompt"].get<std::vector<int32_t>>();
      auto want = c["continuation"].get<std::vector<int32_t>>();
      SamplerConfig sc;
      sc.temperature = 0;
      GenerateOptions opt;
      opt.steps = 0;
      opt.max_new_tokens = static_cast<int64_t>(want.size());
      auto r = gen.generate_ids(prompt, opt, sc, SamplerKind::Standard);
      EXPECT_EQ(r.tokens, want) << key;
    }
  }
}

std::string joined(const TokenCodec& codec, const std::vector<int32_t>& ids) {
  std::string out;
  for (size_t i = 1; i < ids.size(); ++i) out += codec.piece_text(ids[i - 1], ids[i]);
  return out;
}

TEST(TokenizerCodec, Gpt2PiecesRebuildTheText) {
  const std::string enc = test::data_path("tokenizers/gpt2/encoder.json");
  LOOM_REQUIRE_DATA(enc);
  TokenizerCodec codec(text::load_tokenizer(enc));
  EXPECT_EQ(codec.vocab_size(), 50257);
  EXPECT_EQ(codec.bos_id(), 50256);
  for (const char* text : {"Hello world, this is GPT-2.", " leading space\nand a newline",
                           "caf\xC3\xA9 \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82!"}) {
    std::vector<int32_t> ids = codec.encode(text, true);
    ASSERT_EQ(ids.front(), 50256);
    EXPECT_EQ(joined(codec, ids), text);
  }
  // "🙂" is split into byte tokens: single pieces end inside the character.
  std::vector<int32_t> ids = codec.encode("\xF0\x9F\x99\x82", false);
  ASSERT_GT(ids.size(), 1u);
  EXPECT_FALSE(text::utf8_valid(codec.piece_text(-1, ids[0])));
}

TEST(TokenizerCodec, Utf8StreamNeverSplitsACharacter) {
  const std::string text = "a\xC3\xA9\xE4\xB8\x96\xF0\x9F\x99\x82z";
  for (size_t chunk = 1; chunk <= 3; ++chunk) {
    Utf8Stream s;
    std::string all;
    for (size_t i = 0; i < text.size(); i += chunk) {
      std::string out = s.push(std::string_view(text).substr(i, chunk));
      EXPECT_TRUE(text::utf8_valid(out)) << chunk << " " << i;
      all += out;
    }
    all += s.flush();
    EXPECT_EQ(all, text);
  }
  Utf8Stream bad;  // bytes that can never become valid are not held forever
  EXPECT_EQ(bad.push("\xFF"
                     "a"),
            "\xFF"
            "a");
  EXPECT_EQ(bad.push("\xE4\xB8"), "");
  EXPECT_EQ(bad.flush(), "\xE4\xB8");
}

TEST(TokenizerCodec, ConvertedSentencePieceMatchesSentencePieceCodec) {
  const std::string model_path = test::data_path("models/stories260K/tok512.model");
  LOOM_REQUIRE_DATA(model_path);
  auto tok = text::load_tokenizer(model_path);
  std::vector<text::AddedToken> add(1);
  add[0].content = "compiler";
  tok->add_tokens(add);  // switches to the tokenizer.json pipeline
  auto json_tok = text::load_tokenizer_json(tok->to_json(), "converted");
  TokenizerCodec conv(std::move(json_tok));
  SentencePieceCodec sp(text::SentencePieceTokenizer::load(model_path));
  const std::string text = "Once upon a time, Lily saw a caf\xC3\xA9 \xE2\x9C\x93 and 123 dogs.";
  std::vector<int32_t> ids = sp.encode(text, true);
  EXPECT_EQ(conv.encode(text, true), ids);
  EXPECT_EQ(joined(conv, ids), joined(sp, ids));
  EXPECT_EQ(joined(conv, ids), text);
  // The added term prints with the space its match swallowed.
  std::vector<int32_t> with_term = conv.encode("the compiler works", true);
  EXPECT_EQ(joined(conv, with_term), "the compiler works");
}

}  // namespace
}  // namespace loom::generate

namespace loom::generate {

// tokenizer_for_model: the GGUF's own SentencePiece vocabulary (converted to a pipeline) encodes
// like tok512.model (GGUF does not record tok512's collapsing of repeated spaces, so the texts have
// none); a llama2.c .bin holds no tokenizer, so it is an error naming the file.
TEST(TokenizerForModel, GgufVocabularyOrAnError) {
  const std::string m = test::data_path("models/stories260K");
  LOOM_REQUIRE_DATA(m + "/stories260K.gguf");
  auto from_gguf = tokenizer_for_model(m + "/stories260K.gguf", "");
  auto given = tokenizer_for_model(m + "/stories260K.gguf", m + "/tok512.model");
  EXPECT_EQ(from_gguf->vocab_size(), 512);
  std::vector<int32_t> a, b;
  for (const char* s : {"Once upon a time, Lily saw a big red ball.", "a tab\there", "ünïcödé"}) {
    from_gguf->encode_ids(s, true, a);
    given->encode_ids(s, true, b);
    EXPECT_EQ(a, b) << s;
  }
  text::AddedToken t;
  t.content = "compiler";
  EXPECT_EQ(from_gguf->add_tokens(std::span<const text::AddedToken>(&t, 1)), 1);  // a pipeline
  from_gguf->encode_ids("compiler", false, a);
  EXPECT_EQ(a, std::vector<int32_t>{512});
  try {
    tokenizer_for_model(m + "/stories260K.bin", "");
    FAIL() << "a .bin without a tokenizer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stories260K.bin"), std::string::npos) << e.what();
  }
}

}  // namespace loom::generate
