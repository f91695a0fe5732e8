// Stop strings for streamed text: holds back just enough text to recognise a stop string that
// spans several tokens, and cuts the output right before the first one found.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loom::generate {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops = {});
  // Adds newly decoded text; returns the text now safe to emit. Once a stop string is seen,
  // stopped() is true and the returned text ends just before it; later pushes return "".
  std::string push(std::string_view text);
  // Whatever is still held back (call at the end when no stop string was found).
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_, matched_;
  bool stopped_ = false;
};

}  // namespace loom::generate
