// Multiple-choice JSONL items: any bytes parse or throw loom::Error, never crash; a parsed item
// has at least 2 non-empty choices and a gold index among them, and tokenises (byte tokens).
#include <cstdint>
#include <string>

#include "core/error.h"
#include "eval/choice_items.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loom::eval;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<ChoiceItem> items;
  try {
    items = parse_choice_items_jsonl(text, "fuzz.jsonl");
  } catch (const loom::Error&) {
    return 0;
  }
  const Encode bytes = [](const std::string& s) {
    std::vector<int32_t> ids{0};
    for (unsigned char c : s) ids.push_back(c);
    return ids;
  };
  for (const ChoiceItem& item : items) {
    if (item.choices.size() < 2 || item.gold < 0 ||
        item.gold >= static_cast<int64_t>(item.choices.size()))
      __builtin_trap();
    const TokenizedChoices t = tokenize_choices(item, bytes);  // must not throw: choices non-empty
    for (const auto& c : t.choices)
      if (c.empty()) __builtin_trap();
  }
  return 0;
}
