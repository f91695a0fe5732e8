// libFuzzer target: the word2vec text, word2vec binary and GloVe readers. Any bytes either parse
// (and then survive a write and a re-read with the same rows) or throw loom::Error.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "wordvec/vectors.h"

using loom::wordvec::VectorFormat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto f : {VectorFormat::kWord2VecText, VectorFormat::kWord2VecBinary,
                 VectorFormat::kGloveText}) {
    loom::wordvec::Vectors v;
    try {
      v = loom::wordvec::parse_vectors(bytes, f, "fuzz.vec").vectors;
    } catch (const loom::Error&) {
      continue;
    }
    std::string out;
    try {
      out = loom::wordvec::format_vectors(v, f);
    } catch (const loom::Error&) {
      continue;  // a word the format cannot hold (e.g. a tab-free binary word with a newline)
    }
    auto back = loom::wordvec::parse_vectors(out, f, "fuzz.out").vectors;
    if (back.size() != v.size() || back.data() != v.data()) std::abort();
  }
  return 0;
}
