// llama2.c .bin reader: layout of stories260K, truncations and bad headers named.
#include <gtest/gtest.h>

#include <cstring>

#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "io_test_util.h"
#include "test_util.h"

namespace loom::io {
namespace {

TEST(Llama2c, HeaderAndLayout) {
  TensorMap b = read_llama2c(stories("stories260K.bin"));
  EXPECT_EQ(b.meta_int("llama.feed_forward_length"), 172);
  EXPECT_EQ(b.meta_int("llama.context_length"), 512);
  EXPECT_FALSE(b.has("output.weight"));  // tied
  EXPECT_EQ(b.get("blk.3.attn_k.weight").shape(), Shape({32, 64}));
  EXPECT_EQ(b.get("blk.3.ffn_down.weight").shape(), Shape({64, 172}));
}

TEST(Llama2c, TruncatedAndBadHeaders) {
  std::string bytes = read_file(stories("stories260K.bin"));
  for (size_t cut :
       {size_t{0}, size_t{10}, size_t{28}, size_t{5000}, size_t{300000}, size_t{1000000}}) {
    std::string p = temp_file("trunc.bin", bytes.substr(0, cut));
    std::string msg = error_of([&] { read_llama2c(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << "cut " << cut << ": " << msg;
  }
  std::string bad = bytes;
  int32_t heads = 7;  // 64 % 7 != 0
  std::memcpy(&bad[12], &heads, 4);
  std::string msg = error_of([&] { read_llama2c(temp_file("bad.bin", bad)); });
  EXPECT_NE(msg.find("n_heads"), std::string::npos) << msg;
  bad = bytes;
  int32_t neg = -5;
  std::memcpy(&bad[0], &neg, 4);
  msg = error_of([&] { read_llama2c(temp_file("bad.bin", bad)); });
  EXPECT_NE(msg.find("dim"), std::string::npos) << msg;
  // Untied classifier (negative vocab) needs the extra tables and wcls: this file lacks them.
  bad = bytes;
  int32_t untied = -512;
  std::memcpy(&bad[20], &untied, 4);
  msg = error_of([&] { read_llama2c(temp_file("bad.bin", bad)); });
  EXPECT_NE(msg.find("output.weight"), std::string::npos) << msg;
}

}  // namespace
}  // namespace loom::io
