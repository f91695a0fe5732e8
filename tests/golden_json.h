// The JSON goldens of tests/reference: parsed, with their format version checked, so a golden
// written for another layout is a failure naming the file rather than a confusing mismatch.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/mapped_file.h"
#include "test_util.h"

namespace loom::test {

// The layout version every golden of tests/reference carries (JSON: a top-level
// "format_version"; tensor goldens: the .bin header and the .txt's first line). Written by
// tests/reference/common/golden_io.py; raise both together.
inline constexpr int kGoldenFormatVersion = 1;

inline nlohmann::json load_golden_json_file(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(read_file(path));
  if (!j.is_object() || !j.contains("format_version") || !j["format_version"].is_number_integer())
    throw Error(path + ": golden has no integer \"format_version\" (expected " +
                std::to_string(kGoldenFormatVersion) + "); regenerate it with its script");
  const int v = j["format_version"].get<int>();
  if (v != kGoldenFormatVersion)
    throw Error(path + ": golden format_version " + std::to_string(v) + ", the tests read " +
                std::to_string(kGoldenFormatVersion) + "; regenerate it with its script");
  return j;
}

// rel: the path under tests/reference, e.g. "models/infer_models/logits.json".
inline nlohmann::json load_golden_json(const std::string& rel) {
  return load_golden_json_file(golden_path(rel));
}

}  // namespace loom::test
