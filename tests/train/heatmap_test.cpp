// The attention heatmap PNG (train/heatmap.h): a valid PNG sized by its labels, each cell's colour
// from its weight (white at 0, dark blue at 1, monotone between), labels drawn in black, and a
// size mismatch refused.
#include "train/heatmap.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "png_decode.h"

namespace loom::train {
namespace {

struct Pixel {
  int r, g, b;
};

TEST(Heatmap, CellsTakeTheirWeightsColourAndLabelsAreDrawn) {
  const std::vector<float> w = {1.0f, 0.0f,  0.5f,   // row "2"
                                0.0f, 0.25f, 1.0f};  // row "<eos>"
  const std::string png = attention_heatmap_png(w, {"2", "<eos>"}, {"M", "a", "y"});
  int width = 0, height = 0;
  const std::vector<uint8_t> px = test_png::decode(png, width, height);
  // Layout (heatmap.cpp): 10 px padding, labels 12 px per character wide and 14 px high, 20 px
  // cells: the grid starts at x = 10 + 5·12 + 10 = 80, y = 10 + 14 + 10 = 34.
  EXPECT_EQ(width, 80 + 3 * 20 + 10);
  EXPECT_EQ(height, 34 + 2 * 20 + 10);
  auto at = [&](int x, int y) {
    const size_t i = (static_cast<size_t>(y) * width + x) * 3;
    return Pixel{px[i], px[i + 1], px[i + 2]};
  };
  auto centre = [&](int r, int c) { return at(80 + c * 20 + 10, 34 + r * 20 + 10); };
  EXPECT_EQ(centre(0, 0).r, 8);  // weight 1: (8, 48, 107)
  EXPECT_EQ(centre(0, 0).b, 107);
  EXPECT_EQ(centre(0, 1).r, 255);  // weight 0: white
  EXPECT_EQ(centre(1, 2).g, 48);
  EXPECT_GT(centre(1, 1).r, centre(0, 2).r);  // 0.25 lighter than 0.5
  EXPECT_GT(centre(0, 2).r, centre(0, 0).r);
  int black_left = 0, black_top = 0;  // the labels' ink
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < 80 - 5; ++x) black_left += at(x, y).r == 0 && at(x, y).b == 0;
  for (int y = 0; y < 34 - 5; ++y)
    for (int x = 80; x < width; ++x) black_top += at(x, y).r == 0 && at(x, y).b == 0;
  EXPECT_GT(black_left, 40);
  EXPECT_GT(black_top, 40);
}

TEST(Heatmap, RefusesASizeMismatch) {
  EXPECT_THROW(attention_heatmap_png({0.5f, 0.5f}, {"a"}, {"x", "y", "z"}), Error);
  EXPECT_THROW(attention_heatmap_png({}, {}, {}), Error);
}

}  // namespace
}  // namespace loom::train
