// Arbitrary bytes, including invalid UTF-8, never crash any tokenizer; ids and offsets stay in
// range; byte-level BPE round-trips every byte string exactly.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "test_util.h"
#include "text/tokenizer.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOOM_UNDER_SANITIZER 1
#endif
#endif

namespace {

using loom::test::data_path;

#ifdef LOOM_UNDER_SANITIZER
constexpr int kScale = 6;  // fewer cases under sanitizers (same generator, a prefix of it)
#else
constexpr int kScale = 1;
#endif

std::string random_bytes(loom::Rng& rng, size_t max_len) {
  std::string s(rng.below(max_len + 1), '\0');
  int mode = int(rng.below(4));
  for (auto& c : s) {
    switch (mode) {
      case 0:
        c = char(rng.below(256));
        break;  // any byte
      case 1:
        c = char(rng.below(2) ? 0x80 + rng.below(64) : rng.below(128));
        break;  // stray continuations
      case 2:
        c = " \t\n\r'sA1!\xC3\xA9\xE2\x80\x8B"[rng.below(14)];
        break;  // whitespace/regex edges
      default:
        c = char(0xC0 + rng.below(64));
        break;  // lead bytes only
    }
  }
  return s;
}

void fuzz(const std::string& file, bool byte_level, int n) {
  LOOM_REQUIRE_DATA(file);
  auto tok = loom::text::load_tokenizer(file);
  loom::Rng rng(42);
  for (int i = 0; i < n / kScale; ++i) {
    std::string s = random_bytes(rng, 160);
    if (i % 50 == 0) s += "<|endoftext|>[CLS][SEP]";
    auto e = tok->encode(s, i % 2 == 0);
    ASSERT_EQ(e.ids.size(), e.offsets.size());
    for (size_t k = 0; k < e.ids.size(); ++k) {
      ASSERT_GE(e.ids[k], 0);
      ASSERT_LT(e.ids[k], tok->vocab_size());
      ASSERT_LE(e.offsets[k].begin, e.offsets[k].end);
      ASSERT_LE(e.offsets[k].end, s.size());
    }
    std::string back = tok->decode(e.ids, true);
    if (byte_level) {
      auto plain = tok->encode(s, false);
      ASSERT_EQ(tok->decode(plain.ids, false), s) << "case " << i;
    }
    if (byte_level) {
      // Tokens cover the input in order: offsets never go backwards.
      for (size_t k = 1; k < e.offsets.size(); ++k)
        ASSERT_LE(e.offsets[k - 1].end, e.offsets[k].begin + 0u);
    }
  }
}

TEST(Robustness, Gpt2RandomBytes) { fuzz(data_path("tokenizers/gpt2/encoder.json"), true, 3000); }
TEST(Robustness, Llama3RandomBytes) {
  fuzz(data_path("tokenizers/llama3/tokenizer.json"), true, 3000);
}
TEST(Robustness, BertRandomBytes) {
  fuzz(data_path("tokenizers/bert-base-uncased/tokenizer.json"), false, 3000);
}
TEST(Robustness, BertVocabTxtRandomBytes) {
  fuzz(data_path("tokenizers/bert-base-uncased/vocab.txt"), false, 1000);
}

}  // namespace
