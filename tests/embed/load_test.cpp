// embed::load_embedder on the real stories260K files: the GGUF's own vocabulary and the named
// tok512.model give the same vectors, the named SentencePiece file works for the llama2.c .bin,
// a .bin without a tokenizer is an error naming it, and the caller's options override the
// defaults.
#include "embed/load.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace loom::embed {
namespace {

TEST(LoadEmbedder, GgufVocabularyNamedTokenizerAndOptions) {
  const std::string m = test::data_path("models/stories260K");
  LOOM_REQUIRE_DATA(m + "/stories260K.gguf");
  ThreadPool pool(1);
  const std::vector<std::string> texts{"Once upon a time", "a compiler translates programs"};
  LoadedEmbedder own = load_embedder(m + "/stories260K.gguf");
  EXPECT_FALSE(own.config_from_model);  // no pooling in this GGUF: the defaults
  EXPECT_EQ(own.embedder->config().pooling, Pooling::Mean);
  EXPECT_TRUE(own.embedder->config().normalize);
  EXPECT_EQ(own.embedder->dim(), 64);
  EmbedderOptions named;
  named.tokenizer = m + "/tok512.model";
  LoadedEmbedder bin = load_embedder(m + "/stories260K.bin", named);
  EXPECT_EQ(own.embedder->embed(texts, pool), bin.embedder->embed(texts, pool));

  EmbedderOptions o = named;
  o.pooling = Pooling::Last;
  o.normalize = false;
  o.dims = 16;
  o.max_tokens = 8;
  LoadedEmbedder custom = load_embedder(m + "/stories260K.bin", o);
  EXPECT_EQ(custom.embedder->config().pooling, Pooling::Last);
  EXPECT_FALSE(custom.embedder->config().normalize);
  EXPECT_EQ(custom.embedder->dim(), 16);
  EXPECT_EQ(custom.embedder->max_tokens(), 8);
  o.dims = -1;
  EXPECT_THROW(load_embedder(m + "/stories260K.bin", o), Error);
  try {
    load_embedder(m + "/stories260K.bin");
    FAIL() << "a .bin without a tokenizer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stories260K.bin"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loom::embed
