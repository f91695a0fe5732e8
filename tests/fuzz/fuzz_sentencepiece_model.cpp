// libFuzzer: a SentencePiece .model from arbitrary bytes either loads or throws loom::Error; a
// loaded model encodes and decodes a fixed text without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "text/sentencepiece.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto tok = loom::text::SentencePieceTokenizer::from_model_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.model");
    auto e =
        tok.encode("  Hello, w\xC3\xB6rld! \xE4\xBD\xA0\xE5\xA5\xBD \xFF<s> 12345  ", true, true);
    tok.decode(e.ids);
  } catch (const loom::Error&) {
  }
  return 0;
}
