#include "train/heatmap.h"

#include <algorithm>

#include "core/error.h"
#include "train/canvas.h"
#include "train/loss_plot.h"

namespace loom::train {

namespace {

constexpr int kCell = 20, kPad = 10;
const uint8_t kBlack[3] = {0, 0, 0}, kGridColour[3] = {190, 190, 190};

// 0 -> white, 1 -> (8, 48, 107), linear in between.
void cell_colour(float w, uint8_t* c) {
  const float v = std::clamp(w, 0.0f, 1.0f);
  const float dark[3] = {8, 48, 107};
  for (int k = 0; k < 3; ++k) c[k] = static_cast<uint8_t>(255.0f + (dark[k] - 255.0f) * v + 0.5f);
}

size_t widest(const std::vector<std::string>& labels) {
  size_t n = 0;
  for (const std::string& l : labels) n = std::max(n, l.size());
  return n;
}

}  // namespace

std::string attention_heatmap_png(const std::vector<float>& weights,
                                  const std::vector<std::string>& row_labels,
                                  const std::vector<std::string>& col_labels) {
  const auto rows = static_cast<int>(row_labels.size()), cols = static_cast<int>(col_labels.size());
  if (rows == 0 || cols == 0 || weights.size() != static_cast<size_t>(rows) * cols)
    throw Error("attention heatmap: " + std::to_string(weights.size()) + " weights for " +
                std::to_string(rows) + " x " + std::to_string(cols) + " labels");
  const int left = kPad + static_cast<int>(widest(row_labels)) * kCharW + kPad;
  const int top = kPad + static_cast<int>(widest(col_labels)) * kCharH + kPad;
  const int width = left + cols * kCell + kPad, height = top + rows * kCell + kPad;
  Canvas cv{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, 255)};
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      uint8_t colour[3];
      cell_colour(weights[static_cast<size_t>(r) * cols + c], colour);
      cv.rect(left + c * kCell, top + r * kCell, left + (c + 1) * kCell - 1,
              top + (r + 1) * kCell - 1, colour);
    }
    const std::string& l = row_labels[static_cast<size_t>(r)];
    draw_text(cv, left - kPad - static_cast<int>(l.size()) * kCharW,
              top + r * kCell + (kCell - kCharH) / 2, l, kBlack);
  }
  for (int c = 0; c < cols; ++c) {  // a label's characters stacked top to bottom
    const std::string& l = col_labels[static_cast<size_t>(c)];
    for (size_t k = 0; k < l.size(); ++k)
      draw_text(cv, left + c * kCell + (kCell - kCharW) / 2 + kScale,
                top - kPad - static_cast<int>(l.size() - k) * kCharH, std::string(1, l[k]), kBlack);
  }
  for (int r = 0; r <= rows; ++r)
    cv.line(left, top + r * kCell, left + cols * kCell, top + r * kCell, kGridColour, 1);
  for (int c = 0; c <= cols; ++c)
    cv.line(left + c * kCell, top, left + c * kCell, top + rows * kCell, kGridColour, 1);
  return encode_png(width, height, cv.px);
}

}  // namespace loom::train
