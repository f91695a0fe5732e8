// Chat templates: any bytes as a template. Parsing, then rendering on a small fixed conversation,
// must end in success or loom::Error (never a crash, a hang or unbounded recursion).
#include <cstdint>
#include <string>

#include "core/error.h"
#include "text/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string src(reinterpret_cast<const char*>(data), size);
  try {
    const loom::text::ChatTemplate t(src, "fuzz");
    loom::text::ChatTokens tok;
    tok.bos_token = "<s>";
    tok.eos_token = "</s>";
    const std::vector<loom::text::ChatMessage> msgs = {
        {"system", "Be brief."}, {"user", " Hi \n"}, {"assistant", "Hello ✓"}};
    t.render(msgs, false, tok);
    t.render(msgs, true, tok);
  } catch (const loom::Error&) {
  }
  return 0;
}
