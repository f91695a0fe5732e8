// SentencePiece normalisation: the precompiled charsmap (a Darts-clone double-array trie over
// input byte strings whose values point into a blob of NUL-terminated replacement strings; the
// longest rule matching at each position wins) plus the whitespace rules (add_dummy_prefix,
// remove_extra_whitespaces, escape_whitespaces with U+2581), keeping for every normalised byte
// the offset of the input byte it came from. Mirrors sentencepiece's normalizer.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/sentencepiece_model.h"

namespace loom::text {

// Read-only view over a precompiled charsmap blob (u32 trie byte size, trie units, strings).
class SpCharsMap {
 public:
  SpCharsMap() = default;
  // Validates the framing; throws loom::Error naming `name` and the offending offset.
  SpCharsMap(std::string blob, const std::string& name);
  bool empty() const { return units_.empty(); }

  // Longest rule that is a prefix of `input` (at most the first 32 trie hits are considered, as
  // sentencepiece does). Returns the matched input length (0 = none) and the replacement.
  size_t longest_match(std::string_view input, std::string_view* replacement) const;
  // The shortest rule that is a prefix of `input` (Hugging Face's Precompiled takes the first
  // hit of the trie's common-prefix search). Returns its length (0 = none) and the replacement.
  size_t shortest_match(std::string_view input, std::string_view* replacement) const;

 private:
  std::vector<uint32_t> units_;
  std::string strings_;
};

// Longest user-defined symbol that is a prefix of the input (these pass through unnormalised and
// are never split by the BPE model).
class SpPrefixMatcher {
 public:
  SpPrefixMatcher() = default;
  explicit SpPrefixMatcher(const std::vector<std::string>& symbols);
  bool empty() const { return symbols_.empty(); }
  // Length of the longest symbol prefixing `s`, or 0.
  size_t match(std::string_view s) const;

 private:
  std::vector<std::string> symbols_;  // sorted
  uint8_t first_byte_[256] = {};
  size_t max_len_ = 0;
};

// Byte length of one UTF-8 character as sentencepiece decodes it; invalid sequences (bad lead or
// trail bytes, overlongs, surrogates, > U+10FFFF, truncation) report valid = false and length 1.
size_t sp_utf8_char_len(std::string_view s, bool* valid);

class SpNormalizer {
 public:
  SpNormalizer() = default;
  SpNormalizer(const SpNormalizerSpec& spec, bool treat_whitespace_as_suffix,
               const std::vector<std::string>& user_defined_symbols, const std::string& name);

  // normalized gets the normalised bytes; norm_to_orig (size normalized.size() + 1) maps each
  // normalised byte, and the end, to an input byte offset.
  void normalize(std::string_view input, std::string* normalized,
                 std::vector<uint32_t>* norm_to_orig) const;

  const SpNormalizerSpec& spec() const { return spec_; }

 private:
  // Normalises the next unit of input: returns the replacement and sets *consumed.
  std::string_view normalize_prefix(std::string_view input, size_t* consumed) const;

  SpNormalizerSpec spec_;
  bool treat_whitespace_as_suffix_ = false;
  SpCharsMap charsmap_;
  SpPrefixMatcher user_defined_;
};

}  // namespace loom::text
