// PCRE2 patterns (UTF, Unicode properties, JIT) for pre-tokenizer splits. The pattern text comes
// from the tokenizer file; it is written for Oniguruma (what Hugging Face uses), so a few
// constructs are translated to keep the same meaning (see translate_pattern in regex.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/normalized.h"

namespace loom::text {

// Per-thread match storage; one serves every Regex.
class MatchScratch {
 public:
  MatchScratch();
  ~MatchScratch();
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;
  void* data() { return md_; }
  void* context() { return ctx_; }

 private:
  void* md_;
  void* ctx_;    // match context carrying the JIT stack
  void* stack_;  // grows to 16 MiB so long runs of whitespace cannot exhaust it
};

class Regex {
 public:
  // Throws loom::Error naming `where` when the pattern does not compile.
  Regex(std::string pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }
  // Appends every non-overlapping match in s[begin, end) (absolute offsets into s), leftmost
  // first. After an empty match the search moves on by one char. Invalid UTF-8 never matches.
  void find_all(std::string_view s, uint32_t begin, uint32_t end, MatchScratch& ms,
                std::vector<Offset>& out) const;

 private:
  std::string pattern_;
  void* code_ = nullptr;
};

// Quotes a literal string for use inside a pattern.
std::string regex_escape(std::string_view literal);

}  // namespace loom::text
