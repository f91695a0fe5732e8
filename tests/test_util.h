// Helpers shared by the tests: where the real data lives (LOOM_DATA, default ../shared/data).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>

#include "core/error.h"

namespace loom::test {

// The checkout's root (tests/source_dir.cpp).
const char* source_dir();

inline std::string data_dir() {
  const char* env = std::getenv("LOOM_DATA");
  if (env != nullptr && *env != '\0') return env;
  return std::string(source_dir()) + "/../shared/data";
}

// Absolute path of a file under the data folder.
inline std::string data_path(const std::string& rel) { return data_dir() + "/" + rel; }

inline bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// Committed golden files next to the reference scripts.
inline std::string golden_path(const std::string& rel) {
  return std::string(source_dir()) + "/tests/reference/" + rel;
}

// The message of the loom::Error that fn() throws, or "" when it throws none.
template <typename F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The ASan+UBSan build (clang, `make test`'s second pass): 5-10x slower, and clang's float32
// code rounds differently from the Release build's g++.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

}  // namespace loom::test

// Data is part of every checkout's ../shared: a missing file is a failure, not a skip.
#define LOOM_REQUIRE_DATA(path) \
  ASSERT_TRUE(::loom::test::file_exists(path)) << "missing data file " << (path) << " (set LOOM_DATA)"
