// Shared by the document-store tests: a fresh temporary folder per test and a letter-count text
// encoder (text -> how often each of a..z occurs), deterministic and cheap.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "retrieval/retriever.h"

namespace loom::retrieval::test {

inline std::string fresh_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("loom_store_" + tag + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

class LetterEncoder : public TextEncoder {
 public:
  int64_t dim() const override { return 26; }
  std::vector<float> encode(std::span<const std::string> texts, TextRole,
                            ThreadPool&) const override {
    std::vector<float> out(texts.size() * 26, 0.0f);
    for (size_t i = 0; i < texts.size(); ++i) {
      out[i * 26] = 0.01f;  // no all-zero rows: cosine needs a norm
      for (char c : texts[i])
        if (std::isalpha(static_cast<unsigned char>(c)))
          out[i * 26 + static_cast<size_t>(std::tolower(c) - 'a')] += 1;
    }
    return out;
  }
};

// A store file in a fresh folder named after the running test, the letter encoder, one thread.
struct TempStore {
  std::string dir = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string db = dir + "/store.db";
  LetterEncoder enc;
  ThreadPool pool{1};
};

}  // namespace loom::retrieval::test
