#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace loom {

bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (enabled_ && !finished_ && done_ > 0) std::fputc('\n', stderr);
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = done;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw(extra, false);
}

void Progress::finish(const std::string& extra) {
  if (!enabled_ || finished_) return;
  draw(extra, true);
  std::fputc('\n', stderr);
  finished_ = true;
}

void Progress::draw(const std::string& extra, bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  char buf[256];
  if (total_ > 0) {
    double frac = static_cast<double>(done_) / static_cast<double>(total_);
    int filled = static_cast<int>(frac * 30);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(30, '.');
    double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
    std::snprintf(buf, sizeof buf, "\r%s [%s] %3.0f%% %.1f %s/s %s %.0fs", label_.c_str(),
                  bar.c_str(), frac * 100, rate, unit_.c_str(), final ? "in" : "ETA",
                  final ? secs : eta);
  } else {
    std::snprintf(buf, sizeof buf, "\r%s %lld %s %.1f %s/s %.0fs", label_.c_str(),
                  static_cast<long long>(done_), unit_.c_str(), rate, unit_.c_str(), secs);
  }
  std::fprintf(stderr, "%s %s\033[K", buf, extra.c_str());
  std::fflush(stderr);
}

}  // namespace loom
