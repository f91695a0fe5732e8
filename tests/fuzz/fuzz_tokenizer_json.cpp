// libFuzzer: tokenizer.json loader from arbitrary bytes. Bad input must end in loom::Error, never
// a crash; a tokenizer that loads must encode and decode without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto tok = loom::text::load_tokenizer_json(text, "fuzz.json");
    for (std::string_view s : {std::string_view("Hello, world! 123 \xC3\xA9t\xC3\xA9"),
                               std::string_view("\xFF\xFE ab  \n", 8), text.substr(0, 64)}) {
      auto e = tok->encode(s, true);
      for (int32_t id : e.ids) {
        if (id < 0 || id >= tok->vocab_size()) __builtin_trap();
      }
      tok->decode(e.ids, false);
    }
    tok->to_json();
  } catch (const loom::Error&) {
  }
  return 0;
}
