#include "train/loss_plot.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace loom::train {

namespace {

// Pixel (x, y) of a PNG written by encode_png_rgb (stored deflate blocks, filter 0).
struct Decoded {
  int w = 0, h = 0;
  std::string raw;
  const uint8_t* at(int x, int y) const {
    return reinterpret_cast<const uint8_t*>(raw.data()) + static_cast<size_t>(y) * (w * 3 + 1) +
           1 + static_cast<size_t>(x) * 3;
  }
};
uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint8_t>(s[at + 3]);
}
Decoded decode(const std::string& png) {
  Decoded d;
  d.w = static_cast<int>(be32(png, 16));
  d.h = static_cast<int>(be32(png, 20));
  const uint32_t ihdr_len = be32(png, 8);
  const size_t idat = 8 + 12 + ihdr_len;
  const std::string z = png.substr(idat + 8, be32(png, idat));
  size_t p = 2;
  for (;;) {
    const bool last = z[p] & 1;
    const size_t len = static_cast<uint8_t>(z[p + 1]) | (static_cast<uint8_t>(z[p + 2]) << 8);
    d.raw += z.substr(p + 5, len);
    p += 5 + len;
    if (last) break;
  }
  return d;
}

}  // namespace

TEST(LossPlot, ParsesTheTrainLog) {
  LossCurve c = parse_loss_log(
      "step,loss,lr,grad_norm,tokens_per_s,val_loss\n1,5.5,0.001,1.2,900,\n2,5.0,0.001,1.1,900,"
      "4.9\n3,4.5,0.001,1,900,\n",
      "log.csv");
  EXPECT_EQ(c.step, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(c.loss, (std::vector<double>{5.5, 5.0, 4.5}));
  EXPECT_EQ(c.val_step, (std::vector<double>{2}));
  EXPECT_EQ(c.val_loss, (std::vector<double>{4.9}));
}

TEST(LossPlot, BadLogsNameFileAndLine) {
  try {
    parse_loss_log("step,loss\n1,2\n2,x\n", "run/log.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run/log.csv:3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_loss_log("", "l"), Error);
  EXPECT_THROW(parse_loss_log("epoch,value\n1,2\n", "l"), Error);
  EXPECT_THROW(parse_loss_log("step,loss\n", "l"), Error);
  EXPECT_THROW(parse_loss_log("step,loss,val_loss\n1,2,nan\n", "l"), Error);
}

TEST(LossPlot, DrawsEachPointWhereTheFrameMapsIt) {
  LossCurve c;
  for (int s = 1; s <= 50; ++s) {
    c.step.push_back(s);
    c.loss.push_back(4.0 - 2.0 * s / 50.0);
    if (s % 10 == 0) {
      c.val_step.push_back(s);
      c.val_loss.push_back(4.2 - 2.0 * s / 50.0);
    }
  }
  const std::string png = render_loss_png(c, 640, 400);
  Decoded d = decode(png);
  ASSERT_EQ(d.w, 640);
  ASSERT_EQ(d.h, 400);
  const PlotFrame f = loss_plot_frame(c, 640, 400);
  // The training line is blue (31,119,180) at its points; the validation line red on top.
  for (size_t i = 0; i < c.step.size(); i += 7) {
    const uint8_t* px = d.at(f.px(c.step[i]), f.py(c.loss[i]));
    EXPECT_EQ(px[0], 31) << "train point " << i;
    EXPECT_EQ(px[2], 180) << "train point " << i;
  }
  for (size_t i = 0; i < c.val_step.size(); ++i) {
    const uint8_t* px = d.at(f.px(c.val_step[i]), f.py(c.val_loss[i]));
    EXPECT_EQ(px[0], 214) << "val point " << i;
  }
  // The data range fits in the frame, and the corner outside it stays white.
  EXPECT_LT(f.top, f.py(c.loss.front()));     // the highest value (first training loss)
  EXPECT_GT(f.bottom, f.py(c.val_loss.back()));  // the lowest (last validation loss)
  EXPECT_EQ(d.at(2, d.h - 2)[0], 255);
}

}  // namespace loom::train
