// PNG encoding of 8-bit RGB images, dependency-free: zlib "stored" (uncompressed) deflate blocks
// with the CRC-32 and Adler-32 the format requires. Fine for charts and small images; every PNG
// reader opens them.
#pragma once

#include <cstdint>
#include <string>

namespace loom {

// rgb: height rows of width pixels, 3 bytes each, top row first. Returns the whole file.
std::string encode_png_rgb(const uint8_t* rgb, int width, int height);

// CRC-32 (ISO 3309, as PNG chunks use) and Adler-32 (zlib), exposed for tests.
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);
uint32_t adler32(const uint8_t* data, size_t n, uint32_t adler = 1);

}  // namespace loom
