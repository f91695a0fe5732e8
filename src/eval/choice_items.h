// Multiple-choice items from JSONL, one object per line as lm-evaluation-harness's multiple-choice
// documents are usually written: {"context": "...", "choices": ["...", ...], "gold": 0}.
// Errors name the file and line and what was expected; blank lines are skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eval/multiple_choice.h"

namespace loom::eval {

std::vector<ChoiceItem> parse_choice_items_jsonl(std::string_view text, const std::string& name);

}  // namespace loom::eval
