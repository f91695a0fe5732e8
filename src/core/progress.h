// A progress bar on stderr with rate and ETA, for anything longer than a second. Silent when
// stderr is not a terminal unless forced, so logs and tests stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace loom {

class Progress {
 public:
  // total 0 means unknown; unit names what is counted ("tok", "MB").
  Progress(std::string label, int64_t total, std::string unit, bool enabled);
  ~Progress();
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");

 private:
  void draw(const std::string& extra, bool final);
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Whether stderr is an interactive terminal.
bool stderr_is_tty();

}  // namespace loom
