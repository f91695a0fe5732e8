#include "train/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/png.h"

namespace loom::train {

namespace {

// A 5x7 bitmap font: the characters tick labels and the legend need.
struct Glyph {
  char c;
  const char* rows[7];
};
constexpr Glyph kFont[] = {
    {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
    {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
    {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
    {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
    {'+', {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."}},
    {'a', {".....", ".....", ".###.", "....#", ".####", "#...#", ".####"}},
    {'d', {"....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"}},
    {'e', {".....", ".....", ".###.", "#...#", "#####", "#....", ".###."}},
    {'i', {"..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."}},
    {'l', {".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'n', {".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"}},
    {'o', {".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."}},
    {'p', {".....", ".....", "####.", "#...#", "####.", "#....", "#...."}},
    {'r', {".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."}},
    {'s', {".....", ".....", ".####", "#....", ".###.", "....#", "####."}},
    {'t', {".#...", ".#...", "####.", ".#...", ".#...", ".#..#", "..##."}},
    {'v', {".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
};

struct Rgb {
  uint8_t r, g, b;
};
constexpr Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225}, kTrain{31, 119, 180}, kVal{214, 39, 40};

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), px_(static_cast<size_t>(w) * h * 3, 255) {}
  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  void hline(int x0, int x1, int y, Rgb c) {
    for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) set(x, y, c);
  }
  void vline(int x, int y0, int y1, Rgb c) {
    for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y) set(x, y, c);
  }
  // Bresenham, 2 pixels thick.
  void line(int x0, int y0, int x1, int y1, Rgb c) {
    int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      set(x0, y0, c), set(x0 + 1, y0, c), set(x0, y0 + 1, c);
      if (x0 == x1 && y0 == y1) break;
      int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  static int text_width(const std::string& s) { return static_cast<int>(s.size()) * 6 - 1; }
  void text(int x, int y, const std::string& s, Rgb c) {  // (x, y): top left
    for (char ch : s) {
      for (const Glyph& g : kFont) {
        if (g.c != ch) continue;
        for (int r = 0; r < 7; ++r)
          for (int k = 0; k < 5; ++k)
            if (g.rows[r][k] == '#') set(x + k, y + r, c);
      }
      x += 6;
    }
  }
  const uint8_t* data() const { return px_.data(); }

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

// Round tick spacing (1, 2 or 5 times a power of ten) giving about n intervals over [lo, hi].
double nice_step(double lo, double hi, int n) {
  const double raw = (hi - lo) / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

std::string tick_label(double v, double step) {
  char b[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(b, sizeof b, "%.*f", std::min(decimals, 6), v);
  return b;
}

bool parse_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*v);
}

}  // namespace

int PlotFrame::px(double x) const {
  return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * (right - left)));
}
int PlotFrame::py(double y) const {
  return bottom - static_cast<int>(std::lround((y - y0) / (y1 - y0) * (bottom - top)));
}

LossCurve parse_loss_log(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) throw Error(name + ": empty, expected a header `step,loss,...`");
  std::vector<std::string> cols;
  {
    std::stringstream h(line);
    std::string c;
    while (std::getline(h, c, ',')) cols.push_back(c);
  }
  auto col = [&](const std::string& c) {
    auto it = std::find(cols.begin(), cols.end(), c);
    return it == cols.end() ? -1 : static_cast<int>(it - cols.begin());
  };
  const int c_step = col("step"), c_loss = col("loss"), c_val = col("val_loss");
  if (c_step < 0 || c_loss < 0)
    throw Error(name + ":1: header has no `step` and `loss` columns: " + line);
  LossCurve curve;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) f.push_back(c);
    if (!line.empty() && line.back() == ',') f.emplace_back();
    double s, l, v;
    if (static_cast<int>(f.size()) <= std::max(c_step, c_loss) || !parse_double(f[c_step], &s) ||
        !parse_double(f[c_loss], &l))
      throw Error(name + ":" + std::to_string(line_no) + ": expected numbers in `step` and `loss`");
    curve.step.push_back(s);
    curve.loss.push_back(l);
    if (c_val >= 0 && c_val < static_cast<int>(f.size()) && !f[c_val].empty()) {
      if (!parse_double(f[c_val], &v))
        throw Error(name + ":" + std::to_string(line_no) + ": `val_loss` is not a number");
      curve.val_step.push_back(s);
      curve.val_loss.push_back(v);
    }
  }
  if (curve.step.empty()) throw Error(name + ": no logged steps to plot");
  return curve;
}

LossCurve read_loss_log(const std::string& path) { return parse_loss_log(read_file(path), path); }

PlotFrame loss_plot_frame(const LossCurve& curve, int width, int height) {
  PlotFrame f{};
  f.left = 64, f.right = width - 20, f.top = 30, f.bottom = height - 40;
  double xmin = curve.step.front(), xmax = curve.step.front();
  double ymin = curve.loss.front(), ymax = curve.loss.front();
  for (double x : curve.step) xmin = std::min(xmin, x), xmax = std::max(xmax, x);
  for (double y : curve.loss) ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  for (double y : curve.val_loss) ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1, ymin -= 1;
  const double pad = 0.05 * (ymax - ymin);
  f.x0 = xmin, f.x1 = xmax, f.y0 = ymin - pad, f.y1 = ymax + pad;
  return f;
}

std::string render_loss_png(const LossCurve& curve, int width, int height) {
  if (width < 200 || height < 150) throw Error("loss plot: image must be at least 200x150");
  Canvas cv(width, height);
  const PlotFrame f = loss_plot_frame(curve, width, height);
  // Grid and tick labels.
  const double ys = nice_step(f.y0, f.y1, 6);
  for (double y = std::ceil(f.y0 / ys) * ys; y <= f.y1 + 1e-12; y += ys) {
    const int py = f.py(y);
    cv.hline(f.left, f.right, py, kGrid);
    const std::string t = tick_label(y, ys);
    cv.text(f.left - 6 - Canvas::text_width(t), py - 3, t, kBlack);
  }
  const double xs = std::max(1.0, nice_step(f.x0, f.x1, 8));
  for (double x = std::ceil(f.x0 / xs) * xs; x <= f.x1 + 1e-9; x += xs) {
    const int px = f.px(x);
    cv.vline(px, f.top, f.bottom, kGrid);
    const std::string t = tick_label(x, xs);
    cv.text(px - Canvas::text_width(t) / 2, f.bottom + 6, t, kBlack);
  }
  cv.hline(f.left, f.right, f.bottom, kBlack);
  cv.vline(f.left, f.top, f.bottom, kBlack);
  cv.text((f.left + f.right) / 2 - Canvas::text_width("step") / 2, height - 16, "step", kBlack);
  cv.text(8, 10, "loss", kBlack);
  // Curves: training loss, then validation loss on top.
  auto polyline = [&](const std::vector<double>& xs_, const std::vector<double>& ys_, Rgb c) {
    for (size_t i = 0; i < xs_.size(); ++i) {
      const int x = f.px(xs_[i]), y = f.py(ys_[i]);
      if (i == 0) cv.set(x, y, c);
      else cv.line(f.px(xs_[i - 1]), f.py(ys_[i - 1]), x, y, c);
    }
  };
  polyline(curve.step, curve.loss, kTrain);
  polyline(curve.val_step, curve.val_loss, kVal);
  // Legend, top right.
  int lx = f.right - 110, ly = 10;
  cv.line(lx, ly + 3, lx + 16, ly + 3, kTrain);
  cv.text(lx + 22, ly, "train", kBlack);
  if (!curve.val_step.empty()) {
    cv.line(lx + 56, ly + 3, lx + 72, ly + 3, kVal);
    cv.text(lx + 78, ly, "val", kBlack);
  }
  return encode_png_rgb(cv.data(), width, height);
}

void write_loss_plot(const std::string& log_csv, const std::string& png_path) {
  write_file_atomic(png_path, render_loss_png(read_loss_log(log_csv)));
}

}  // namespace loom::train
