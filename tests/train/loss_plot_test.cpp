// The loss-curve PNG: a valid PNG (signature, chunk CRCs, IHDR, inflated pixels equal to what was
// drawn), log.csv parsing, and a plot that shows both curves.
#include "train/loss_plot.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "png_decode.h"

namespace loom::train {
namespace {

using test_png::decode;

TEST(LossPlot, PngRoundTripsThroughZlib) {
  std::vector<uint8_t> px(5 * 3 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 37);
  int w = 0, h = 0;
  EXPECT_EQ(decode(encode_png(5, 3, px), w, h), px);
  EXPECT_EQ(w, 5);
  EXPECT_EQ(h, 3);
}

TEST(LossPlot, ParsesTheTrainLogAndNamesBadLines) {
  const std::string csv =
      "step,loss,lr,grad_norm,tokens_per_s,val_loss\n"
      "0,,,,,5.0021\n"
      "1,6.25552,0.0005,10.2899,11006.2,\n"
      "2,4.74980,0.001,6.7417,12995.4,4.5\n";
  LossCurve c = parse_loss_log(csv, "log.csv");
  EXPECT_EQ(c.step, (std::vector<double>{1, 2}));
  EXPECT_EQ(c.loss, (std::vector<double>{6.25552, 4.74980}));
  EXPECT_EQ(c.val_step, (std::vector<double>{0, 2}));
  EXPECT_EQ(c.val_loss, (std::vector<double>{5.0021, 4.5}));
  try {
    parse_loss_log(csv + "3,abc,1,1,1,\n", "log.csv");
    ADD_FAILURE() << "accepted a bad loss";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("log.csv: line 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_loss_log("1,2,3\n", "log.csv"), Error);
}

TEST(LossPlot, DrawsBothCurvesDeterministically) {
  LossCurve c;
  for (int i = 1; i <= 50; ++i) {
    c.step.push_back(i);
    c.loss.push_back(5.0 / (1 + 0.1 * i));
  }
  c.val_step = {0, 25, 50};
  c.val_loss = {5.2, 2.4, 1.9};
  const auto a = draw_loss_curve(c, 400, 300), b = draw_loss_curve(c, 400, 300);
  EXPECT_EQ(a, b);
  int blue = 0, orange = 0;
  for (size_t i = 0; i < a.size(); i += 3) {
    blue += a[i] == 31 && a[i + 1] == 119 && a[i + 2] == 180;
    orange += a[i] == 255 && a[i + 1] == 127 && a[i + 2] == 14;
  }
  EXPECT_GT(blue, 300);    // the train line (2 px wide) across the plot
  EXPECT_GT(orange, 150);  // the held-out line and its three markers
  // An empty curve still draws the axes.
  const auto empty = draw_loss_curve(LossCurve{}, 200, 150);
  EXPECT_EQ(empty.size(), 200u * 150 * 3);
}

}  // namespace
}  // namespace loom::train
