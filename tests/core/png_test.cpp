#include "core/png.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"

namespace loom {

TEST(Png, ChecksumsMatchTheirStandardCheckValues) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xCBF43926u);
  const std::string w = "Wikipedia";
  EXPECT_EQ(adler32(reinterpret_cast<const uint8_t*>(w.data()), w.size()), 0x11E60398u);
}

uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint8_t>(s[at + 3]);
}

TEST(Png, EncodesAnImageThatDecodesBackExactly) {
  // 300x250 RGB: more than one 65535-byte stored block.
  const int w = 300, h = 250;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 7 + i / 13);
  const std::string png = encode_png_rgb(rgb.data(), w, h);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // Walk the chunks, checking each CRC; collect IDAT.
  size_t at = 8;
  std::string idat, types;
  while (at < png.size()) {
    const uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    types += type + " ";
    const auto* body = reinterpret_cast<const uint8_t*>(png.data() + at + 4);
    EXPECT_EQ(crc32(body, len + 4), be32(png, at + 8 + len)) << type;
    if (type == "IHDR") {
      EXPECT_EQ(be32(png, at + 8), static_cast<uint32_t>(w));
      EXPECT_EQ(be32(png, at + 12), static_cast<uint32_t>(h));
    }
    if (type == "IDAT") idat += png.substr(at + 8, len);
    at += 12 + len;
  }
  EXPECT_EQ(types, "IHDR IDAT IEND ");
  // Undo the stored deflate blocks and the per-row filter byte.
  ASSERT_EQ(static_cast<uint8_t>(idat[0]), 0x78);
  std::string raw;
  size_t p = 2;
  for (;;) {
    const bool last = idat[p] & 1;
    const size_t len = static_cast<uint8_t>(idat[p + 1]) | (static_cast<uint8_t>(idat[p + 2]) << 8);
    const size_t nlen = static_cast<uint8_t>(idat[p + 3]) | (static_cast<uint8_t>(idat[p + 4]) << 8);
    ASSERT_EQ(len ^ 0xffff, nlen);
    raw += idat.substr(p + 5, len);
    p += 5 + len;
    if (last) break;
  }
  EXPECT_EQ(adler32(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()), be32(idat, p));
  ASSERT_EQ(raw.size(), static_cast<size_t>(h) * (w * 3 + 1));
  for (int y = 0; y < h; ++y) {
    ASSERT_EQ(raw[static_cast<size_t>(y) * (w * 3 + 1)], 0);  // filter: none
    ASSERT_EQ(0, std::memcmp(raw.data() + static_cast<size_t>(y) * (w * 3 + 1) + 1,
                             rgb.data() + static_cast<size_t>(y) * w * 3, w * 3));
  }
  EXPECT_THROW(encode_png_rgb(rgb.data(), 0, 5), Error);
}

}  // namespace loom
