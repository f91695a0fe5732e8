// libFuzzer: a SentencePiece .model from arbitrary bytes that loads either converts to a
// tokenizer.json pipeline or throws loom::Error; a converted pipeline encodes a fixed text, takes
// an added token, and its tokenizer.json loads back and encodes alike.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "text/sentencepiece.h"
#include "text/sentencepiece_convert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto sp = loom::text::SentencePieceTokenizer::from_model_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.model");
    auto tok = loom::text::sentencepiece_to_pipeline(sp.proto(), "fuzz.model");
    const char* text = "  Hello, w\xC3\xB6rld! \xE4\xBD\xA0\xE5\xA5\xBD \xFF<s> 12345  ";
    std::vector<int32_t> a, b;
    tok->encode_ids(text, true, a);
    tok->decode(a, true);
    loom::text::AddedToken t;
    t.content = "rld";
    tok->add_tokens(std::span<const loom::text::AddedToken>(&t, 1));
    a.clear();
    tok->encode_ids(text, true, a);
    auto back = loom::text::load_tokenizer_json(tok->to_json(), "fuzz.json");
    back->encode_ids(text, true, b);
    if (a != b) __builtin_trap();
  } catch (const loom::Error&) {
  }
  return 0;
}
