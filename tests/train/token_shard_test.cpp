#include "train/token_shard.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::train {
namespace {

std::string tmp(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(TokenShard, RoundTripsBothWidths) {
  for (uint32_t vocab : {512u, 100000u}) {
    TokenShardWriter w(vocab, 2);
    w.add_document({5, 6, 7});
    w.add_document({});
    w.add_document({static_cast<int32_t>(vocab - 1)});
    std::string p = tmp("shard" + std::to_string(vocab) + ".bin");
    w.write(p);
    TokenShard s = TokenShard::open(p);
    ASSERT_EQ(s.size(), 7);
    EXPECT_EQ(s.documents(), 3);
    EXPECT_EQ(s.vocab_size(), vocab);
    std::vector<int32_t> want = {5, 6, 7, 2, 2, static_cast<int32_t>(vocab - 1), 2};
    for (int i = 0; i < 7; ++i) EXPECT_EQ(s[i], want[static_cast<size_t>(i)]);
  }
  TokenShardWriter w(10, -1);
  EXPECT_THROW(w.add_document({10}), Error);
  EXPECT_THROW(TokenShardWriter(10, 10), Error);
}

TEST(TokenShard, CorruptionAndTruncationAreNamed) {
  TokenShardWriter w(512, -1);
  w.add_document({1, 2, 3, 4, 5, 6, 7, 8});
  std::string p = tmp("corrupt.bin");
  w.write(p);
  std::string bytes = read_file(p);

  auto expect_error = [&](const std::string& data, const std::string& needle) {
    std::string q = tmp("bad.bin");
    write_file_atomic(q, data);
    try {
      TokenShard::open(q);
      FAIL() << "no error for " << needle;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("bad.bin"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  std::string flipped = bytes;
  flipped[70] ^= 1;
  expect_error(flipped, "checksum");
  expect_error(bytes.substr(0, bytes.size() - 2), "truncated");
  expect_error(bytes.substr(0, 20), "token count");
  expect_error("NOTASHARD" + std::string(80, '\0'), "magic");
}

TEST(BatchSampler, DeterministicWindowsAndExactRestore) {
  TokenShardWriter w(1000, -1);
  std::vector<int32_t> doc(500);
  for (int i = 0; i < 500; ++i) doc[static_cast<size_t>(i)] = i;
  w.add_document(doc);
  std::string p = tmp("sampler.bin");
  w.write(p);
  TokenShard s = TokenShard::open(p);
  BatchSampler a(s, 16, 4, 42), b(s, 16, 4, 42);
  std::vector<int32_t> x, y;
  for (int step = 0; step < 5; ++step) {
    a.next(x);
    b.next(y);
    ASSERT_EQ(x, y);
    for (int r = 0; r < 4; ++r)
      for (int t = 1; t < 17; ++t) ASSERT_EQ(x[static_cast<size_t>(r * 17 + t)], x[static_cast<size_t>(r * 17 + t - 1)] + 1);
  }
  BatchSampler c(s, 16, 4, 42);
  c.restore(a.state());
  a.next(x);
  c.next(y);
  EXPECT_EQ(x, y);
  BatchSampler d(s, 16, 4, 43);
  d.next(y);
  BatchSampler e(s, 16, 4, 42);
  e.next(x);
  EXPECT_NE(x, y);
  EXPECT_THROW(BatchSampler(s, 500, 1, 0), Error);
}

TEST(ValidationSplit, FractionAndSeedRespected) {
  int val = 0;
  for (uint64_t i = 0; i < 100000; ++i) val += is_validation_doc(i, 0.1, 7);
  EXPECT_NEAR(val / 100000.0, 0.1, 0.005);
  int differ = 0;
  for (uint64_t i = 0; i < 1000; ++i) differ += is_validation_doc(i, 0.5, 1) != is_validation_doc(i, 0.5, 2);
  EXPECT_GT(differ, 300);
}

}  // namespace
}  // namespace loom::train
