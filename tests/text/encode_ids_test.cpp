// encode_ids replaces its output for every kind of tokenizer: callers reuse one vector per line
// (loom train, loom data tokenize, loom embed). An appending implementation once made training
// on a tokenizer.json quadratic in the corpus (6 GB for 3,000 FOLDOC lines).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "text/tokenizer.h"

namespace loom::text {

TEST(EncodeIds, ReplacesTheOutputForEveryTokenizerKind) {
  for (const char* rel : {"tokenizers/gpt2/encoder.json", "tokenizers/bert-base-uncased/tokenizer.json",
                          "tokenizers/llama3/tokenizer.json", "models/stories260K/tok512.model",
                          "models/stories260K/tok512.bin"}) {
    const std::string path = test::data_path(rel);
    LOOM_REQUIRE_DATA(path);
    SCOPED_TRACE(rel);
    auto tok = load_tokenizer(path);
    std::vector<int32_t> once, reused{7, 7, 7};
    tok->encode_ids("Hello world, twice.", true, once);
    ASSERT_FALSE(once.empty());
    tok->encode_ids("something else first", true, reused);
    tok->encode_ids("Hello world, twice.", true, reused);
    EXPECT_EQ(reused, once);
    tok->encode_ids("Hello world, twice.", false, reused);
    std::vector<int32_t> plain;
    tok->encode_ids("Hello world, twice.", false, plain);
    EXPECT_EQ(reused, plain);
  }
}

}  // namespace loom::text
