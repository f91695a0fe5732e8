// An attention map as a PNG (train/canvas.h's raster, train/loss_plot.h's PNG encoder): one cell
// per weight, white for 0 to dark blue for 1, the row labels (output tokens) down the left and
// the column labels (input characters) along the top, with a grid between cells.
#pragma once

#include <string>
#include <vector>

namespace loom::train {

// weights (rows, cols) row-major, rows = row_labels.size(), cols = col_labels.size(); values are
// clamped to [0, 1]. A size mismatch or an empty map is a loom::Error.
std::string attention_heatmap_png(const std::vector<float>& weights,
                                  const std::vector<std::string>& row_labels,
                                  const std::vector<std::string>& col_labels);

}  // namespace loom::train
