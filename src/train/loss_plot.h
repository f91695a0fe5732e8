// The loss curve of a training run as a PNG: training loss per step and validation loss where it
// was measured, read from the run's log.csv (header `step,loss,...,val_loss`). Axes with tick
// values, a legend, no outside dependency (core/png.h).
#pragma once

#include <string>
#include <vector>

namespace loom::train {

struct LossCurve {
  std::vector<double> step, loss;          // every logged step
  std::vector<double> val_step, val_loss;  // steps with a validation loss
};

// Parses a log.csv; a missing column or a malformed number is a loom::Error naming file and line.
LossCurve parse_loss_log(const std::string& text, const std::string& name);
LossCurve read_loss_log(const std::string& path);

// Draws the curve (width x height pixels, RGB) and returns the PNG file's bytes.
std::string render_loss_png(const LossCurve& curve, int width = 800, int height = 480);

// read_loss_log + render_loss_png + an atomic write to png_path.
void write_loss_plot(const std::string& log_csv, const std::string& png_path);

// Plot geometry, exposed so tests can find where a value is drawn.
struct PlotFrame {
  int left, right, top, bottom;  // plot area in pixels (inclusive)
  double x0, x1, y0, y1;         // data range mapped onto it
  int px(double x) const;
  int py(double y) const;
};
PlotFrame loss_plot_frame(const LossCurve& curve, int width, int height);

}  // namespace loom::train
