// Element types and their conversions: f32, f16, bf16, and GGUF's block formats Q8_0 and Q4_0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace loom {

enum class DType : uint8_t { F32, F16, BF16, Q8_0, Q4_0, I32, I8 };

// Quantized formats store rows as blocks of kQBlock elements.
constexpr int64_t kQBlock = 32;

// Q8_0 block: one f16 scale, then 32 signed bytes; x = d * q.
struct BlockQ8_0 {
  uint16_t d;
  int8_t q[kQBlock];
};
// Q4_0 block: one f16 scale, then 16 bytes of nibbles; element i < 16 in the low nibble of byte i,
// element i >= 16 in the high nibble of byte i - 16; x = d * (nibble - 8).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18);

const char* dtype_name(DType t);
// Parses a name printed by dtype_name (case-insensitive); throws loom::Error otherwise.
DType dtype_from_name(const std::string& name);
int64_t dtype_block_elems(DType t);  // 32 for block formats, 1 otherwise
size_t dtype_block_bytes(DType t);   // bytes of one block (or one element)
// Bytes of n elements; n must be a multiple of the block size (checked by the caller).
inline size_t dtype_bytes(DType t, int64_t n) {
  return static_cast<size_t>(n / dtype_block_elems(t)) * dtype_block_bytes(t);
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Round to nearest even; NaN stays a (quiet) NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even, overflow to inf

// Row conversions: n elements (a multiple of the block size for Q formats).
void to_f32(DType src_type, const void* src, float* dst, int64_t n);
void from_f32(DType dst_type, const float* src, void* dst, int64_t n);

}  // namespace loom
