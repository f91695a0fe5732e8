// Line-oriented text formats (JSONL and the like): calls fn(line, line_number) for each line that
// holds more than spaces, tabs and a carriage return; numbers are 1-based and count every line.
#pragma once

#include <cstddef>
#include <string_view>

namespace loom {

template <typename Fn>
void for_each_nonblank_line(std::string_view text, Fn&& fn) {
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) fn(line, line_no);
  }
}

}  // namespace loom
