// Token-classification data (train/token_classify_data.h) on bert-base-uncased's real WordPiece
// vocabulary: the first byte picks the format (bit 0: JSONL, else CoNLL) and a length limit (bit
// 1: 6 tokens); the rest is the file, parsed, given the sorted tags as labels and encoded. Any
// input must end in success or loom::Error, and what parses must hold 1..limit ids in the
// vocabulary, one tag per id that is -100 or a label index, at most one label per word, and a
// positive line number.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"
#include "test_util.h"
#include "train/objectives.h"
#include "train/token_classify_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<loom::text::Tokenizer> tok =
      loom::text::load_tokenizer(loom::test::data_path("tokenizers/bert-base-uncased/vocab.txt"));
  if (size < 1) return 0;
  const int64_t limit = data[0] & 2 ? 6 : 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const auto sentences = loom::train::parse_tagged_sentences(text, "fuzz", data[0] & 1);
    const auto names = loom::train::tag_names(sentences);
    const auto examples = loom::train::encode_tagged(sentences, names, *tok, limit, "fuzz");
    if (examples.size() != sentences.size()) std::abort();
    for (size_t k = 0; k < examples.size(); ++k) {
      const auto& e = examples[k];
      if (e.ids.empty() || (limit > 0 && static_cast<int64_t>(e.ids.size()) > limit)) std::abort();
      if (e.tags.size() != e.ids.size() || e.line < 1) std::abort();
      size_t labelled = 0;
      for (int32_t t : e.tags) {
        if (t == loom::train::kIgnoreLabel) continue;
        if (t < 0 || static_cast<size_t>(t) >= names.size()) std::abort();
        ++labelled;
      }
      if (labelled > sentences[k].words.size()) std::abort();
      for (int32_t id : e.ids)
        if (id < 0 || id >= tok->vocab_size()) std::abort();
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
