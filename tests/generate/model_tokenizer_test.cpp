// text::find_model_tokenizer on real model files and on folders laid out like a Hugging Face model
// directory or a llama2.c checkpoint with its tokenizer.
#include "text/model_tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "test_util.h"

namespace loom::text {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "loom_model_tok_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string touch(const std::string& name) const {
    std::ofstream(path / name) << "x";
    return (path / name).string();
  }
};

TEST(FindModelTokenizer, GgufCarriesItsOwnUnlessAskedForFiles) {
  const std::string m = test::data_path("models/stories260K");
  LOOM_REQUIRE_DATA(m + "/stories260K.gguf");
  auto in_gguf = find_model_tokenizer(m + "/stories260K.gguf");
  ASSERT_TRUE(in_gguf.has_value());
  EXPECT_TRUE(in_gguf->in_gguf);
  EXPECT_EQ(in_gguf->path, m + "/stories260K.gguf");
  // The staged folder holds tok512.model/.bin, which are named with --tokenizer, not guessed.
  EXPECT_FALSE(find_model_tokenizer(m + "/stories260K.gguf", {.gguf_vocab = false}).has_value());
  EXPECT_FALSE(find_model_tokenizer(m + "/stories260K.bin").has_value());
}

TEST(FindModelTokenizer, FolderFilesInOrder) {
  TempDir d;
  const std::string weights = d.touch("model.safetensors");
  EXPECT_FALSE(find_model_tokenizer(d.path.string()).has_value());
  const std::string sp = d.touch("tokenizer.model");
  EXPECT_EQ(find_model_tokenizer(d.path.string())->path, sp);
  const std::string json = d.touch("tokenizer.json");
  EXPECT_EQ(find_model_tokenizer(d.path.string())->path, json);  // tokenizer.json first
  EXPECT_EQ(find_model_tokenizer(weights)->path, json);          // beside the weights file
  EXPECT_FALSE(find_model_tokenizer(weights)->in_gguf);
  EXPECT_EQ(model_folder(weights), d.path.string());
  EXPECT_EQ(model_folder(d.path.string()), d.path.string());
}

TEST(FindModelTokenizer, GivenPathWinsAndNoneIsAnError) {
  TempDir d;
  const std::string weights = d.touch("model.bin");
  EXPECT_EQ(model_tokenizer(weights, "/x/tok512.model").path, "/x/tok512.model");
  try {
    model_tokenizer(weights, "");
    FAIL() << "no tokenizer was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(weights), std::string::npos) << what;
    EXPECT_NE(what.find("pass --tokenizer"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace loom::text
