// The golden readers of tests/ (golden_json.h, golden_tensors.h): a golden of another format
// version, or without one, is an error naming the file; a current one reads.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "golden_json.h"
#include "golden_tensors.h"
#include "test_util.h"

namespace loom::test {
namespace {

std::string write_tmp(const std::string& name, const std::string& bytes) {
  const std::string p = ::testing::TempDir() + "/" + name;
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

std::string tensor_bin(uint32_t version, uint32_t count) {
  std::string b = "LOOMGOLD";
  b.append(reinterpret_cast<const char*>(&version), 4);
  b.append(reinterpret_cast<const char*>(&count), 4);
  const float x[2] = {1.5f, -2.0f};
  b.append(reinterpret_cast<const char*>(x), 8);
  return b;
}

TEST(GoldenJson, VersionIsChecked) {
  const std::string good = write_tmp("g_good.json", R"({"format_version": 1, "x": [1, 2]})");
  EXPECT_EQ(load_golden_json_file(good)["x"].size(), 2u);
  const std::string old = write_tmp("g_old.json", R"({"format_version": 0, "x": [1, 2]})");
  const std::string e = error_of([&] { load_golden_json_file(old); });
  EXPECT_NE(e.find("g_old.json"), std::string::npos) << e;
  EXPECT_NE(e.find("format_version 0"), std::string::npos) << e;
  const std::string none = write_tmp("g_none.json", R"([1, 2])");
  EXPECT_NE(error_of([&] { load_golden_json_file(none); }).find("g_none.json"), std::string::npos);
}

TEST(GoldenTensors, VersionAndHeaderAreChecked) {
  const std::string txt = write_tmp("t.txt", "format_version 1\nconfig d 4\nw 0 2 2\n");
  const std::string bin = write_tmp("t.bin", tensor_bin(1, 2));
  Golden g = load_golden_files(bin, txt);
  EXPECT_EQ(g.config.at("d"), "4");
  EXPECT_EQ(g.at("w")[1], -2.0f);
  const std::string bin2 = write_tmp("t2.bin", tensor_bin(2, 2));
  std::string e = error_of([&] { load_golden_files(bin2, txt); });
  EXPECT_NE(e.find("t2.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("format_version 2"), std::string::npos) << e;
  const std::string txt0 = write_tmp("t0.txt", "config d 4\nw 0 2 2\n");
  e = error_of([&] { load_golden_files(bin, txt0); });
  EXPECT_NE(e.find("t0.txt"), std::string::npos) << e;
  const std::string raw = write_tmp("raw.bin", std::string(8, '\0'));
  EXPECT_NE(error_of([&] { load_golden_files(raw, txt); }).find("raw.bin"), std::string::npos);
  const std::string short_bin = write_tmp("short.bin", tensor_bin(1, 3));
  EXPECT_NE(error_of([&] { load_golden_files(short_bin, txt); }).find("short.bin"), std::string::npos);
}

}  // namespace
}  // namespace loom::test
