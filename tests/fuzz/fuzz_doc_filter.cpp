// Metadata filter parsing (Chroma-style `where` JSON), type checking and SQL generation (over the
// JSON column and over the meta_values side table): any
// bytes parse or throw loom::Error, never crash.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "retrieval/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loom::retrieval;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::map<std::string, FieldType> fields = {
      {"year", FieldType::kNumber}, {"lang", FieldType::kString}, {"ok", FieldType::kBool}};
  try {
    Filter f = parse_filter(text, "fuzz.where");
    for (const bool indexed : {false, true}) {
      std::vector<FilterValue> params;
      const std::string sql =
          indexed ? filter_sql_indexed(f, 1, "doc", &params) : filter_sql(f, "meta", &params);
      size_t marks = 0;
      for (char c : sql) marks += c == '?' ? 1 : 0;
      if (marks != params.size()) __builtin_trap();  // every placeholder has its value
    }
    check_filter(f, fields);
  } catch (const loom::Error&) {
  }
  return 0;
}
