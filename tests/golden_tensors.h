// Reads the tensor goldens of tests/reference (nn/train_golden.py, train/train_lora_golden.py,
// train/contrastive_model_golden.py; written by common/golden_io.py's TensorGolden):
// DIR/STEM.bin (float32 values) and DIR/STEM.txt (lines "name offset count", in floats, and
// "config key value"). Shared by the nn and train tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
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

// dir: the folder under tests/reference ("nn", "train").
inline Golden load_golden(const std::string& dir, const std::string& stem) {
  Golden g;
  const std::string bin = read_file(golden_path(dir + "/" + stem + ".bin"));
  std::ifstream idx(golden_path(dir + "/" + stem + ".txt"));
  EXPECT_TRUE(idx.good()) << "missing golden " << stem;
  std::string line;
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
    EXPECT_LE((off + n) * 4, bin.size()) << name;
    std::vector<float> v(n);
    std::memcpy(v.data(), bin.data() + off * 4, n * 4);
    g.tensors[name] = std::move(v);
  }
  return g;
}

}  // namespace loom::test
