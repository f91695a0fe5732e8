// The pairs file of `loom train-embed`: the first byte picks the reader (bit 0: TSV or JSONL)
// and whether malformed lines are skipped (bit 1); the rest is the file. Any input must end in
// success or loom::Error; what parses must hold non-empty queries and positives.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "train/contrastive_trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool jsonl = data[0] & 1, skip = data[0] & 2;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> issues;
  loom::train::PairsOptions o;
  o.skip_bad = skip;
  o.issues = &issues;
  try {
    const auto pairs = jsonl ? loom::train::parse_pairs_jsonl(text, "fuzz.jsonl", o)
                             : loom::train::parse_pairs_tsv(text, "fuzz.tsv", o);
    for (const auto& p : pairs)
      if (p.query.empty() || p.positive.empty()) std::abort();
    if (!skip && !issues.empty()) std::abort();
  } catch (const loom::Error&) {
  }
  return 0;
}
