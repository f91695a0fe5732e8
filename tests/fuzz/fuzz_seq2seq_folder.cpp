// The text files of a `loom seq2seq train` run folder that `loom seq2seq eval|translate` read:
// the first byte picks the reader, the rest is the file.
//   0: config.json (train::parse_seq2seq_config: sizes bounded before any model is built)
//   1: src_vocab.txt / tgt_vocab.txt (train::CharVocab::parse), then a round trip through it
// Any input must end in success or loom::Error; crashes and sanitizer reports are bugs.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "train/dates.h"
#include "train/seq2seq_run.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 2;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (kind == 0) {
      (void)loom::train::parse_seq2seq_config(text, "config.json");
    } else {
      const loom::train::CharVocab v = loom::train::CharVocab::parse(text, "src_vocab.txt");
      const std::string again = v.text();
      (void)v.decode(v.encode("3 March 2021", 0));
      (void)loom::train::CharVocab::parse(again, "again");
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
