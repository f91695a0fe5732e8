#include "core/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>

namespace loom {
namespace {

TEST(HugePages, LargeVectorsAre2MiBAlignedAndHoldTheirValues) {
  HugeVector<uint32_t> v(kHugePageBytes / 4 + 3);  // just over one huge page
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kHugePageBytes, 0u);
  std::iota(v.begin(), v.end(), 0u);
  v.resize(3 * kHugePageBytes / 4);  // regrows: moved into a new aligned block
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kHugePageBytes, 0u);
  for (size_t i = 0; i < kHugePageBytes / 4 + 3; ++i) ASSERT_EQ(v[i], i);
  EXPECT_EQ(v.back(), 0u);
}

TEST(HugePages, SmallVectorsAndCopiesWork) {
  HugeVector<float> a(10, 1.5f);
  HugeVector<float> b = a;
  b.push_back(2.0f);
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(b.size(), 11u);
  EXPECT_EQ(b[9], 1.5f);
  EXPECT_EQ(b[10], 2.0f);
  HugeVector<float> big(kHugePageBytes, 0.25f);
  big = a;
  big.shrink_to_fit();  // the large block is freed through its own path, a small one taken
  EXPECT_EQ(big.size(), 10u);
  EXPECT_EQ(big[3], 1.5f);
}

}  // namespace
}  // namespace loom
