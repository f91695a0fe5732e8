// JSON-schema constrained decoding (generate/json_schema.h): the input is a schema, then a NUL
// byte, then a text. Any schema compiles or throws loom::Error; the text is fed to the schema's
// recogniser (and to json_object's) byte by byte, never crashing; a text the recogniser calls
// complete must parse as JSON (nlohmann), or the fuzzer aborts.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "generate/json_schema.h"

namespace {

void check_text(const loom::generate::JsonSchema& schema, const std::string& text) {
  loom::generate::JsonRecognizer r(schema);
  size_t fed = 0;
  for (; fed < text.size(); ++fed)
    if (!r.feed(std::string_view(text).substr(fed, 1))) break;
  if (fed == text.size() && r.complete() &&
      !nlohmann::json::accept(text.begin(), text.end()))
    std::abort();  // the recogniser accepted a text that is not JSON
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string schema_text = in.substr(0, nul);
  const std::string text = nul == std::string::npos ? "" : in.substr(nul + 1);
  check_text(loom::generate::JsonSchema::any_object(), text);
  try {
    check_text(loom::generate::JsonSchema::parse(schema_text, "fuzz"), text);
  } catch (const loom::Error&) {
  }
  return 0;
}
