// Decoding the PNG files train/loss_plot.h's encoder writes, for the tests of the figures
// (loss curves, attention heatmaps): checks the signature, every chunk's CRC and the IHDR.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace loom::train::test_png {

inline uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

// Decodes what encode_png writes (8-bit RGB, filter 0), checking every chunk's CRC.
inline std::vector<uint8_t> decode(const std::string& png, int& w, int& h) {
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  size_t at = 8;
  std::string idat;
  std::vector<std::string> types;
  while (at + 12 <= png.size()) {
    const uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4), data = png.substr(at + 8, len);
    const uint32_t crc = be32(png, at + 8 + len);
    EXPECT_EQ(crc, crc32(0, reinterpret_cast<const Bytef*>(png.data() + at + 4), len + 4)) << type;
    types.push_back(type);
    if (type == "IHDR") {
      w = static_cast<int>(be32(data, 0));
      h = static_cast<int>(be32(data, 4));
      EXPECT_EQ(data.substr(8), std::string("\x08\x02\x00\x00\x00", 5));
    } else if (type == "IDAT") {
      idat += data;
    }
    at += 12 + len;
  }
  EXPECT_EQ(at, png.size());
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  std::string raw(static_cast<size_t>(h) * (1 + 3 * w), '\0');
  uLongf n = raw.size();
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &n,
                       reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
            Z_OK);
  EXPECT_EQ(n, raw.size());
  std::vector<uint8_t> px;
  for (int y = 0; y < h; ++y) {
    EXPECT_EQ(raw[static_cast<size_t>(y) * (1 + 3 * w)], 0);
    px.insert(px.end(), raw.begin() + y * (1 + 3 * w) + 1, raw.begin() + (y + 1) * (1 + 3 * w));
  }
  return px;
}

}  // namespace loom::train::test_png
