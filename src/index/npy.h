// NumPy .npy files (format versions 1.0, 2.0 and 3.0), little-endian, C order: float32 matrices
// for vectors and int64/uint64 vectors for ids. The header is validated before any data is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loom::index {

struct NpyMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // (rows, cols)
};

// Reads a 2-D '<f4' array (a 1-D array is one row). Throws loom::Error naming the file and field.
NpyMatrix read_npy_f32(const std::string& path);
// Reads a 1-D '<i8', '<u8', '<i4' or '<u4' array as uint64 (negative values are an error).
std::vector<uint64_t> read_npy_ids(const std::string& path);
// Writes (rows, cols) float32, atomically.
void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols);
void write_npy_u64(const std::string& path, const std::vector<uint64_t>& v);

// Parses the bytes of a .npy file (exposed for tests and the fuzzer).
NpyMatrix parse_npy_f32(const uint8_t* data, size_t size, const std::string& name);

}  // namespace loom::index
