// Malformed tokenizer files give one loom::Error line naming the file and the field (JSON
// pointer) or byte offset, and what was expected.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace {

using nlohmann::json;

std::string error_of(const std::string& text, const std::string& name = "tok.json") {
  try {
    loom::text::load_tokenizer_json(text, name);
  } catch (const loom::Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.rfind(name, 0), 0u) << m;
    return m;
  }
  ADD_FAILURE() << "no error for " << text.substr(0, 200);
  return "";
}

json small_bpe() {
  return json::parse(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
    "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}})");
}

TEST(BadInput, TruncatedJsonNamesByteOffset) {
  std::string text = small_bpe().dump();
  std::string m = error_of(text.substr(0, 40));
  EXPECT_NE(m.find("byte 40"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid JSON"), std::string::npos) << m;
}

// Found by fuzz_tokenizer_json: a number too large for a double is not a syntax error, and the
// JSON library reports it with another exception type.
TEST(BadInput, NumberOutOfRangeIsAnError) {
  std::string m = error_of(R"({"model": 1e999})");
  EXPECT_NE(m.find("invalid JSON value"), std::string::npos) << m;
}

TEST(BadInput, FieldPaths) {
  json j = small_bpe();
  j["model"]["vocab"]["b"] = "one";
  EXPECT_NE(error_of(j.dump()).find("field /model/vocab/b: expected an integer"),
            std::string::npos);

  j = small_bpe();
  j["model"]["merges"] = {"a b", "a c"};
  EXPECT_NE(error_of(j.dump()).find("/model/merges/1"), std::string::npos);

  j = small_bpe();
  j["model"]["merges"] = {"a b c"};
  EXPECT_NE(error_of(j.dump()).find("/model/merges/0: expected a merge"), std::string::npos);

  j = small_bpe();
  j.erase("model");
  EXPECT_NE(error_of(j.dump()).find("field /model: missing"), std::string::npos);

  j = small_bpe();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Nope"}}}}};
  EXPECT_NE(
      error_of(j.dump()).find("field /pre_tokenizer/pretokenizers/0/type: expected a supported"),
      std::string::npos);

  j = small_bpe();
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(error_of(j.dump()).find("/pre_tokenizer/pattern: cannot compile pattern"),
            std::string::npos);

  j = small_bpe();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  EXPECT_NE(error_of(j.dump()).find("/pre_tokenizer/behavior: expected one of"), std::string::npos);

  j = small_bpe();
  j["added_tokens"] = {{{"id", -3}, {"content", "x"}}};
  EXPECT_NE(error_of(j.dump()).find("/added_tokens/0/id: expected an integer in"),
            std::string::npos);

  j = small_bpe();
  j["model"]["type"] = "WordPiece";
  j["model"]["unk_token"] = "[UNK]";
  EXPECT_NE(error_of(j.dump()).find("/model/unk_token"), std::string::npos);

  j = small_bpe();
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "[CLS]"}}}}}}};
  EXPECT_NE(error_of(j.dump()).find("/post_processor/special_tokens: missing \"[CLS]\""),
            std::string::npos);
}

std::string write_tmp(const std::string& name, const std::string& content) {
  std::string dir = testing::TempDir() + "loom_bad_input";
  std::string cmd = "mkdir -p " + dir;
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string load_error(const std::string& path, std::string names = "") {
  if (names.empty()) names = path.substr(path.rfind('/') + 1);
  try {
    loom::text::load_tokenizer(path);
  } catch (const loom::Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_NE(m.find(names), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

TEST(BadInput, OtherFormats) {
  EXPECT_NE(load_error(write_tmp("vocab.txt", "a\nb\n")).find("[UNK]"), std::string::npos);
  EXPECT_NE(load_error(write_tmp("empty.txt", "")).find("byte 0"), std::string::npos);
  write_tmp("vocab.bpe", "#version: 0.2\na b\nbroken\n");
  std::string m =
      load_error(write_tmp("encoder.json", R"({"a": 0, "b": 1, "ab": 2})"), "vocab.bpe");
  EXPECT_NE(m.find("vocab.bpe: line 3"), std::string::npos) << m;
  // SentencePiece files go to their own reader, whose errors name the protobuf field.
  EXPECT_NE(load_error(write_tmp("tok.model", "xx")).find("ModelProto"), std::string::npos);
  EXPECT_NE(load_error(write_tmp("notjson.json", "hello")).find("byte 0"), std::string::npos);
  EXPECT_NE(load_error("/nonexistent/tokenizer.json").find("no such file"), std::string::npos);
}

TEST(BadInput, TruncatedRealFiles) {
  std::string path = loom::test::data_path("tokenizers/bert-base-uncased/tokenizer.json");
  LOOM_REQUIRE_DATA(path);
  std::string text = loom::read_file(path);
  for (size_t cut : {size_t(0), size_t(1), text.size() / 3, text.size() - 2}) {
    std::string m = error_of(text.substr(0, cut), "bert.json");
    EXPECT_NE(m.find("byte "), std::string::npos) << m;
  }
}

}  // namespace
