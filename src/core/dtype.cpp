#include "core/dtype.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace loom {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8_0: return "q8_0";
    case DType::Q4_0: return "q4_0";
    case DType::I32: return "i32";
    case DType::I8: return "i8";
  }
  return "?";
}

DType dtype_from_name(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::I32,
                  DType::I8}) {
    if (n == dtype_name(t)) return t;
  }
  throw Error("unknown dtype '" + name + "': expected f32, f16, bf16, q8_0, q4_0, i32 or i8");
}

int64_t dtype_block_elems(DType t) {
  return (t == DType::Q8_0 || t == DType::Q4_0) ? kQBlock : 1;
}

size_t dtype_block_bytes(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::Q8_0: return sizeof(BlockQ8_0);
    case DType::Q4_0: return sizeof(BlockQ4_0);
    case DType::I32: return 4;
    case DType::I8: return 1;
  }
  return 0;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while ((man & 0x400u) == 0);
      u = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | man << 13;
  } else {
    u = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // result is subnormal or zero: scale into the subnormal grid
    float a;
    std::memcpy(&a, &abs, 4);
    // a * 2^24 is the subnormal mantissa; nearbyint rounds half to even.
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t mant_odd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to nearest even
  return static_cast<uint16_t>(sign | (abs >> 13));
}

void to_f32(DType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::F16: {
      auto s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::BF16: {
      auto s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::Q8_0: {
      auto b = static_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n / kQBlock; ++i) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQBlock; ++j) dst[i * kQBlock + j] = d * b[i].q[j];
      }
      return;
    }
    case DType::Q4_0: {
      auto b = static_cast<const BlockQ4_0*>(src);
      for (int64_t i = 0; i < n / kQBlock; ++i) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          dst[i * kQBlock + j] = d * (static_cast<int>(b[i].qs[j] & 0x0f) - 8);
          dst[i * kQBlock + j + kQBlock / 2] = d * (static_cast<int>(b[i].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    case DType::I32: {
      auto s = static_cast<const int32_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    case DType::I8: {
      auto s = static_cast<const int8_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = s[i];
      return;
    }
  }
}

namespace {

// x (n) -> n / 32 blocks, ggml's reference quantizer: d = amax / 127, q = round(x / d).
void quantize_q8_0(const float* src, BlockQ8_0* b, int64_t n) {
  for (int64_t i = 0; i < n / kQBlock; ++i) {
    const float* x = src + i * kQBlock;
    float amax = 0;
    for (int j = 0; j < kQBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    float d = amax / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < kQBlock; ++j) b[i].q[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

// x (n) -> n / 32 blocks, ggml's reference: d = max / -8 where max has the largest magnitude;
// byte j holds element j in its low nibble and element j + 16 in its high one.
void quantize_q4_0(const float* src, BlockQ4_0* b, int64_t n) {
  for (int64_t i = 0; i < n / kQBlock; ++i) {
    const float* x = src + i * kQBlock;
    float amax = 0, max = 0;
    for (int j = 0; j < kQBlock; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    float d = max / -8.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < kQBlock / 2; ++j) {
      int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      int q1 = std::min(15, static_cast<int>(x[j + kQBlock / 2] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

}  // namespace

void from_f32(DType t, const float* src, void* dst, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::F16: {
      auto d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::BF16: {
      auto d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::Q8_0:
      quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), n);
      return;
    case DType::Q4_0:
      quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), n);
      return;
    case DType::I32: {
      auto d = static_cast<int32_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<int32_t>(std::lrint(src[i]));
      return;
    }
    case DType::I8: {
      auto d = static_cast<int8_t*>(dst);
      for (int64_t i = 0; i < n; ++i)
        d[i] = static_cast<int8_t>(std::clamp(std::lrint(src[i]), -128L, 127L));
      return;
    }
  }
}

}  // namespace loom
