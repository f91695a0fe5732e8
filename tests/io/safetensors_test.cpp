// safetensors reader and writer: round trip with config.json, bad headers named.
#include <gtest/gtest.h>

#include <cstring>

#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "io_test_util.h"
#include "test_util.h"

namespace loom::io {
namespace {

TEST(Safetensors, RoundTripAndConfig) {
  TensorMap m = read_safetensors(test::golden_path("models/infer_models/llama_hf/model.safetensors"));
  EXPECT_EQ(m.meta_int("config.num_key_value_heads"), 2);
  EXPECT_NE(error_of([&] { m.meta_string("config.architectures"); }).find("not a string"),
            std::string::npos);
  ASSERT_NE(m.find_meta("config.architectures"), nullptr);
  EXPECT_EQ(m.find_meta("config.architectures")->array[0].s, "LlamaForCausalLM");
  std::string p = ::testing::TempDir() + "/rt.safetensors";
  write_safetensors(p, m, {{"format", "pt"}});
  TensorMap r = read_safetensors(p);
  EXPECT_EQ(r.meta_string("safetensors.format"), "pt");
  ASSERT_EQ(r.names().size(), m.names().size());
  for (const auto& name : m.names()) {
    ASSERT_EQ(r.get(name).shape(), m.get(name).shape());
    EXPECT_EQ(std::memcmp(r.get(name).data(), m.get(name).data(), m.get(name).nbytes()), 0);
  }
  // Data 8-byte aligned after the padded header.
  std::string bytes = read_file(p);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, BadHeaders) {
  auto make = [](const std::string& header, size_t data) {
    std::string b;
    uint64_t n = header.size();
    b.append(reinterpret_cast<const char*>(&n), 8);
    b += header;
    b.append(data, '\0');
    return b;
  };
  struct Case {
    std::string header;
    const char* want;
  };
  std::vector<Case> cases = {
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]", "JSON"},
      {"[1, 2]", "object"},
      {"{\"a\": {\"dtype\": \"Q9\", \"shape\": [2], \"data_offsets\": [0, 8]}}", "dtype"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 12]}}", "16 bytes"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", "data block"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "shape"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1], \"data_offsets\": [0, 4]}}", "shape"},
      {"{\"a\": {\"dtype\": \"F32\"}}", "data_offsets"},
  };
  for (const auto& c : cases) {
    std::string p = temp_file("bad.safetensors", make(c.header, 16));
    std::string msg = error_of([&] { read_safetensors(p); });
    EXPECT_NE(msg.find(c.want), std::string::npos) << c.header << " -> " << msg;
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
  std::string huge;
  uint64_t n = 1ull << 40;
  huge.append(reinterpret_cast<const char*>(&n), 8);
  std::string msg = error_of([&] { read_safetensors(temp_file("huge.safetensors", huge)); });
  EXPECT_NE(msg.find("header"), std::string::npos) << msg;
}

}  // namespace
}  // namespace loom::io
