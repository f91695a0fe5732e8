// Reads the tensor goldens of tests/reference (nn/train_golden.py, train/train_lora_golden.py,
// train/contrastive_model_golden.py; written by common/golden_io.py's TensorGolden):
// DIR/STEM.bin (float32 values) and DIR/STEM.txt (lines "name offset count", in floats, and
// "config key value"). Shared by the nn and train tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::test {

struct Golden {
  std::map<std::string, std::string> config;
  std::map<std::string, std::vector<float>> tensors;
  const std::vector<float>& at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error("golden: missing tensor " + name);
    return it->second;
  }
};

// dir: the folder under tests/reference ("nn", "train"). The .bin starts with "LOOMGOLD", the
// format version and the float count; the .txt with "format_version N". A golden of another
// version, or a header that does not match its data, is an error naming the file.
inline Golden load_golden_files(const std::string& bin_path, const std::string& txt_path) {
  Golden g;
  const std::string bin = read_file(bin_path);
  constexpr size_t kHeader = 16;
  uint32_t version = 0, count = 0;
  if (bin.size() < kHeader || bin.compare(0, 8, "LOOMGOLD") != 0)
    throw Error(bin_path + ": not a tensor golden (no LOOMGOLD header); regenerate it");
  std::memcpy(&version, bin.data() + 8, 4);
  std::memcpy(&count, bin.data() + 12, 4);
  if (version != static_cast<uint32_t>(kGoldenFormatVersion))
    throw Error(bin_path + ": golden format_version " + std::to_string(version) +
                ", the tests read " + std::to_string(kGoldenFormatVersion) + "; regenerate it");
  if (bin.size() != kHeader + size_t{count} * 4)
    throw Error(bin_path + ": header says " + std::to_string(count) + " floats, file holds " +
                std::to_string((bin.size() - kHeader) / 4));
  std::ifstream idx(txt_path);
  if (!idx.good()) throw Error("missing golden " + txt_path);
  std::string line;
  if (!std::getline(idx, line) ||
      line != "format_version " + std::to_string(kGoldenFormatVersion))
    throw Error(txt_path + ": first line '" + line + "', expected 'format_version " +
                std::to_string(kGoldenFormatVersion) + "'; regenerate it");
  while (std::getline(idx, line)) {
    std::istringstream ls(line);
    std::string name;
    ls >> name;
    if (name == "config") {
      std::string k, v;
      ls >> k >> v;
      g.config[k] = v;
      continue;
    }
    size_t off, n;
    ls >> off >> n;
    if ((off + n) > count) throw Error(txt_path + ": tensor " + name + " runs past the .bin");
    std::vector<float> v(n);
    std::memcpy(v.data(), bin.data() + kHeader + off * 4, n * 4);
    g.tensors[name] = std::move(v);
  }
  return g;
}

// max |a - b| / max |b| over a tensor: the relative error the golden comparisons bound.
inline double rel_err(const float* a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

inline Golden load_golden(const std::string& dir, const std::string& stem) {
  return load_golden_files(golden_path(dir + "/" + stem + ".bin"),
                           golden_path(dir + "/" + stem + ".txt"));
}

}  // namespace loom::test
