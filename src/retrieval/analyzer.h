// The lexical analyzer BM25 uses: ASCII lowercase, split on anything that is not a letter or a
// digit (bytes >= 0x80 count as letters, so UTF-8 words stay whole), optional English stopwords
// (Lucene's 33-word EnglishAnalyzer list, removed before stemming), optional Porter stemming
// (porter.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loom::retrieval {

struct AnalyzerOptions {
  bool lowercase = true;
  bool stopwords = false;
  bool stem = false;
};

std::vector<std::string> analyze(std::string_view text, const AnalyzerOptions& options = {});
bool is_english_stopword(std::string_view word);

}  // namespace loom::retrieval
