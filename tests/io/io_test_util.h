// Shared by the io tests: the stories260K files, temporary files, and the loom::Error message of a
// call.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "test_util.h"

namespace loom::io {
namespace {

inline std::string stories(const char* f) {
  return test::data_path(std::string("models/stories260K/") + f);
}

inline std::string temp_file(const std::string& name, const std::string& bytes) {
  std::string p = ::testing::TempDir() + "/" + name;
  std::ofstream(p, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

// Runs fn and returns the loom::Error message ("" if none was thrown).
template <typename F>
inline std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace
}  // namespace loom::io
