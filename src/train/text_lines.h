// Text files as training documents: one document per non-empty line, with a held-out split by
// line number, shared by `loom train --text` and `loom data tokenize` so both see the same tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace loom::train {

// Calls fn(line, held_out) for every non-empty line of text (without its '\n'); held_out is true
// when heldout_every > 0 and the line's 1-based number is divisible by it (so with N = 10 lines
// 10, 20, 30, ... are held out). Empty lines count for the numbering but are skipped.
void for_each_line(std::string_view text, int64_t heldout_every,
                   const std::function<void(std::string_view line, bool held_out)>& fn);

}  // namespace loom::train
