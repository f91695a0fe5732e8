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

// Windows depend on (seed, step, micro) only: the same arguments give the same batch in any
// order (so a resumed run needs no sampler state), targets are the inputs shifted by one.
TEST(BatchSampler, DeterministicShiftedWindowsIndependentOfOrder) {
  TokenShardWriter w(1000, -1);
  std::vector<int32_t> doc(500);
  for (int i = 0; i < 500; ++i) doc[static_cast<size_t>(i)] = i;
  w.add_document(doc);
  std::string p = tmp("sampler.bin");
  w.write(p);
  TokenShard s = TokenShard::open(p);
  std::vector<int32_t> tok(static_cast<size_t>(s.size()));
  s.read(0, s.size(), tok.data());
  const int64_t n = s.size();
  BatchSampler a(tok.data(), n, 4, 16, 42), b(tok.data(), n, 4, 16, 42);
  std::vector<int32_t> x(64), tx(64), y(64), ty(64);
  for (int step = 4; step >= 0; --step) {  // b draws the steps in the opposite order
    a.sample(step, 1, x.data(), tx.data());
    b.sample(step, 1, y.data(), ty.data());
    ASSERT_EQ(x, y);
    ASSERT_EQ(tx, ty);
    for (int r = 0; r < 4; ++r)
      for (int t = 0; t < 16; ++t) {
        ASSERT_EQ(tx[static_cast<size_t>(r * 16 + t)], x[static_cast<size_t>(r * 16 + t)] + 1);
        if (t > 0) {
          ASSERT_EQ(x[static_cast<size_t>(r * 16 + t)], x[static_cast<size_t>(r * 16 + t - 1)] + 1);
        }
      }
  }
  a.sample(3, 1, x.data(), tx.data());
  a.sample(4, 1, y.data(), ty.data());
  EXPECT_NE(x, y);  // another step
  a.sample(3, 0, y.data(), ty.data());
  EXPECT_NE(x, y);  // another micro-batch
  BatchSampler d(tok.data(), n, 4, 16, 43);
  d.sample(3, 1, y.data(), ty.data());
  EXPECT_NE(x, y);  // another seed
  EXPECT_THROW(BatchSampler(tok.data(), 16, 1, 16, 0), Error);
  EXPECT_THROW(BatchSampler(tok.data(), n, 0, 16, 0), Error);
}

TEST(ValidationSplit, FractionAndSeedRespected) {
  int val = 0;
  for (uint64_t i = 0; i < 100000; ++i) val += is_validation_doc(i, 0.1, 7);
  EXPECT_NEAR(val / 100000.0, 0.1, 0.005);
  int differ = 0;
  for (uint64_t i = 0; i < 1000; ++i)
    differ += is_validation_doc(i, 0.5, 1) != is_validation_doc(i, 0.5, 2);
  EXPECT_GT(differ, 300);
}

}  // namespace
}  // namespace loom::train
