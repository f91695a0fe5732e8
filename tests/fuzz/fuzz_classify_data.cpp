// Classification data (train/classify_data.h) on bert-base-uncased's real WordPiece vocabulary:
// the first byte picks the format (bit 0: JSONL, else TSV with a header), a length limit (bit 1:
// 8 tokens) and a label count (bit 2: 2 labels, else any); the rest is the file. Any input must
// end in success or loom::Error, and what parses must hold 1..limit ids in the vocabulary, a
// label in range and a positive line number.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"
#include "test_util.h"
#include "train/classify_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<loom::text::Tokenizer> tok =
      loom::text::load_tokenizer(loom::test::data_path("tokenizers/bert-base-uncased/vocab.txt"));
  if (size < 1) return 0;
  loom::train::ClassifyDataOptions o;
  o.tokenizer = tok.get();
  o.max_len = data[0] & 2 ? 8 : 0;
  o.num_labels = data[0] & 4 ? 2 : 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    for (const auto& e : loom::train::parse_classify_data(text, "fuzz", data[0] & 1, o)) {
      if (e.ids.empty() || (o.max_len > 0 && static_cast<int64_t>(e.ids.size()) > o.max_len))
        std::abort();
      if (e.label < 0 || (o.num_labels > 0 && e.label >= o.num_labels) || e.line < 1) std::abort();
      for (int32_t id : e.ids)
        if (id < 0 || id >= tok->vocab_size()) std::abort();
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
