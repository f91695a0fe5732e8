#include "core/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "core/mapped_file.h"
#include "core/rng.h"

namespace loom {
namespace {

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3.0f / 256), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(INFINITY)), INFINITY);
}

TEST(DType, F16RoundTripsEveryHalf) {
  // Every finite f16 value converts to f32 and back unchanged.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    uint32_t exp = (h >> 10) & 0x1f;
    if (exp == 31 && (h & 0x3ff)) continue;  // NaN payloads
    float f = f16_to_f32(static_cast<uint16_t>(h));
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);  // tie to even
}

TEST(DType, Q8_0MatchesReferenceQuantizer) {
  Rng rng(9);
  std::vector<float> x(64), y(64);
  for (auto& v : x) v = rng.normal();
  std::vector<BlockQ8_0> q(2);
  from_f32(DType::Q8_0, x.data(), q.data(), 64);
  to_f32(DType::Q8_0, q.data(), y.data(), 64);
  for (int b = 0; b < 2; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    float d = f16_to_f32(q[b].d);
    EXPECT_NEAR(d, amax / 127, amax / 127 * 1e-3);
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[b * 32 + j], x[b * 32 + j], d * 0.5f + 1e-3f * amax);
  }
  EXPECT_EQ(dtype_bytes(DType::Q8_0, 64), 68u);
  EXPECT_EQ(dtype_bytes(DType::Q4_0, 64), 36u);
}

TEST(DType, Q4_0RoundTripWithinHalfStep) {
  Rng rng(10);
  std::vector<float> x(32), y(32);
  for (auto& v : x) v = rng.normal();
  BlockQ4_0 q;
  from_f32(DType::Q4_0, x.data(), &q, 32);
  to_f32(DType::Q4_0, &q, y.data(), 32);
  float d = std::fabs(f16_to_f32(q.d));
  for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[j], x[j], d * 0.5f + 1e-3f);
}

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  }
  EXPECT_THROW(dtype_from_name("f64"), Error);
}

TEST(Tensor, OwnsAlignedStorageAndConverts) {
  Tensor t = Tensor::zeros({3, 64});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(t.numel(), 192);
  EXPECT_EQ(t.shape().str(), "(3, 64)");
  for (int i = 0; i < 192; ++i) t.f32()[i] = static_cast<float>(i % 7) - 3.0f;
  Tensor h = t.to(DType::BF16);
  Tensor back = h.to(DType::F32);
  for (int i = 0; i < 192; ++i) EXPECT_EQ(back.f32()[i], t.f32()[i]);
  Tensor q = t.to(DType::Q8_0);
  EXPECT_EQ(q.nbytes(), 3u * 2 * 34);
}

TEST(Tensor, MappedWindowIsBoundsChecked) {
  std::string path = ::testing::TempDir() + "/loom_mapped.bin";
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(v.data()), 24));
  auto f = MappedFile::open(path);
  Tensor t = Tensor::mapped(f, 8, {2, 2}, DType::F32, "w");
  EXPECT_TRUE(t.is_mapped());
  EXPECT_EQ(t.f32()[0], 3.0f);
  EXPECT_EQ(t.f32()[3], 6.0f);
  try {
    Tensor::mapped(f, 12, {2, 2}, DType::F32, "w2");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("loom_mapped.bin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("w2"), std::string::npos) << msg;
  }
  EXPECT_THROW(Tensor::mapped(f, 0, {1, 5}, DType::Q8_0, "q"), Error);
}

TEST(MappedFile, MissingFileAndReaderErrorsNameTheFile) {
  EXPECT_THROW(MappedFile::open("/nonexistent/loom/file"), Error);
  uint8_t bytes[6] = {1, 0, 0, 0, 2, 0};
  ByteReader r(bytes, sizeof bytes, "x.bin");
  EXPECT_EQ(r.read<uint32_t>("a"), 1u);
  try {
    r.read<uint32_t>("count");
    FAIL();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("x.bin: at byte offset 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("count"), std::string::npos) << msg;
  }
}

TEST(MappedFile, AtomicWriteReplacesWholeFile) {
  std::string path = ::testing::TempDir() + "/loom_atomic.txt";
  write_file_atomic(path, "first version");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  EXPECT_THROW(write_file_atomic("/nonexistent/dir/f", "x"), Error);
}

}  // namespace
}  // namespace loom
