// `--adapter DIR`'s tokenizer check (adapt/adapter.h): the adapter's tokenizer must cover the
// adapted vocabulary exactly, its ids from the base vocabulary on being added tokens.
#include "adapt/adapter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace loom::adapt {
namespace {

std::string error_of(const text::Tokenizer& tok, int64_t base, int64_t vocab) {
  try {
    check_adapter_tokenizer(tok, "adapter/tokenizer.json", base, vocab);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(AdapterTokenizer, AddedTokensMustBeTheAdaptersNewRows) {
  auto tok = text::load_tokenizer(test::data_path("models/stories260K/tok512.model"));
  const std::vector<text::AddedToken> terms = {{"compiler"}, {"protocol"}, {"network"}};
  ASSERT_EQ(tok->add_tokens(terms), 3);
  EXPECT_EQ(error_of(*tok, 512, 515), "");
  const std::string bigger = error_of(*tok, 512, 516);
  EXPECT_NE(bigger.find("adapter/tokenizer.json: 515 tokens but the adapted model has 516"),
            std::string::npos)
      << bigger;
  // Row 511 is the base tokenizer's own piece, not an added token: indices from 511 disagree.
  const std::string shifted = error_of(*tok, 511, 515);
  EXPECT_NE(shifted.find("token id 511"), std::string::npos) << shifted;
  EXPECT_NE(shifted.find("not an added token"), std::string::npos) << shifted;
}

}  // namespace
}  // namespace loom::adapt
