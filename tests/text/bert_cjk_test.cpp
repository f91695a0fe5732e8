// CJK compatibility ideographs (U+F900-U+FAFF) under bert-base-uncased: Hugging Face's
// BertNormalizer pads CJK characters with spaces and then strips accents through NFD, which maps
// each compatibility ideograph to its unified ideograph, found in the vocabulary. Loom once
// padded them and skipped the NFD, emitting [UNK] (100).
//
// The expected ids are the unified ideographs' lines in bert-base-uncased's vocab.txt (0-based):
// 車 U+8ECA 1954, 金 U+91D1 1964, 奈 U+5948 1814, 郎 U+90CE 1958, 北 U+5317 1781. (Node's
// tokenizers peer, which writes the parity goldens, was not run for this case.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "text/tokenizer.h"

namespace loom::text {

TEST(BertCjk, CompatibilityIdeographsBecomeTheUnifiedOnes) {
  const std::vector<int32_t> want = {1954, 1964, 1814, 1958, 1781};
  // U+F902 U+F90A U+F90C U+F92C U+F963, then the unified U+8ECA U+91D1 U+5948 U+90CE U+5317.
  const std::string compat = "\uF902\uF90A\uF90C\uF92C\uF963";
  const std::string unified = "\u8ECA\u91D1\u5948\u90CE\u5317";
  for (const char* rel : {"tokenizers/bert-base-uncased/tokenizer.json",
                          "tokenizers/bert-base-uncased/vocab.txt"}) {
    const std::string path = test::data_path(rel);
    LOOM_REQUIRE_DATA(path);
    SCOPED_TRACE(rel);
    auto tok = load_tokenizer(path);
    std::vector<int32_t> ids;
    tok->encode_ids(unified, false, ids);
    EXPECT_EQ(ids, want);
    tok->encode_ids(compat, false, ids);
    EXPECT_EQ(ids, want);
    tok->encode_ids("a\uF967b", false, ids);  // 不 U+F967 -> U+4E0D (1744), split from a and b
    EXPECT_EQ(ids, (std::vector<int32_t>{1037, 1744, 1038}));
  }
}

}  // namespace loom::text
