// libFuzzer: a terms file for `loom adapt extend` (one term per line or mine-terms TSV) from
// arbitrary bytes either parses into non-empty, distinct, valid UTF-8 terms or throws loom::Error.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "adapt/extend.h"
#include "core/error.h"
#include "text/unicode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto terms = loom::adapt::parse_terms(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.txt");
    std::set<std::string> seen;
    if (terms.empty()) __builtin_trap();
    for (const auto& t : terms) {
      if (t.empty() || !loom::text::utf8_valid(t) || !seen.insert(t).second) __builtin_trap();
      if (t.find('\n') != std::string::npos || t.find('\t') != std::string::npos) __builtin_trap();
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
