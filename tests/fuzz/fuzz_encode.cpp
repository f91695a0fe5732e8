// libFuzzer: encode arbitrary bytes with the real GPT-2 (encoder.json + vocab.bpe) and BERT
// (tokenizer.json) tokenizers and a Unigram tokenizer.json with SentencePiece's nmt_nfkc
// Precompiled normalizer (tests/reference/text/sp_unigram1k.tokenizer.json), loaded once from LOOM_DATA
// (default ../shared/data beside the source tree). Ids stay in range, offsets inside the input, and
// byte-level BPE round-trips.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "test_util.h"
#include "text/tokenizer.h"

namespace {

struct Tokenizers {
  std::unique_ptr<loom::text::Tokenizer> gpt2 =
      loom::text::load_tokenizer(loom::test::data_path("tokenizers/gpt2/encoder.json"));
  std::unique_ptr<loom::text::Tokenizer> bert = loom::text::load_tokenizer(
      loom::test::data_path("tokenizers/bert-base-uncased/tokenizer.json"));
  std::unique_ptr<loom::text::Tokenizer> unigram =
      loom::text::load_tokenizer(loom::test::golden_path("text/sp_unigram1k.tokenizer.json"));
};

void check(const loom::text::Tokenizer& tok, std::string_view s, bool round_trip) {
  auto e = tok.encode(s, true);
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (e.ids[i] < 0 || e.ids[i] >= tok.vocab_size()) __builtin_trap();
    if (e.offsets[i].begin > e.offsets[i].end || e.offsets[i].end > s.size()) __builtin_trap();
  }
  if (round_trip) {
    auto plain = tok.encode(s, false);
    if (tok.decode(plain.ids, false) != s) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Tokenizers toks;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  check(*toks.gpt2, s, true);
  check(*toks.bert, s, false);
  check(*toks.unigram, s, false);
  return 0;
}
