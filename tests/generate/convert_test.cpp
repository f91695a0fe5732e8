// generate/convert.h: a SentencePiece tokenizer written as GGUF metadata reads back as the same
// tokenizer (sentencepiece_gguf_meta is the inverse of sentencepiece_proto_from_gguf) and holds
// what llama.cpp's converter wrote for stories260K; convert_model's errors leave nothing behind.
#include "generate/convert.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "generate/codec.h"
#include "test_util.h"
#include "text/sentencepiece.h"

namespace loom::generate {
namespace {

namespace fs = std::filesystem;

std::string stories(const std::string& f) { return test::data_path("models/stories260K/" + f); }

io::TensorMap as_map(const std::map<std::string, io::MetaValue>& meta) {
  io::TensorMap m("meta", "gguf");
  for (const auto& [k, v] : meta) m.set_meta(k, v);
  return m;
}

TEST(ConvertTokenizer, SentencePieceMetaReadsBack) {
  LOOM_REQUIRE_DATA(stories("tok512.bin"));
  for (const char* file : {"tok512.bin", "tok512.model"}) {
    SCOPED_TRACE(file);
    const auto tok = text::SentencePieceTokenizer::load(stories(file));
    const text::SentencePieceModelProto& p = tok.proto();
    const text::SentencePieceModelProto back =
        sentencepiece_proto_from_gguf(as_map(sentencepiece_gguf_meta(p)));
    ASSERT_EQ(back.pieces.size(), p.pieces.size());
    for (size_t i = 0; i < p.pieces.size(); ++i) {
      EXPECT_EQ(back.pieces[i].piece, p.pieces[i].piece) << i;
      EXPECT_EQ(back.pieces[i].score, p.pieces[i].score) << i;
      EXPECT_EQ(back.pieces[i].type, p.pieces[i].type) << i;
    }
    EXPECT_EQ(back.trainer_spec.bos_id, p.trainer_spec.bos_id);
    EXPECT_EQ(back.trainer_spec.eos_id, p.trainer_spec.eos_id);
    EXPECT_EQ(back.trainer_spec.unk_id, p.trainer_spec.unk_id);
  }
}

// The vocabulary llama.cpp's converter embedded in stories260K.gguf, key by key.
TEST(ConvertTokenizer, MatchesLlamaCppsStories260K) {
  LOOM_REQUIRE_DATA(stories("stories260K.gguf"));
  const io::TensorMap ref = io::read_gguf(stories("stories260K.gguf"));
  const auto meta =
      sentencepiece_gguf_meta(text::SentencePieceTokenizer::load(stories("tok512.bin")).proto());
  for (const char* key :
       {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
    SCOPED_TRACE(key);
    const io::MetaValue& want = *ref.find_meta(key);
    const io::MetaValue& got = meta.at(key);
    EXPECT_EQ(got.gguf_type, want.gguf_type);
    ASSERT_EQ(got.array.size(), want.array.size());
    for (size_t i = 0; i < want.array.size(); ++i) {
      EXPECT_EQ(got.array[i].s, want.array[i].s) << i;
      EXPECT_EQ(got.array[i].number(), want.array[i].number()) << i;
    }
  }
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id"})
    EXPECT_EQ(meta.at(key).number(), ref.find_meta(key)->number()) << key;
}

TEST(ConvertModel, ErrorsLeaveNothing) {
  const fs::path dir = fs::temp_directory_path() / ("loom_convert_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  ConvertOptions o;
  o.model = (dir / "missing.bin").string();
  o.out = (dir / "x.gguf").string();
  EXPECT_THROW(convert_model(o), Error);
  o.model = test::golden_path("models/infer_models/llama.gguf");
  o.type = "q4_k";
  EXPECT_THROW(convert_model(o), Error);
  o.type = "";
  o.to = "onnx";
  EXPECT_THROW(convert_model(o), Error);
  EXPECT_FALSE(fs::exists(o.out));
  o.to = "hf";
  o.out = (dir / "busy").string();
  fs::create_directories(o.out);
  write_file_atomic(o.out + "/keep.txt", "mine");
  EXPECT_THROW(convert_model(o), Error);
  EXPECT_EQ(read_file(o.out + "/keep.txt"), "mine");
  // Success: a GGUF with no tokenizer reports none.
  o.out = (dir / "ok").string();
  const ConvertResult r = convert_model(o);
  EXPECT_EQ(r.format, "hf");
  EXPECT_TRUE(fs::exists(o.out + "/config.json"));
  EXPECT_EQ(r.tokenizer, "");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loom::generate
