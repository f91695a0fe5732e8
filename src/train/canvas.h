// A small RGB raster for the PNG figures the trainers write (train/loss_plot.h's loss curves,
// train/heatmap.h's attention maps): pixels, rectangles, lines, and text in a built-in 5x7 font
// (digits, ASCII letters, and the punctuation labels use), drawn at kScale.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace loom::train {

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;
  void set(int x, int y, const uint8_t* c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    std::copy(c, c + 3, px.begin() + (static_cast<size_t>(y) * w + x) * 3);
  }
  void rect(int x0, int y0, int x1, int y1, const uint8_t* c) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) set(x, y, c);
  }
  void line(int x0, int y0, int x1, int y1, const uint8_t* c, int thick) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      rect(x0, y0, x0 + thick - 1, y0 + thick - 1, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
};

// The 5x7 glyph of ch (rows top to bottom, bit 4 = leftmost column); null for a space and for
// characters the font lacks (drawn blank).
const uint8_t* glyph(char ch);

constexpr int kScale = 2, kCharW = 6 * kScale, kCharH = 7 * kScale;

// s at (x, y), its top-left corner, kCharW per character.
void draw_text(Canvas& cv, int x, int y, const std::string& s, const uint8_t* c);

}  // namespace loom::train
