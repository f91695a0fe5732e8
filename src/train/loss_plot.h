// The loss curve of a training run as a PNG: training loss per step and validation loss at the
// steps it was measured, read from the run's log.csv, drawn on axes with labelled ticks. The PNG
// writer is ours (RGB, 8 bits, zlib deflate); no plotting library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loom::train {

struct LossCurve {
  std::vector<double> step, loss;          // every logged step with a training loss
  std::vector<double> val_step, val_loss;  // the steps with a validation loss (step 0 included)
};

// Parses log.csv as `loom train` writes it (header "step,loss,lr,grad_norm,tokens_per_s,val_loss";
// empty fields allowed; columns after val_loss, as `loom train --task dpo` logs, are ignored). A
// malformed line is a loom::Error naming the file and line number.
LossCurve parse_loss_log(const std::string& csv, const std::string& name);

// width x height RGB pixels (row-major, 3 bytes each) as a PNG file's bytes.
std::string encode_png(int width, int height, const std::vector<uint8_t>& rgb);

// Draws the curve (train: blue line; validation: orange line with square markers) into a
// width x height RGB image; deterministic for the same curve. An empty curve gives empty axes.
std::vector<uint8_t> draw_loss_curve(const LossCurve& c, int width, int height);

// parse_loss_log + draw_loss_curve + encode_png, written atomically to png_path.
void write_loss_plot(const std::string& csv_path, const std::string& png_path, int width = 720,
                     int height = 420);

}  // namespace loom::train
