#include "train/text_lines.h"

namespace loom::train {

void for_each_line(std::string_view text, int64_t heldout_every,
                   const std::function<void(std::string_view, bool)>& fn) {
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) fn(line, heldout_every > 0 && line_no % heldout_every == 0);
    pos = end + 1;
  }
}

}  // namespace loom::train
