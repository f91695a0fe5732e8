// Inputs of `loom embed` (text lines, JSONL with chosen fields) and the definition-retrieval TSV
// of `loom eval retrieval`: any bytes parse or throw loom::Error, never crash.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "embed/inputs.h"
#include "retrieval/definitions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  loom::embed::parse_text_lines(text);
  std::vector<std::string> issues;
  loom::embed::JsonlOptions o;
  o.fields = {"title", "text"};
  o.skip_malformed = true;
  o.issues = &issues;
  try {
    loom::embed::parse_jsonl_items(text, "fuzz.jsonl", o);
  } catch (const loom::Error&) {
  }
  o.skip_malformed = false;
  o.id_field = size % 2 ? "" : "_id";
  try {
    loom::embed::parse_jsonl_items(text, "fuzz.jsonl", o);
  } catch (const loom::Error&) {
  }
  std::vector<std::string> tsv_issues;
  for (int64_t every : {1, 3}) {
    try {
      loom::retrieval::definitions_task(text, "fuzz.tsv", every, {every == 3, &tsv_issues});
    } catch (const loom::Error&) {
    }
  }
  return 0;
}
